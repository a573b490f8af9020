"""The gateway's word through the state machine, against the Razorpay and PayPal sandboxes over
HTTP: verify (Razorpay's signed proof, PayPal's approval), what the gateway says about a payment
attempt, webhook events (each delivered twice, one effect), captures and failed attempts."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from gateways.base import (
    Gateway,
    GatewayEvent,
    GatewayEventKind,
    GatewayPayment,
    GatewayPaymentStatus,
    GatewayRejected,
)
from models.clock import utcnow
from models.enums import PaymentMethodType, PaymentStatus, TransitionSource
from models.errors import (
    GatewayRejectedError,
    GatewayUnavailableError,
    InvalidSignature,
    InvalidState,
    PaymentNotFound,
    TargetNotFound,
    ValidationFailed,
)
from models.money import Money
from models.payment import Payment
from models.transitions import PaymentEvent
from services.payments import Initiated, VerifyCommand
from tests.support.checkout import FAILING_CARD
from tests.support.payments import CUSTOMER, OTHER, initiate, stored

S = PaymentStatus
RECONCILIATION = TransitionSource.RECONCILIATION
WEBHOOK = TransitionSource.WEBHOOK


async def paid(sandboxes, initiated: Initiated, **pay) -> dict:
    answer = await sandboxes.pay(initiated.checkout.gateway_order_id, **pay)
    assert "razorpay_payment_id" in answer, answer
    return answer


async def declined(sandboxes, initiated: Initiated) -> str:
    answer = await sandboxes.pay(initiated.checkout.gateway_order_id, card_number=FAILING_CARD)
    return str(answer["error"]["metadata"]["payment_id"])


def proof(initiated: Initiated, answer: dict, **fields) -> VerifyCommand:
    return VerifyCommand(
        payment_id=str(initiated.payment.id),
        gateway_payment_id=answer["razorpay_payment_id"],
        signature=answer["razorpay_signature"],
        **fields,
    )


def declined_attempt(initiated: Initiated, gateway_payment_id: str) -> GatewayPayment:
    """A declined attempt on the payment's order, as its payment.failed webhook says."""
    return GatewayPayment(
        gateway=Gateway.RAZORPAY,
        id=gateway_payment_id,
        order_id=initiated.checkout.gateway_order_id,
        amount_minor=initiated.payment.amount.amount_minor,
        currency=initiated.payment.currency,
        status=GatewayPaymentStatus.FAILED,
    )


def razorpay(core):
    return core.gateways.registry.get(Gateway.RAZORPAY)


