"""Reads: `get` (what writers read) and `read` (for display: only the fields asked for, never
what only writers read)."""

from __future__ import annotations

import pytest

from models.errors import PaymentNotFound
from models.payment import Payment
from services.payments.queries import DISPLAY_FIELDS, display_keys
from tests.support.payments import CUSTOMER, OTHER, initiate

WRITERS_ONLY = {"notes", "metadata", "method_details", "gateway_attempts", "outbox"}


class TestRead:
    async def test_answers_what_get_answers_without_the_writers_fields(self, core, sandboxes):
        initiated = await initiate(core, notes="gift wrap")
        payment_id = str(initiated.payment.id)
        full = await core.payments.get(CUSTOMER, payment_id)
        shown = await core.payments.read(CUSTOMER, payment_id)
        assert full.notes and full.metadata.ip == "203.0.113.7"
        assert full.gateway_attempts and full.receipt
        assert (shown.notes, shown.metadata.ip, shown.gateway_attempts) == ({}, None, [])
        assert shown.receipt is None
        unread = set(Payment.model_fields) - DISPLAY_FIELDS - {"id"}
        assert shown.model_dump(exclude=unread) == full.model_dump(exclude=unread)

    async def test_reads_the_fields_asked_for_and_defaults_the_rest(self, core, sandboxes):
        initiated = await initiate(core)
        payment_id = str(initiated.payment.id)
        full = await core.payments.get(CUSTOMER, payment_id)
        shown = await core.payments.read(CUSTOMER, payment_id, fields=frozenset({"status"}))
        assert (shown.id, shown.status, shown.order_id) == (full.id, full.status, full.order_id)
        assert full.timeline and full.checkout is not None and full.version > 0
        assert (shown.timeline, shown.checkout, shown.version) == ([], None, 0)

    async def test_a_refunded_amount_is_read_with_its_commitment(self, core, sandboxes):
        initiated = await initiate(core)
        payment_id = str(initiated.payment.id)
        await (
            type(initiated.payment)
            .get_pymongo_collection()
            .update_one(
                {"_id": initiated.payment.id},
                {"$set": {"refunded_minor": 100, "refund_committed_minor": 300}},
            )
        )
        shown = await core.payments.read(CUSTOMER, payment_id, fields=frozenset({"refunded_minor"}))
        assert shown.refunded_amount.amount_minor == 100

    async def test_another_customers_payment_is_not_found(self, core, sandboxes):
        initiated = await initiate(core)
        with pytest.raises(PaymentNotFound):
            await core.payments.read(OTHER, str(initiated.payment.id))

    @pytest.mark.parametrize("payment_id", ["5f0c3b2a9d1e4f6a7b8c9d0e", "nope"])
    async def test_a_missing_or_malformed_id_is_not_found(self, core, sandboxes, payment_id):
        with pytest.raises(PaymentNotFound):
            await core.payments.read(CUSTOMER, payment_id)

    @pytest.mark.parametrize("field", sorted(WRITERS_ONLY | {"no_such_field"}))
    async def test_only_display_fields_may_be_asked_for(self, core, sandboxes, field):
        initiated = await initiate(core)
        with pytest.raises(ValueError, match="not display fields"):
            await core.payments.read(CUSTOMER, str(initiated.payment.id), fields=frozenset({field}))


class TestDisplayKeys:
    def test_are_the_fields_and_what_the_model_needs(self):
        keys = display_keys(frozenset({"status"}))
        assert {"_id", "status", "customer_id", "order_id", "amount", "expires_at"} <= keys
        assert not WRITERS_ONLY & keys
        assert "timeline" not in keys

    def test_every_display_field_when_none_is_named(self):
        assert display_keys(None) == DISPLAY_FIELDS | {"_id"}
