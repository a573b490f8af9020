"""Late money: the gateway takes or holds money for a payment we had already closed. Never
captured by us; a capture is refunded in full (LATE_PAYMENT_POLICY=refund) or accepted
(=accept); an authorization is left to lapse. Against the Razorpay sandbox over HTTP; each test
hands the service what the gateway says (webhooks are dropped by the fixture)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from core import build_core
from gateways.base import Gateway, GatewayPayment, GatewayPaymentStatus
from models.enums import (
    LatePaymentAction,
    LatePaymentKind,
    LatePaymentPolicy,
    PaymentStatus,
    ReconciliationTrigger,
    RefundReason,
    RefundSource,
    RefundStatus,
    TransitionSource,
)
from models.errors import InvalidState
from models.reconciliation import FindingKind
from models.refund import Refund
from models.transitions import PaymentEvent
from services.payments import VerifyCommand
from tests.support.checkout import FAILING_CARD
from tests.support.payments import CUSTOMER, initiate, stored
from tests.support.reconciliation import age

S = PaymentStatus
WEBHOOK = TransitionSource.WEBHOOK


@pytest.fixture
async def accepting(settings, app_server, mongo_db, redis) -> AsyncIterator[Any]:
    """The services as a worker builds them under LATE_PAYMENT_POLICY=accept."""
    built = build_core(
        settings.model_copy(update={"late_payment_policy": LatePaymentPolicy.ACCEPT}),
        serve_sandboxes=False,
    )
    try:
        yield built
    finally:
        await built.aclose()


async def gateway_payment(core: Any, gateway_payment_id: str) -> GatewayPayment:
    adapter = core.gateways.registry.get(Gateway.RAZORPAY)
    found: GatewayPayment = await adapter.fetch_payment(gateway_payment_id)
    return found


async def cancelled_then_paid(core, sandboxes, **pay: Any) -> tuple[Any, dict[str, Any]]:
    """The customer cancels; the checkout they left open completes anyway."""
    initiated = await initiate(core)
    await core.payments.cancel(CUSTOMER, str(initiated.payment.id))
    answer = await sandboxes.pay(initiated.checkout.gateway_order_id, **pay)
    return initiated, answer


class TestLateCaptureRefunded:
    async def test_recorded_refunded_in_full_and_the_status_follows_the_money(
        self, core, sandboxes
    ):
        initiated, answer = await cancelled_then_paid(core, sandboxes)  # auto-captured
        gpid = answer["razorpay_payment_id"]
        found = await gateway_payment(core, gpid)
        assert found.status is GatewayPaymentStatus.CAPTURED

        payment = await core.payments.apply_gateway_payment(
            await stored(initiated.payment.id), found, WEBHOOK, gateway_event_id="evt_late_1"
        )

        # Never captured by us, never COMPLETED: CANCELLED with the money recorded.
        assert payment.status is S.CANCELLED
        assert (payment.captured_minor, payment.refunded_minor) == (49900, 0)
        [late] = payment.late_payments
        assert (late.gateway_payment_id, late.kind, late.action) == (
            gpid,
            LatePaymentKind.CAPTURE,
            LatePaymentAction.REFUNDED,
        )
        entry = payment.timeline[-1]
        assert (entry.event, entry.to_status, entry.gateway_payment_id) == (
            PaymentEvent.LATE_PAYMENT,
            S.CANCELLED,
            gpid,
        )
        assert "499.00 INR captured late" in (entry.note or "")
        refund = await Refund.get(late.refund_id)
        assert refund is not None
        assert (refund.source, refund.reason, refund.status) == (
            RefundSource.LATE_PAYMENT,
            RefundReason.LATE_PAYMENT,
            RefundStatus.PENDING,
        )
        assert (refund.gateway_payment_id, refund.amount.amount_minor) == (gpid, 49900)

        sent = await core.refunds.send(str(refund.id))  # the worker's job
        assert sent.status is RefundStatus.COMPLETED
        done = await stored(initiated.payment.id)
        assert done.status is S.REFUNDED
        assert (done.captured_minor, done.refunded_minor, done.net_minor) == (49900, 49900, 0)
        at_gateway = await gateway_payment(core, gpid)
        assert at_gateway.amount_minor - at_gateway.amount_refunded_minor == done.net_minor

    async def test_the_same_late_payment_twice_is_recorded_and_refunded_once(self, core, sandboxes):
        initiated, answer = await cancelled_then_paid(core, sandboxes)
        found = await gateway_payment(core, answer["razorpay_payment_id"])
        for event_id in ("evt_a", "evt_b", "evt_a"):  # a duplicate and a redelivery
            await core.payments.apply_gateway_payment(
                await stored(initiated.payment.id), found, WEBHOOK, gateway_event_id=event_id
            )
        payment = await stored(initiated.payment.id)
        assert len(payment.late_payments) == 1
        assert payment.captured_minor == 49900
        assert await Refund.find({"payment_id": payment.id}).count() == 1

    async def test_verify_after_the_cancel_asks_the_gateway_then_refuses(self, core, sandboxes):
        initiated, answer = await cancelled_then_paid(core, sandboxes)
        with pytest.raises(InvalidState, match="never captured"):
            await core.payments.verify(
                CUSTOMER,
                VerifyCommand(
                    str(initiated.payment.id),
                    answer["razorpay_payment_id"],
                    answer["razorpay_signature"],
                ),
            )
        payment = await stored(initiated.payment.id)
        assert payment.status is S.CANCELLED
        assert [late.action for late in payment.late_payments] == [LatePaymentAction.REFUNDED]


class TestLateCaptureAccepted:
    async def test_the_payment_becomes_completed(self, accepting, sandboxes):
        initiated, answer = await cancelled_then_paid(accepting, sandboxes)
        found = await gateway_payment(accepting, answer["razorpay_payment_id"])
        payment = await accepting.payments.apply_gateway_payment(
            await stored(initiated.payment.id), found, WEBHOOK
        )
        assert payment.status is S.COMPLETED
        assert payment.gateway_payment_id == found.id
        assert payment.captured_minor == 49900
        [late] = payment.late_payments
        assert (late.action, late.refund_id) == (LatePaymentAction.ACCEPTED, None)
        assert payment.timeline[-1].event is PaymentEvent.LATE_PAYMENT_ACCEPTED
        assert await Refund.find({"payment_id": payment.id}).count() == 0

    async def test_verify_then_answers_the_completed_payment(self, accepting, sandboxes):
        initiated, answer = await cancelled_then_paid(accepting, sandboxes)
        verified = await accepting.payments.verify(
            CUSTOMER,
            VerifyCommand(
                str(initiated.payment.id),
                answer["razorpay_payment_id"],
                answer["razorpay_signature"],
            ),
        )
        assert verified.status is S.COMPLETED


class TestLateAuthorization:
    async def test_an_authorization_after_expiry_is_never_captured(self, core, sandboxes):
        await sandboxes.razorpay(action="configure", auto_capture=False)
        initiated = await initiate(core)
        expired = await core.payments.expire(
            initiated.payment, TransitionSource.EXPIRY, note="unpaid after 60 minutes"
        )
        assert expired.status is S.EXPIRED
        answer = await sandboxes.pay(initiated.checkout.gateway_order_id)  # UPI approved late
        found = await gateway_payment(core, answer["razorpay_payment_id"])
        assert found.status is GatewayPaymentStatus.AUTHORIZED

        payment = await core.payments.apply_gateway_payment(
            await stored(initiated.payment.id), found, WEBHOOK, capture=True
        )

        assert payment.status is S.EXPIRED
        assert payment.captured_minor == 0
        [late] = payment.late_payments
        assert (late.kind, late.action) == (
            LatePaymentKind.AUTHORIZATION,
            LatePaymentAction.LEFT_TO_LAPSE,
        )
        assert payment.timeline[-1].event is PaymentEvent.LATE_AUTHORIZATION
        # Nothing was captured at the gateway, and no refund exists.
        assert (await gateway_payment(core, found.id)).status is GatewayPaymentStatus.AUTHORIZED
        assert await Refund.find({"payment_id": payment.id}).count() == 0


class TestFailedForGood:
    async def test_late_capture_after_the_last_attempt_is_late_money(self, core, sandboxes):
        initiated = await initiate(core)
        payment = initiated.payment
        for n in range(3):  # PAYMENT_MAX_ATTEMPTS declines
            payment = await core.payments.apply_gateway_payment(
                await stored(payment.id),
                GatewayPayment(
                    gateway=Gateway.RAZORPAY,
                    id=f"pay_Declined{n}",
                    order_id=initiated.checkout.gateway_order_id,
                    amount_minor=49900,
                    currency="INR",
                    status=GatewayPaymentStatus.FAILED,
                ),
                WEBHOOK,
            )
        assert (payment.status, payment.attempt_count) == (S.FAILED, 3)
        answer = await sandboxes.pay(initiated.checkout.gateway_order_id)
        found = await gateway_payment(core, answer["razorpay_payment_id"])
        after = await core.payments.apply_gateway_payment(await stored(payment.id), found, WEBHOOK)
        assert after.status is S.FAILED
        assert [late.action for late in after.late_payments] == [LatePaymentAction.REFUNDED]


class TestAuthorizationVoided:
    async def test_an_authorization_released_before_capture_ends_failed(self, core, sandboxes):
        await sandboxes.razorpay(action="configure", auto_capture=False)
        initiated = await initiate(core)
        answer = await sandboxes.pay(initiated.checkout.gateway_order_id)
        found = await gateway_payment(core, answer["razorpay_payment_id"])
        held = await core.payments.apply_gateway_payment(initiated.payment, found, WEBHOOK)
        assert held.status is S.AUTHORIZED
        # Razorpay refunds an authorization nobody captured: `refunded`, `captured: false`.
        voided = GatewayPayment(
            gateway=Gateway.RAZORPAY,
            id=found.id,
            order_id=found.order_id,
            amount_minor=found.amount_minor,
            currency=found.currency,
            status=GatewayPaymentStatus.VOIDED,
        )
        after = await core.payments.apply_gateway_payment(held, voided, WEBHOOK)
        assert after.status is S.FAILED
        assert after.error_code == "AUTHORIZATION_LAPSED"
        assert after.timeline[-1].event is PaymentEvent.AUTHORIZATION_VOIDED
        assert after.captured_minor == 0


async def late_refunded_with_a_second_attempt(
    core, sandboxes, *, decline_seen: bool
) -> tuple[Any, GatewayPayment]:
    """A cancelled payment whose late capture was refunded (it reads REFUNDED), and the first
    attempt on its order, which failed at the bank and is now captured late as well.
    `decline_seen`: the decline's webhook was applied (the payment then names that attempt)."""
    adapter = core.gateways.registry.get(Gateway.RAZORPAY)
    initiated = await initiate(core)
    order = initiated.checkout.gateway_order_id
    await sandboxes.pay(order, card_number=FAILING_CARD)
    [declined] = await adapter.list_order_payments(order)
    assert declined.status is GatewayPaymentStatus.FAILED
    if decline_seen:
        failed = await core.payments.apply_gateway_payment(initiated.payment, declined, WEBHOOK)
        assert (failed.status, failed.gateway_payment_id) == (S.FAILED, declined.id)
        closed = await core.payments.expire(failed, TransitionSource.EXPIRY, note="expired")
        assert closed.status is S.EXPIRED
    else:
        await core.payments.cancel(CUSTOMER, str(initiated.payment.id))
    answer = await sandboxes.pay(order)  # the checkout left open: captured after the cancel
    first = await gateway_payment(core, answer["razorpay_payment_id"])
    payment = await core.payments.apply_gateway_payment(
        await stored(initiated.payment.id), first, WEBHOOK
    )
    [refund] = await Refund.find({"payment_id": payment.id}).to_list()
    assert (await core.refunds.send(str(refund.id))).status is RefundStatus.COMPLETED
    payment = await stored(initiated.payment.id)
    assert (payment.status, payment.net_minor) == (S.REFUNDED, 0)
    # The bank authorizes the declined attempt after all; the gateway captures it.
    await sandboxes.razorpay(action="late_authorize", payment_id=declined.id)
    second = await adapter.capture(order, declined.id, 49900, "INR")
    assert second.status is GatewayPaymentStatus.CAPTURED
    return payment, second


