"""initiate at the service level against the sandboxes over HTTP: the payment and its one gateway
order, identical repeats and conflicting ones, the order lease, retries after a failure, and the
fallback rules (only when the primary certainly created nothing)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from gateways.base import Gateway
from models.clock import utcnow
from models.common import TimelineEntry
from models.enums import PaymentMethodType, PaymentStatus, TransitionSource
from models.errors import (
    DomainError,
    DuplicateOrder,
    GatewayRejectedError,
    GatewayUnavailableError,
    InvalidAmount,
    InvalidState,
    MaxAttemptsExceeded,
    SavedMethodNotFound,
    UnsupportedPaymentMethod,
    ValidationFailed,
)
from models.money import Money
from models.payment import CheckoutParams, ClientMetadata, Payment
from models.saved_method import SavedPaymentMethod
from models.transitions import PaymentEvent
from services.crypto import TokenVault
from services.events import EventBus
from services.payments import InitiateCommand, PaymentPolicy, PaymentService, VerifyCommand, rules
from services.saved_methods import SavedMethodService
from tests.support.checkout import FAILING_CARD
from tests.support.payments import CUSTOMER, OTHER, initiate, order_id, stored

S = PaymentStatus
RZP, PP = Gateway.RAZORPAY, Gateway.PAYPAL
USD_CARD = {"currency": "USD", "amount": "40.00", "method": PaymentMethodType.CARD}
PAYPAL = {"currency": "USD", "amount": "40.00", "method": PaymentMethodType.PAYPAL}


async def orders(sandboxes) -> tuple[int, int]:
    """Orders made at (Razorpay, PayPal)."""
    return (await sandboxes.razorpay())["counts"]["orders"], (await sandboxes.paypal())["orders"]


def attempts(payment: Payment) -> list[tuple[Gateway, str]]:
    return [(a.gateway, a.outcome) for a in payment.gateway_attempts]


class TestInitiate:
    async def test_the_payment_and_its_gateway_order(self, core, sandboxes, settings):
        initiated = await initiate(core, amount="1499.50")
        payment = initiated.payment
        assert (payment.status, payment.customer_id, payment.amount) == (
            S.INITIATED,
            CUSTOMER.customer_id,
            Money(amount_minor=149950, currency="INR"),
        )
        customer = initiated.checkout.customer_id  # Razorpay's customer, for saving the card
        assert customer is not None and customer.startswith("cust_")
        assert initiated.checkout == CheckoutParams(
            gateway=RZP,
            key_id=settings.razorpay_key_id,
            gateway_order_id=payment.gateway_order_id,
            amount_minor=149950,
            currency="INR",
            script_url=f"http://127.0.0.1:{settings.port}/sandbox/razorpay/v1/checkout.js",
            customer_id=customer,
        )
        assert payment.checkout is not None and payment.checkout.customer_id is None  # not at rest
        assert (payment.gateway, payment.receipt, payment.order_lease_until) == (
            RZP,
            str(payment.id),
            None,
        )
        assert attempts(payment) == [(RZP, "created")]
        assert [(e.from_status, e.to_status, e.event, e.note) for e in payment.timeline] == [
            (None, S.PENDING, None, "payment created"),
            (S.PENDING, S.INITIATED, PaymentEvent.ORDER_CREATED, "order created on RAZORPAY"),
        ]
        assert payment.metadata.ip == "203.0.113.7"
        assert payment.expires_at - payment.created_at == timedelta(minutes=60)
        assert (await stored(payment.id)).version == payment.version
        assert await orders(sandboxes) == (1, 0)

    @pytest.mark.parametrize(
        ("fields", "error", "field"),
        [
            ({"order_id": "bad id"}, ValidationFailed, "orderId"),
            ({"amount": "12.345"}, InvalidAmount, "amount"),
            ({"amount": "0.50"}, ValidationFailed, "amount"),
            ({"method": PaymentMethodType.PAYPAL}, UnsupportedPaymentMethod, "paymentMethod"),
            ({"saved_method_id": "65f0c0ffee0000000000beef"}, SavedMethodNotFound, "savedMethodId"),
        ],
    )
    async def test_a_refused_request_writes_nothing(self, core, sandboxes, fields, error, field):
        with pytest.raises(DomainError) as raised:
            await initiate(core, **fields)
        assert (type(raised.value), raised.value.field) == (error, field)
        assert await Payment.find_all().count() == 0
        assert await orders(sandboxes) == (0, 0)


VAULT = TokenVault.ephemeral()


async def saved_method(customer_id: str, method: PaymentMethodType, token: str) -> str:
    saved = SavedPaymentMethod(
        customer_id=customer_id,
        gateway=RZP,
        method_type=method,
        token_ciphertext=VAULT.encrypt(token),
        token_fingerprint=VAULT.fingerprint(RZP.value, token),
        last4="1007",
    )
    await saved.insert()
    return str(saved.id)


class TestSavedMethod:
    @pytest.fixture
    def service(self, core) -> PaymentService:
        """The worker's service with a vault this test can write to."""
        return PaymentService(
            core.gateways.registry,
            EventBus(core.redis),
            PaymentPolicy(),
            saved_methods=SavedMethodService(core.gateways.registry, VAULT),
        )

    async def test_its_token_goes_to_the_checkout_only(self, service, sandboxes):
        saved_id = await saved_method(CUSTOMER.customer_id, PaymentMethodType.CARD, "token_Abc1")
        command = InitiateCommand(order_id=order_id(), amount="499.00", saved_method_id=saved_id)
        initiated = await service.initiate(CUSTOMER, command, ClientMetadata())
        assert initiated.checkout.saved_token == "token_Abc1"
        payment = await stored(initiated.payment.id)
        assert str(payment.saved_method_id) == saved_id
        assert payment.checkout is not None and payment.checkout.saved_token is None

    async def test_another_customers_method_is_not_found(self, service, sandboxes):
        saved_id = await saved_method(OTHER.customer_id, PaymentMethodType.CARD, "token_Abc2")
        command = InitiateCommand(order_id=order_id(), amount="499.00", saved_method_id=saved_id)
        with pytest.raises(SavedMethodNotFound):
            await service.initiate(CUSTOMER, command, ClientMetadata())
        assert await orders(sandboxes) == (0, 0)

    async def test_a_method_of_another_kind_is_refused(self, service, sandboxes):
        saved_id = await saved_method(CUSTOMER.customer_id, PaymentMethodType.UPI, "token_Abc3")
        command = InitiateCommand(order_id=order_id(), amount="499.00", saved_method_id=saved_id)
        with pytest.raises(ValidationFailed, match="not of this payment method"):
            await service.initiate(CUSTOMER, command, ClientMetadata())


