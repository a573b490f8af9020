"""Reads: `get` (what writers read) and `read` (for display: without what only writers read,
and without the optional lists a query does not show)."""

from __future__ import annotations

import pytest

from models.errors import PaymentNotFound
from services.payments.queries import OPTIONAL_FIELDS
from tests.support.payments import CUSTOMER, OTHER, initiate, stored


class TestRead:
    async def test_answers_what_get_answers_without_the_writers_fields(self, core, sandboxes):
        initiated = await initiate(core, notes="gift wrap")
        payment_id = str(initiated.payment.id)
        full = await core.payments.get(CUSTOMER, payment_id)
        shown = await core.payments.read(CUSTOMER, payment_id)
        assert full.notes and full.metadata.ip == "203.0.113.7"
        assert (shown.notes, shown.metadata.ip) == ({}, None)
        kept = {"notes", "metadata", "method_details", "gateway_attempts", "outbox"}
        assert shown.model_dump(exclude=kept) == full.model_dump(exclude=kept)

    async def test_leaves_out_the_lists_it_is_told_to(self, core, sandboxes):
        initiated = await initiate(core)
        payment_id = str(initiated.payment.id)
        shown = await core.payments.read(CUSTOMER, payment_id, without=OPTIONAL_FIELDS)
        assert (shown.timeline, shown.late_payments, shown.checkout) == ([], [], None)
        assert (await stored(initiated.payment.id)).timeline  # the database still has them
        assert shown.status == initiated.payment.status

    async def test_another_customers_payment_is_not_found(self, core, sandboxes):
        initiated = await initiate(core)
        with pytest.raises(PaymentNotFound):
            await core.payments.read(OTHER, str(initiated.payment.id))

    @pytest.mark.parametrize("payment_id", ["5f0c3b2a9d1e4f6a7b8c9d0e", "nope"])
    async def test_a_missing_or_malformed_id_is_not_found(self, core, sandboxes, payment_id):
        with pytest.raises(PaymentNotFound):
            await core.payments.read(CUSTOMER, payment_id)

    async def test_only_the_optional_lists_may_be_left_out(self, core, sandboxes):
        initiated = await initiate(core)
        with pytest.raises(ValueError, match="may be left out"):
            await core.payments.read(
                CUSTOMER, str(initiated.payment.id), without=frozenset({"amount"})
            )