async def gateway_net(core, payment) -> int:
    adapter = core.gateways.registry.get(Gateway.RAZORPAY)
    attempts = await adapter.list_order_payments(payment.gateway_order_id)
    return sum(
        a.amount_minor - a.amount_refunded_minor
        for a in attempts
        if a.status in (GatewayPaymentStatus.CAPTURED, GatewayPaymentStatus.REFUNDED)
    )


async def refunds_sent(core, payment) -> None:
    for refund in await Refund.find({"payment_id": payment.id}).to_list():
        if refund.status is RefundStatus.PENDING:
            await core.refunds.send(str(refund.id))


class TestASecondLateCapture:
    """A payment closed before any money of its own stays closed when its late money has
    been returned: more late money on its order is recorded and returned the same way."""

    @pytest.mark.parametrize("decline_seen", [False, True])
    async def test_from_its_webhook_is_recorded_and_refunded(self, core, sandboxes, decline_seen):
        payment, second = await late_refunded_with_a_second_attempt(
            core, sandboxes, decline_seen=decline_seen
        )
        after = await core.payments.apply_gateway_payment(payment, second, WEBHOOK)
        assert [late.gateway_payment_id for late in after.late_payments][-1] == second.id
        assert after.late_payments[-1].action is LatePaymentAction.REFUNDED
        assert (after.status, after.captured_minor) == (S.PARTIALLY_REFUNDED, 99800)
        await refunds_sent(core, after)
        done = await stored(payment.id)
        assert (done.status, done.captured_minor, done.refunded_minor) == (S.REFUNDED, 99800, 99800)
        assert await gateway_net(core, done) == done.net_minor == 0
        assert await Refund.find({"payment_id": payment.id}).count() == 2

    @pytest.mark.parametrize("decline_seen", [False, True])
    async def test_found_by_reconciliation_is_recorded_and_refunded_not_left_for_review(
        self, core, sandboxes, decline_seen
    ):
        payment, second = await late_refunded_with_a_second_attempt(
            core, sandboxes, decline_seen=decline_seen
        )
        await age(str(payment.id), 30)  # the webhook was lost; the hourly run looks
        report = await core.reconciliation.reconcile(ReconciliationTrigger.CRON)
        # One report line per late payment (the first one's is due at this first run too).
        assert {(i.kind, i.gateway_payment_id) for i in report.mismatches} == {
            (FindingKind.LATE_PAYMENT, payment.late_payments[0].gateway_payment_id),
            (FindingKind.LATE_PAYMENT, second.id),
        }
        await refunds_sent(core, payment)
        done = await stored(payment.id)
        assert [late.gateway_payment_id for late in done.late_payments][-1] == second.id
        assert (done.status, done.refunded_minor) == (S.REFUNDED, 99800)
        assert await gateway_net(core, done) == done.net_minor == 0
        again = await core.reconciliation.reconcile(ReconciliationTrigger.CRON)
        assert again.mismatches == []