class TestRepeat:
    async def test_an_identical_repeat_gets_the_same_payment_and_order(self, core, sandboxes):
        oid = order_id()
        first = await initiate(core, order_id=oid, amount="499")
        again = await initiate(core, order_id=oid, amount="499.00")
        assert (again.payment.id, again.checkout) == (first.payment.id, first.checkout)
        assert again.payment.version == first.payment.version
        assert await orders(sandboxes) == (1, 0)

    async def test_other_parameters_for_the_same_order_are_a_duplicate_order(self, core, sandboxes):
        oid = order_id()
        first = await initiate(core, order_id=oid)
        with pytest.raises(DuplicateOrder) as raised:
            await initiate(core, order_id=oid, amount="500.00")
        assert raised.value.existing_payment_id == str(first.payment.id)

    async def test_another_customer_has_orders_of_their_own(self, core, sandboxes):
        oid = order_id()
        mine = await initiate(core, order_id=oid)
        theirs = await initiate(core, OTHER, order_id=oid)
        assert mine.payment.id != theirs.payment.id
        assert await orders(sandboxes) == (2, 0)

    async def test_concurrent_identical_requests_make_one_payment_and_one_order(
        self, core, sandboxes
    ):
        oid = order_id()
        results = await asyncio.gather(*(initiate(core, order_id=oid) for _ in range(12)))
        assert len({r.payment.id for r in results}) == 1
        assert len({r.checkout.gateway_order_id for r in results}) == 1
        assert await Payment.find({"order_id": oid}).count() == 1
        assert await orders(sandboxes) == (1, 0)

    async def test_a_cancelled_payment_is_not_reopened(self, core, sandboxes):
        oid = order_id()
        first = await initiate(core, order_id=oid)
        await core.payments.cancel(CUSTOMER, str(first.payment.id))
        with pytest.raises(InvalidState, match="is cancelled"):
            await initiate(core, order_id=oid)