class TestVerifyRazorpay:
    async def test_a_paid_card_completes(self, core, sandboxes):
        initiated = await initiate(core)
        answer = await paid(sandboxes, initiated)
        done = await core.payments.verify(CUSTOMER, proof(initiated, answer))
        assert (done.status, done.gateway_payment_id) == (
            S.COMPLETED,
            answer["razorpay_payment_id"],
        )
        assert [(e.to_status, e.source, e.actor) for e in done.timeline] == [
            (S.PENDING, TransitionSource.API, CUSTOMER.customer_id),
            (S.INITIATED, TransitionSource.API, None),
            (S.COMPLETED, TransitionSource.API, CUSTOMER.customer_id),
        ]
        assert (await stored(done.id)).version == done.version

    async def test_manual_capture_authorizes_then_captures(self, core, sandboxes):
        await sandboxes.razorpay(action="configure", auto_capture=False)
        initiated = await initiate(core)
        answer = await paid(sandboxes, initiated)
        done = await core.payments.verify(CUSTOMER, proof(initiated, answer))
        assert [e.to_status for e in done.timeline] == [
            S.PENDING,
            S.INITIATED,
            S.AUTHORIZED,
            S.COMPLETED,
        ]
        at_gateway = await razorpay(core).fetch_payment(answer["razorpay_payment_id"])
        assert at_gateway.status is GatewayPaymentStatus.CAPTURED

    async def test_verifying_again_returns_it_unchanged(self, core, sandboxes):
        initiated = await initiate(core)
        answer = await paid(sandboxes, initiated)
        first = await core.payments.verify(CUSTOMER, proof(initiated, answer))
        again = await core.payments.verify(CUSTOMER, proof(initiated, answer))
        assert (again.status, again.version) == (S.COMPLETED, first.version)

    async def test_a_wrong_signature_is_refused_and_counts_an_attempt(self, core, sandboxes):
        initiated = await initiate(core)
        answer = await paid(sandboxes, initiated)
        forged = proof(initiated, answer, save_method=False)
        with pytest.raises(InvalidSignature):
            await core.payments.verify(CUSTOMER, replace(forged, signature="0" * 64))
        payment = await stored(initiated.payment.id)
        assert (payment.status, payment.attempt_count, payment.error_code) == (
            S.FAILED,
            1,
            "INVALID_SIGNATURE",
        )

    async def test_the_gateway_payment_id_is_required(self, core, sandboxes):
        initiated = await initiate(core)
        with pytest.raises(ValidationFailed) as raised:
            await core.payments.verify(CUSTOMER, VerifyCommand(str(initiated.payment.id)))
        assert raised.value.field == "gatewayPaymentId"

    async def test_a_payment_of_another_order_is_refused(self, core, sandboxes):
        mine = await initiate(core)
        other = await initiate(core)
        answer = await paid(sandboxes, other)
        command = VerifyCommand(str(mine.payment.id), answer["razorpay_payment_id"])
        with pytest.raises(InvalidSignature, match="another order"):
            await core.payments.verify(CUSTOMER, command)
        payment = await stored(mine.payment.id)
        assert (payment.status, payment.attempt_count) == (S.INITIATED, 0)

    async def test_a_payment_the_gateway_does_not_know_is_refused(self, core, sandboxes):
        initiated = await initiate(core)
        command = VerifyCommand(str(initiated.payment.id), "pay_UnknownToRzp01")
        with pytest.raises(InvalidSignature, match="does not know"):
            await core.payments.verify(CUSTOMER, command)
        assert (await stored(initiated.payment.id)).status is S.INITIATED

    async def test_an_unreachable_gateway_changes_nothing(self, core, sandboxes):
        initiated = await initiate(core)
        answer = await paid(sandboxes, initiated)
        await sandboxes.razorpay(
            action="fault", path="/v1/payments/*", method="GET", status=503, count=10
        )
        with pytest.raises(GatewayUnavailableError):
            await core.payments.verify(CUSTOMER, proof(initiated, answer))
        payment = await stored(initiated.payment.id)
        assert (payment.status, payment.version) == (S.INITIATED, initiated.payment.version)

    async def test_a_declined_attempt_counts_once_and_a_later_one_completes(self, core, sandboxes):
        initiated = await initiate(core)
        failed_id = await declined(sandboxes, initiated)
        command = VerifyCommand(str(initiated.payment.id), failed_id)
        for _ in range(2):
            failed = await core.payments.verify(CUSTOMER, command)
            assert (failed.status, failed.attempt_count) == (S.FAILED, 1)
        assert failed.error_message
        answer = await paid(sandboxes, initiated)
        done = await core.payments.verify(CUSTOMER, proof(initiated, answer))
        assert (done.status, done.attempt_count, done.error_message) == (S.COMPLETED, 1, None)

    async def test_after_the_last_attempt_it_failed_for_good(self, core, sandboxes):
        initiated = await initiate(core)
        answer = await paid(sandboxes, initiated)
        forged = replace(proof(initiated, answer), signature="f" * 64)
        for _ in range(3):  # PAYMENT_MAX_ATTEMPTS
            with pytest.raises(InvalidSignature):
                await core.payments.verify(CUSTOMER, forged)
        with pytest.raises(InvalidState, match="failed for good"):
            await core.payments.verify(CUSTOMER, proof(initiated, answer))
        assert (await stored(initiated.payment.id)).attempt_count == 3

    async def test_a_cancelled_payment_cannot_be_verified(self, core, sandboxes):
        initiated = await initiate(core)
        await core.payments.cancel(CUSTOMER, str(initiated.payment.id))
        answer = await paid(sandboxes, initiated)  # the checkout completed after the cancel
        with pytest.raises(InvalidState, match="cancelled before the money arrived"):
            await core.payments.verify(CUSTOMER, proof(initiated, answer))
        # Asked the gateway before refusing: the late capture is recorded and returned.
        payment = await stored(initiated.payment.id)
        assert payment.status is S.CANCELLED
        [late] = payment.late_payments
        assert late.gateway_payment_id == answer["razorpay_payment_id"]

    async def test_a_payment_paid_before_the_cancel_is_not_cancelled(self, core, sandboxes):
        initiated = await initiate(core)
        await paid(sandboxes, initiated)
        with pytest.raises(InvalidState, match="paid at the gateway meanwhile"):
            await core.payments.cancel(CUSTOMER, str(initiated.payment.id))
        assert (await stored(initiated.payment.id)).status is S.COMPLETED

    async def test_another_customers_payment_is_not_found(self, core, sandboxes):
        initiated = await initiate(core)
        answer = await paid(sandboxes, initiated)
        with pytest.raises(PaymentNotFound):
            await core.payments.verify(OTHER, proof(initiated, answer))
        assert (await stored(initiated.payment.id)).status is S.INITIATED


