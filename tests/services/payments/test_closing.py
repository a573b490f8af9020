"""Closing an unpaid payment: the customer's cancel, the expiry job and reconciliation's expire.
Payments are made through the service against the Razorpay sandbox over HTTP."""

from __future__ import annotations

from datetime import timedelta

import pytest

from models.clock import utcnow
from models.enums import PaymentStatus, TransitionSource
from models.errors import InvalidState, PaymentNotFound
from models.payment import Payment
from services.payments import VerifyCommand
from tests.support.checkout import FAILING_CARD
from tests.support.payments import CUSTOMER, OTHER, initiate, stored

S = PaymentStatus


async def completed(core, sandboxes) -> Payment:
    initiated = await initiate(core)
    answer = await sandboxes.pay(initiated.checkout.gateway_order_id)
    return await core.payments.verify(
        CUSTOMER,
        VerifyCommand(
            str(initiated.payment.id),
            answer["razorpay_payment_id"],
            answer["razorpay_signature"],
        ),
    )


async def failed(core, sandboxes) -> Payment:
    initiated = await initiate(core)
    answer = await sandboxes.pay(initiated.checkout.gateway_order_id, card_number=FAILING_CARD)
    return await core.payments.verify(
        CUSTOMER,
        VerifyCommand(str(initiated.payment.id), answer["error"]["metadata"]["payment_id"]),
    )


class TestCancel:
    async def test_an_initiated_payment_is_cancelled_once(self, core, sandboxes):
        initiated = await initiate(core)
        pid = str(initiated.payment.id)
        cancelled = await core.payments.cancel(CUSTOMER, pid)
        again = await core.payments.cancel(CUSTOMER, pid)
        assert (cancelled.status, again.version) == (S.CANCELLED, cancelled.version)
        entry = (await stored(pid)).timeline[-1]
        assert (entry.to_status, entry.source, entry.actor, entry.note) == (
            S.CANCELLED,
            TransitionSource.API,
            CUSTOMER.customer_id,
            "cancelled by the customer",
        )

    async def test_a_completed_payment_is_not_cancelled(self, core, sandboxes):
        done = await completed(core, sandboxes)
        with pytest.raises(InvalidState, match="this one is COMPLETED"):
            await core.payments.cancel(CUSTOMER, str(done.id))
        assert (await stored(done.id)).version == done.version

    async def test_a_failed_payment_is_not_cancelled_by_the_customer(self, core, sandboxes):
        payment = await failed(core, sandboxes)
        assert payment.status is S.FAILED
        with pytest.raises(InvalidState, match="this one is FAILED"):
            await core.payments.cancel(CUSTOMER, str(payment.id))

    async def test_another_customers_payment_is_not_found(self, core, sandboxes):
        initiated = await initiate(core)
        with pytest.raises(PaymentNotFound):
            await core.payments.cancel(OTHER, str(initiated.payment.id))
        assert (await stored(initiated.payment.id)).status is S.INITIATED


class TestExpireStale:
    async def test_unpaid_payments_past_their_expiry_are_expired(self, core, sandboxes):
        initiated = (await initiate(core)).payment
        unpaid_failure = await failed(core, sandboxes)
        done = await completed(core, sandboxes)
        later = utcnow() + timedelta(minutes=61)
        assert await core.payments.expire_stale(now=later) == 2
        for pid in (initiated.id, unpaid_failure.id):
            payment = await stored(pid)
            entry = payment.timeline[-1]
            assert (payment.status, entry.source, entry.actor, entry.note) == (
                S.EXPIRED,
                TransitionSource.EXPIRY,
                "expiry",
                "unpaid after 60 minutes",
            )
        assert (await stored(done.id)).status is S.COMPLETED
        assert await core.payments.expire_stale(now=later) == 0

    async def test_nothing_before_the_expiry_time(self, core, sandboxes):
        initiated = await initiate(core)
        assert await core.payments.expire_stale(now=utcnow() + timedelta(minutes=59)) == 0
        assert (await stored(initiated.payment.id)).status is S.INITIATED

    async def test_a_run_takes_at_most_limit(self, core, sandboxes):
        for _ in range(3):
            await initiate(core)
        later = utcnow() + timedelta(minutes=61)
        assert await core.payments.expire_stale(now=later, limit=2) == 2
        assert await core.payments.expire_stale(now=later, limit=2) == 1


class TestExpire:
    async def test_reconciliation_expires_with_its_own_note(self, core, sandboxes):
        initiated = await initiate(core)
        expired = await core.payments.expire(
            initiated.payment,
            TransitionSource.RECONCILIATION,
            actor="reconciliation",
            note="reconciliation: nothing was paid",
        )
        again = await core.payments.expire(expired, TransitionSource.RECONCILIATION, note="again")
        assert (expired.status, again.version) == (S.EXPIRED, expired.version)
        entry = expired.timeline[-1]
        assert (entry.source, entry.actor, entry.note) == (
            TransitionSource.RECONCILIATION,
            "reconciliation",
            "reconciliation: nothing was paid",
        )

    async def test_paid_money_is_never_expired(self, core, sandboxes):
        done = await completed(core, sandboxes)
        with pytest.raises(InvalidState):
            await core.payments.expire(done, TransitionSource.RECONCILIATION, note="late")
        assert (await stored(done.id)).status is S.COMPLETED

    async def test_closing_asks_the_gateway_first(self, core, sandboxes):
        # Paid at the gateway, but the webhook and the verify were lost: expiring it applies
        # what the gateway holds instead (COMPLETED), nothing is closed over money.
        initiated = await initiate(core)
        await sandboxes.pay(initiated.checkout.gateway_order_id)
        result = await core.payments.expire(
            initiated.payment, TransitionSource.EXPIRY, note="unpaid after 60 minutes"
        )
        assert result.status is S.COMPLETED
        assert (await stored(initiated.payment.id)).status is S.COMPLETED