async def held_by_a_peer(oid: str, lease_until) -> Payment:
    """The PENDING payment another request inserted for `oid` and is creating the order of."""
    command = InitiateCommand(order_id=oid, amount="499.00")
    valid = rules.validate(command)
    now = utcnow()
    payment = Payment(
        order_id=oid,
        customer_id=CUSTOMER.customer_id,
        amount=valid.money,
        method_type=valid.method,
        request_fingerprint=rules.fingerprint(oid, valid),
        expires_at=now + timedelta(hours=1),
        order_lease_until=lease_until,
        timeline=[
            TimelineEntry(from_status=None, to_status=S.PENDING, source=TransitionSource.API)
        ],
    )
    await payment.insert()
    return payment


@pytest.fixture
def impatient(core) -> PaymentService:
    """A service like the worker's that waits a moment, not 15 s, for a peer's order."""
    return PaymentService(
        core.gateways.registry, EventBus(core.redis), PaymentPolicy(wait_for_peer_seconds=1.0)
    )


class TestOrderLease:
    async def test_while_a_peer_holds_the_lease_a_repeat_waits_then_asks_again(
        self, core, sandboxes, impatient
    ):
        oid = order_id()
        held = await held_by_a_peer(oid, utcnow() + timedelta(seconds=30))
        with pytest.raises(GatewayUnavailableError, match="still being created"):
            await impatient.initiate(
                CUSTOMER, InitiateCommand(order_id=oid, amount="499.00"), ClientMetadata()
            )
        assert (await stored(held.id)).version == held.version
        assert await orders(sandboxes) == (0, 0)

    async def test_a_repeat_gets_the_order_the_peer_made(self, core, sandboxes, impatient):
        oid = order_id()
        held = await held_by_a_peer(oid, utcnow() + timedelta(seconds=30))
        waiting = asyncio.create_task(
            impatient.initiate(
                CUSTOMER, InitiateCommand(order_id=oid, amount="499.00"), ClientMetadata()
            )
        )
        await asyncio.sleep(0.2)
        made = CheckoutParams(
            gateway=RZP,
            key_id="rzp_test_peer",
            gateway_order_id="order_Peer00000001",
            amount_minor=49900,
            currency="INR",
        )
        await Payment.get_pymongo_collection().update_one(
            {"_id": held.id},
            {
                "$set": {"status": "INITIATED", "checkout": made.model_dump()},
                "$inc": {"version": 1},
            },
        )
        initiated = await asyncio.wait_for(waiting, timeout=5)
        assert (initiated.payment.id, initiated.checkout) == (held.id, made)
        assert await orders(sandboxes) == (0, 0)

    async def test_a_lapsed_lease_is_taken_over(self, core, sandboxes):
        oid = order_id()
        held = await held_by_a_peer(oid, utcnow() - timedelta(seconds=1))
        initiated = await initiate(core, order_id=oid)
        assert initiated.payment.id == held.id
        assert (initiated.payment.status, initiated.payment.order_lease_until) == (
            S.INITIATED,
            None,
        )
        assert await orders(sandboxes) == (1, 0)