async def paypal_payment(core) -> Initiated:
    initiated = await initiate(
        core, method=PaymentMethodType.PAYPAL, currency="USD", amount="40.00"
    )
    assert initiated.checkout.gateway is Gateway.PAYPAL and initiated.checkout.approve_url
    return initiated


class TestVerifyPayPal:
    async def test_an_approved_order_is_captured_once(self, core, sandboxes):
        initiated = await paypal_payment(core)
        await sandboxes.approve(initiated.checkout.approve_url)
        command = VerifyCommand(str(initiated.payment.id))
        done = await core.payments.verify(CUSTOMER, command)
        again = await core.payments.verify(CUSTOMER, command)
        assert (done.status, again.version) == (S.COMPLETED, done.version)
        assert done.gateway_payment_id
        assert (await sandboxes.paypal())["captures"] == 1

    async def test_not_approved_yet_changes_nothing(self, core, sandboxes):
        initiated = await paypal_payment(core)
        with pytest.raises(InvalidState, match="not approved"):
            await core.payments.verify(CUSTOMER, VerifyCommand(str(initiated.payment.id)))
        payment = await stored(initiated.payment.id)
        assert (payment.status, payment.attempt_count) == (S.INITIATED, 0)

    async def test_a_declined_capture_is_a_failed_attempt(self, core, sandboxes):
        initiated = await paypal_payment(core)
        await sandboxes.paypal(action="capture_outcome", outcome="DECLINED", count=1)
        await sandboxes.approve(initiated.checkout.approve_url)
        failed = await core.payments.verify(CUSTOMER, VerifyCommand(str(initiated.payment.id)))
        assert (failed.status, failed.attempt_count, failed.error_code) == (
            S.FAILED,
            1,
            "DECLINED",
        )

    async def test_a_capture_pending_review_waits(self, core, sandboxes):
        initiated = await paypal_payment(core)
        await sandboxes.paypal(action="capture_outcome", outcome="PENDING", count=1)
        await sandboxes.approve(initiated.checkout.approve_url)
        pending = await core.payments.verify(CUSTOMER, VerifyCommand(str(initiated.payment.id)))
        # Visibly awaiting the gateway: money is held, never COMPLETED before PayPal says so.
        assert pending.status is S.AUTHORIZED
        assert pending.timeline[-1].note == "capture pending review at the gateway"

    async def test_a_refused_capture_counts_an_attempt_and_is_a_gateway_error(
        self, core, sandboxes
    ):
        initiated = await paypal_payment(core)
        await sandboxes.approve(initiated.checkout.approve_url)
        await sandboxes.paypal(
            action="fail", path="/v2/checkout/orders/*/capture", status=422, count=1
        )
        with pytest.raises(GatewayRejectedError):
            await core.payments.verify(CUSTOMER, VerifyCommand(str(initiated.payment.id)))
        payment = await stored(initiated.payment.id)
        assert (payment.status, payment.attempt_count) == (S.FAILED, 1)