class TestRetry:
    async def test_a_failed_payment_is_retried_on_its_order(self, core, sandboxes):
        oid = order_id()
        first = await initiate(core, order_id=oid)
        answer = await sandboxes.pay(first.checkout.gateway_order_id, card_number=FAILING_CARD)
        failed_id = answer["error"]["metadata"]["payment_id"]
        await core.payments.verify(CUSTOMER, VerifyCommand(str(first.payment.id), failed_id))
        retried = await initiate(core, order_id=oid)
        payment = retried.payment
        assert (payment.id, retried.checkout) == (first.payment.id, first.checkout)
        assert (payment.status, payment.attempt_count, payment.error_code) == (
            S.INITIATED,
            1,
            None,
        )
        last = payment.timeline[-1]
        assert (last.event, last.from_status, last.actor) == (
            PaymentEvent.RETRIED,
            S.FAILED,
            CUSTOMER.customer_id,
        )
        assert await orders(sandboxes) == (1, 0)

    async def test_no_retry_after_the_last_attempt(self, core, sandboxes):
        oid = order_id()
        first = await initiate(core, order_id=oid)
        for _ in range(3):
            answer = await sandboxes.pay(first.checkout.gateway_order_id, card_number=FAILING_CARD)
            await core.payments.verify(
                CUSTOMER,
                VerifyCommand(str(first.payment.id), answer["error"]["metadata"]["payment_id"]),
            )
        with pytest.raises(MaxAttemptsExceeded) as raised:
            await initiate(core, order_id=oid)
        assert raised.value.max_attempts == 3
        assert (await stored(first.payment.id)).status is S.FAILED

    async def test_a_rejected_order_is_a_failed_attempt_and_a_retry_creates_it(
        self, core, sandboxes
    ):
        await sandboxes.razorpay(
            action="fault", path="/v1/orders", method="POST", status=400, count=1
        )
        oid = order_id()
        with pytest.raises(GatewayRejectedError):
            await initiate(core, order_id=oid)
        payment = await Payment.find_one({"order_id": oid})
        assert (payment.status, payment.attempt_count, payment.checkout) == (S.FAILED, 1, None)
        assert (attempts(payment), payment.order_lease_until) == ([(RZP, "rejected")], None)
        assert payment.timeline[-1].note.startswith("attempt 1 failed: RAZORPAY rejected the order")
        retried = await initiate(core, order_id=oid)
        assert retried.payment.status is S.INITIATED
        assert retried.payment.timeline[-1].event is PaymentEvent.RETRIED
        assert attempts(retried.payment) == [(RZP, "rejected"), (RZP, "created")]
        assert await orders(sandboxes) == (1, 0)

    async def test_a_paypal_retry_after_a_declined_capture_gets_a_new_order(self, core, sandboxes):
        await sandboxes.paypal(action="capture_outcome", outcome="DECLINED", count=1)
        oid = order_id()
        first = await initiate(core, order_id=oid, **PAYPAL)
        await sandboxes.approve(first.checkout.approve_url)
        declined = await core.payments.verify(CUSTOMER, VerifyCommand(str(first.payment.id)))
        assert (declined.status, declined.attempt_count) == (S.FAILED, 1)

        retried = await initiate(core, order_id=oid, **PAYPAL)
        payment = retried.payment
        assert payment.gateway_order_id != first.checkout.gateway_order_id
        assert (payment.status, payment.gateway_payment_id) == (S.INITIATED, None)
        assert retried.checkout.approve_url != first.checkout.approve_url
        assert attempts(payment) == [(PP, "created"), (PP, "created")]
        assert await orders(sandboxes) == (0, 2)
        await sandboxes.approve(retried.checkout.approve_url)
        verified = await core.payments.verify(CUSTOMER, VerifyCommand(str(payment.id)))
        assert verified.status is S.COMPLETED
        assert (await initiate(core, order_id=oid, **PAYPAL)).payment.gateway_order_id == (
            payment.gateway_order_id
        )

    async def test_a_paypal_refusal_before_any_capture_keeps_the_order(self, core, sandboxes):
        await sandboxes.paypal(
            action="fail",
            path="/v2/checkout/orders/*/capture",
            status=422,
            count=1,
        )
        oid = order_id()
        first = await initiate(core, order_id=oid, **PAYPAL)
        await sandboxes.approve(first.checkout.approve_url)
        with pytest.raises(GatewayRejectedError):
            await core.payments.verify(CUSTOMER, VerifyCommand(str(first.payment.id)))
        retried = await initiate(core, order_id=oid, **PAYPAL)
        assert retried.payment.gateway_order_id == first.checkout.gateway_order_id
        assert await orders(sandboxes) == (0, 1)


class TestFallback:
    async def test_a_usd_card_moves_to_paypal_when_razorpay_is_unavailable(self, core, sandboxes):
        await sandboxes.razorpay(
            action="fault", path="/v1/orders", method="POST", status=503, count=10
        )
        initiated = await initiate(core, **USD_CARD)
        assert (initiated.checkout.gateway, initiated.payment.gateway) == (PP, PP)
        assert initiated.checkout.approve_url
        assert attempts(initiated.payment) == [(RZP, "unavailable"), (PP, "created")]
        assert initiated.payment.timeline[-1].note == (
            "order created on PAYPAL after RAZORPAY unavailable"
        )
        assert await orders(sandboxes) == (0, 1)

    async def test_an_open_breaker_skips_razorpay_without_calling_it(self, core, sandboxes):
        breaker = core.gateways.breakers[RZP]
        while not breaker.open:
            breaker.record_failure()
        before = (await sandboxes.razorpay())["counts"]
        initiated = await initiate(core, **USD_CARD)
        assert initiated.checkout.gateway is PP
        skipped = initiated.payment.gateway_attempts[0]
        assert (skipped.gateway, skipped.outcome, skipped.detail) == (
            RZP,
            "skipped",
            "circuit open",
        )
        assert attempts(initiated.payment) == [(RZP, "skipped"), (PP, "created")]
        assert (await sandboxes.razorpay())["counts"] == before

    async def test_inr_has_nowhere_to_fall_back(self, core, sandboxes):
        await sandboxes.razorpay(
            action="fault", path="/v1/orders", method="POST", status=503, count=10
        )
        oid = order_id()
        with pytest.raises(GatewayUnavailableError, match="no gateway"):
            await initiate(core, order_id=oid, amount="40.00")
        payment = await Payment.find_one({"order_id": oid})
        assert (payment.status, payment.order_lease_until) == (S.PENDING, None)
        assert attempts(payment) == [(RZP, "unavailable")]
        assert await orders(sandboxes) == (0, 0)

    async def test_a_rejection_does_not_fall_back(self, core, sandboxes):
        await sandboxes.razorpay(
            action="fault", path="/v1/orders", method="POST", status=400, count=1
        )
        oid = order_id()
        with pytest.raises(GatewayRejectedError):
            await initiate(core, order_id=oid, **USD_CARD)
        payment = await Payment.find_one({"order_id": oid})
        assert attempts(payment) == [(RZP, "rejected")]
        assert await orders(sandboxes) == (0, 0)

    async def test_an_unknown_outcome_does_not_fall_back_and_a_repeat_resumes(
        self, core, sandboxes
    ):
        # The order is made but its answer comes after the suite's 2 s read timeout, and so
        # does the adapter's lookup by receipt right after: Razorpay may hold an order. (A new
        # payment's first create does not look before it creates, so that lookup is the
        # first GET.)
        for fault in (
            {"path": "/v1/orders", "method": "POST", "phase": "after", "delay": 4},
            {"path": "/v1/orders", "method": "GET", "phase": "before", "delay": 4},
        ):
            await sandboxes.razorpay(action="fault", **fault)
        oid = order_id()
        with pytest.raises(GatewayUnavailableError, match="did not answer"):
            await initiate(core, order_id=oid, **USD_CARD)
        payment = await Payment.find_one({"order_id": oid})
        assert (payment.status, payment.order_lease_until) == (S.PENDING, None)
        assert attempts(payment) == [(RZP, "unknown")]
        await sandboxes.razorpay(action="clear_faults")
        resumed = await initiate(core, order_id=oid, **USD_CARD)
        assert resumed.checkout.gateway is RZP
        assert await orders(sandboxes) == (1, 0)