class TestApplyGatewayPayment:
    async def test_a_capture_completes_once(self, core, sandboxes):
        initiated = await initiate(core)
        answer = await paid(sandboxes, initiated)
        found = await razorpay(core).fetch_payment(answer["razorpay_payment_id"])
        done = await core.payments.apply_gateway_payment(
            initiated.payment, found, RECONCILIATION, actor="reconciliation"
        )
        again = await core.payments.apply_gateway_payment(done, found, RECONCILIATION)
        assert (done.status, again.version) == (S.COMPLETED, done.version)
        entry = (await stored(done.id)).timeline[-1]
        assert (entry.source, entry.actor, entry.gateway_payment_id) == (
            RECONCILIATION,
            "reconciliation",
            found.id,
        )

    async def test_an_authorization_is_captured_only_when_asked(self, core, sandboxes):
        await sandboxes.razorpay(action="configure", auto_capture=False)
        initiated = await initiate(core)
        answer = await paid(sandboxes, initiated)
        found = await razorpay(core).fetch_payment(answer["razorpay_payment_id"])
        held = await core.payments.apply_gateway_payment(initiated.payment, found, RECONCILIATION)
        assert held.status is S.AUTHORIZED
        assert (await razorpay(core).fetch_payment(found.id)).status is found.status
        done = await core.payments.apply_gateway_payment(held, found, RECONCILIATION, capture=True)
        assert done.status is S.COMPLETED
        at_gateway = await razorpay(core).fetch_payment(found.id)
        assert at_gateway.status is GatewayPaymentStatus.CAPTURED

    async def test_a_capture_that_fails_leaves_it_authorized(self, core, sandboxes):
        await sandboxes.razorpay(action="configure", auto_capture=False)
        initiated = await initiate(core)
        answer = await paid(sandboxes, initiated)
        found = await razorpay(core).fetch_payment(answer["razorpay_payment_id"])
        await sandboxes.razorpay(action="fault", path="/v1/payments/*/capture", status=400, count=1)
        held = await core.payments.apply_gateway_payment(
            initiated.payment, found, RECONCILIATION, capture=True
        )
        assert held.status is S.AUTHORIZED  # reconciliation captures it later
        assert (await stored(held.id)).version == held.version

    async def test_a_failure_is_an_attempt_with_the_gateways_reason(self, core, sandboxes):
        initiated = await initiate(core)
        found = await razorpay(core).fetch_payment(await declined(sandboxes, initiated))
        failed = await core.payments.apply_gateway_payment(
            initiated.payment, found, RECONCILIATION, gateway_event_id="evt_f1"
        )
        assert (failed.status, failed.attempt_count) == (S.FAILED, 1)
        assert (failed.error_code, failed.error_message) == (
            found.error_code,
            found.error_description or found.error_reason,
        )
        entry = failed.timeline[-1]
        assert (entry.event, entry.gateway_event_id, entry.gateway_payment_id) == (
            PaymentEvent.FAILED,
            "evt_f1",
            found.id,
        )
        assert entry.note.startswith("attempt 1 failed: ")

    async def test_a_late_failure_counts_without_moving_the_status(self, core, sandboxes):
        initiated = await initiate(core)
        failed = await razorpay(core).fetch_payment(await declined(sandboxes, initiated))
        answer = await paid(sandboxes, initiated)
        captured = await razorpay(core).fetch_payment(answer["razorpay_payment_id"])
        done = await core.payments.apply_gateway_payment(
            initiated.payment, captured, RECONCILIATION
        )
        after = await core.payments.apply_gateway_payment(done, failed, RECONCILIATION)
        again = await core.payments.apply_gateway_payment(after, failed, RECONCILIATION)
        assert (after.status, after.attempt_count, after.gateway_payment_id) == (
            S.COMPLETED,
            1,
            captured.id,
        )
        assert again.version == after.version
        entry = after.timeline[-1]
        assert (entry.from_status, entry.to_status, entry.event) == (
            S.COMPLETED,
            S.COMPLETED,
            PaymentEvent.FAILED,
        )

    @pytest.mark.parametrize("status", [GatewayPaymentStatus.CREATED])
    async def test_nothing_to_do_before_the_gateway_decides(self, core, sandboxes, status):
        initiated = await initiate(core)
        found = GatewayPayment(
            gateway=Gateway.RAZORPAY,
            id="pay_NotDecidedYet1",
            order_id=initiated.checkout.gateway_order_id,
            amount_minor=49900,
            currency="INR",
            status=status,
        )
        same = await core.payments.apply_gateway_payment(initiated.payment, found, RECONCILIATION)
        assert same is initiated.payment


def event(initiated: Initiated, kind: GatewayEventKind, event_id: str, **fields) -> GatewayEvent:
    fields.setdefault("order_id", initiated.checkout.gateway_order_id)
    fields.setdefault("amount_minor", initiated.payment.amount.amount_minor)
    fields.setdefault("currency", initiated.payment.currency)
    return GatewayEvent(
        gateway=initiated.checkout.gateway,
        event_id=event_id,
        kind=kind,
        raw_type=kind.value.lower(),
        **fields,
    )


class TestAStaleFailure:
    """Razorpay retries a webhook it could not deliver, so a payment's `payment.failed` can
    arrive after the `payment.authorized` of a bank's late authorization of it."""

    async def test_of_money_we_hold_is_checked_with_the_gateway_and_left(self, core, sandboxes):
        await sandboxes.razorpay(action="configure", auto_capture=False)
        initiated = await initiate(core)
        order = initiated.checkout.gateway_order_id
        await sandboxes.pay(order, card_number=FAILING_CARD)
        [declined] = await razorpay(core).list_order_payments(order)
        await sandboxes.razorpay(action="late_authorize", payment_id=declined.id)
        authorized = await razorpay(core).fetch_payment(declined.id)
        # payment.authorized first; our capture does not go through this time (capture=False)
        held = await core.payments.apply_gateway_payment(initiated.payment, authorized, WEBHOOK)
        assert held.status is S.AUTHORIZED
        stale = replace(authorized, status=GatewayPaymentStatus.FAILED, error_code="BAD_REQUEST")
        after = await core.payments.apply_gateway_payment(held, stale, WEBHOOK)
        assert (after.status, after.attempt_count, after.version) == (
            S.AUTHORIZED,
            held.attempt_count,
            held.version,
        )
        assert (await razorpay(core).fetch_payment(declined.id)).status is (
            GatewayPaymentStatus.AUTHORIZED
        )


class TestClosedMeanwhile:
    async def test_money_for_a_payment_its_last_failure_closed_after_we_read_it_is_late(
        self, core, sandboxes
    ):
        """We read the payment FAILED with an attempt left; before our write, another
        failure uses the last one. The authorization we were about to apply (and capture) is
        then late money of a closed payment: recorded, never captured."""
        await sandboxes.razorpay(action="configure", auto_capture=False)
        initiated = await initiate(core)
        order = initiated.checkout.gateway_order_id
        payment = initiated.payment
        for n in range(2):
            payment = await core.payments.apply_gateway_payment(
                payment, declined_attempt(initiated, f"pay_Declined{n}"), WEBHOOK
            )
        read = await stored(payment.id)  # FAILED, 2 of 3 attempts used
        assert (read.status, read.attempt_count) == (S.FAILED, 2)
        last = declined_attempt(initiated, "pay_Last")
        await core.payments.apply_gateway_payment(read, last, WEBHOOK)
        answer = await sandboxes.pay(order)
        held = await razorpay(core).fetch_payment(answer["razorpay_payment_id"])
        assert held.status is GatewayPaymentStatus.AUTHORIZED

        after = await core.payments.apply_gateway_payment(read, held, WEBHOOK, capture=True)
        assert (after.status, after.attempt_count) == (S.FAILED, 3)
        assert [(late.gateway_payment_id, late.kind.value) for late in after.late_payments] == [
            (held.id, "AUTHORIZATION")
        ]
        assert (await razorpay(core).fetch_payment(held.id)).status is (
            GatewayPaymentStatus.AUTHORIZED  # left to lapse, not captured by us
        )


class TestApplyGatewayEvent:
    async def test_a_capture_completes_the_payment_once(self, core, sandboxes):
        initiated = await initiate(core)
        answer = await paid(sandboxes, initiated)
        captured = event(
            initiated,
            GatewayEventKind.PAYMENT_CAPTURED,
            "evt_cap1",
            payment_id=answer["razorpay_payment_id"],
        )
        for _ in range(2):
            assert await core.payments.apply_gateway_event(captured) == initiated.payment.id
        payment = await stored(initiated.payment.id)
        assert payment.status is S.COMPLETED
        webhook = [e for e in payment.timeline if e.source is TransitionSource.WEBHOOK]
        assert [(e.to_status, e.gateway_event_id, e.actor) for e in webhook] == [
            (S.COMPLETED, "evt_cap1", "webhook")
        ]

    async def test_an_authorization_alone_completes_it(self, core, sandboxes):
        await sandboxes.razorpay(action="configure", auto_capture=False)
        initiated = await initiate(core)
        answer = await paid(sandboxes, initiated)
        authorized = event(
            initiated,
            GatewayEventKind.PAYMENT_AUTHORIZED,
            "evt_auth1",
            payment_id=answer["razorpay_payment_id"],
        )
        for _ in range(2):
            await core.payments.apply_gateway_event(authorized)
        payment = await stored(initiated.payment.id)
        assert [e.to_status for e in payment.timeline][2:] == [S.AUTHORIZED, S.COMPLETED]
        at_gateway = await razorpay(core).fetch_payment(answer["razorpay_payment_id"])
        assert at_gateway.status is GatewayPaymentStatus.CAPTURED

    async def test_a_failure_counts_one_attempt(self, core, sandboxes):
        initiated = await initiate(core)
        failed_id = await declined(sandboxes, initiated)
        failure = event(
            initiated,
            GatewayEventKind.PAYMENT_FAILED,
            "evt_fail1",
            payment_id=failed_id,
            error_code="BAD_REQUEST_ERROR",
            error_reason="card_declined",
        )
        for _ in range(2):
            await core.payments.apply_gateway_event(failure)
        payment = await stored(initiated.payment.id)
        assert (payment.status, payment.attempt_count) == (S.FAILED, 1)
        assert (payment.error_code, payment.error_message) == ("BAD_REQUEST_ERROR", "card_declined")

    async def test_an_event_for_no_payment_we_hold_is_target_not_found(self, core, sandboxes):
        initiated = await initiate(core)
        unknown = event(
            initiated,
            GatewayEventKind.PAYMENT_CAPTURED,
            "evt_lost",
            order_id="order_NotOurs000001",
            payment_id="pay_NotOurs0000001",
        )
        with pytest.raises(TargetNotFound):
            await core.payments.apply_gateway_event(unknown)

    async def test_another_amount_is_refused(self, core, sandboxes):
        initiated = await initiate(core)
        answer = await paid(sandboxes, initiated)
        wrong = event(
            initiated,
            GatewayEventKind.PAYMENT_CAPTURED,
            "evt_amt",
            payment_id=answer["razorpay_payment_id"],
            amount_minor=100,
        )
        with pytest.raises(InvalidState, match="says 100 INR"):
            await core.payments.apply_gateway_event(wrong)
        assert (await stored(initiated.payment.id)).status is S.INITIATED

    async def test_an_event_naming_another_order_is_refused(self, core, sandboxes):
        initiated = await initiate(core)
        answer = await paid(sandboxes, initiated)
        done = await core.payments.verify(CUSTOMER, proof(initiated, answer))
        crossed = event(
            initiated,
            GatewayEventKind.PAYMENT_CAPTURED,
            "evt_cross",
            order_id="order_SomeOther0001",
            payment_id=answer["razorpay_payment_id"],
        )
        with pytest.raises(InvalidState, match="not this payment's"):
            await core.payments.apply_gateway_event(crossed)
        assert (await stored(done.id)).version == done.version

    async def test_a_paypal_approval_captures_once(self, core, sandboxes):
        initiated = await paypal_payment(core)
        approval = event(initiated, GatewayEventKind.ORDER_APPROVED, "evt_appr1")
        # Not approved yet at PayPal: nothing to do.
        await core.payments.apply_gateway_event(approval)
        assert (await stored(initiated.payment.id)).status is S.INITIATED
        await sandboxes.approve(initiated.checkout.approve_url)
        for _ in range(2):
            await core.payments.apply_gateway_event(approval)
        payment = await stored(initiated.payment.id)
        assert payment.status is S.COMPLETED
        assert [e.to_status for e in payment.timeline].count(S.COMPLETED) == 1
        assert (await sandboxes.paypal())["captures"] == 1


class TestCaptureApproved:
    async def test_an_approved_order_completes(self, core, sandboxes):
        initiated = await paypal_payment(core)
        await sandboxes.approve(initiated.checkout.approve_url)
        done = await core.payments.capture_approved(
            initiated.payment, RECONCILIATION, actor="reconciliation"
        )
        assert (done.status, done.timeline[-1].source) == (S.COMPLETED, RECONCILIATION)

    async def test_a_refusal_counts_an_attempt_and_is_raised(self, core, sandboxes):
        initiated = await paypal_payment(core)
        await sandboxes.approve(initiated.checkout.approve_url)
        await sandboxes.paypal(
            action="fail", path="/v2/checkout/orders/*/capture", status=422, count=1
        )
        with pytest.raises(GatewayRejected):
            await core.payments.capture_approved(
                initiated.payment, RECONCILIATION, gateway_event_id="evt_ref1"
            )
        payment = await stored(initiated.payment.id)
        assert (payment.status, payment.attempt_count) == (S.FAILED, 1)
        assert payment.timeline[-1].gateway_event_id == "evt_ref1"

    async def test_without_a_gateway_order_there_is_nothing_to_capture(self, core, sandboxes):
        payment = Payment(
            order_id="PAY-NO-ORDER",
            customer_id=CUSTOMER.customer_id,
            amount=Money(amount_minor=4000, currency="USD"),
            method_type=PaymentMethodType.PAYPAL,
            request_fingerprint="fp",
            expires_at=utcnow() + timedelta(hours=1),
        )
        await payment.insert()
        with pytest.raises(InvalidState, match="no gateway order"):
            await core.payments.capture_approved(payment, RECONCILIATION)
