"""The gateway's word fed through the state machine: the browser's proof of payment (verify),
what the gateway says about a payment attempt (verify, webhooks and reconciliation all come to
`apply_gateway_payment`), webhooks, captures, and the failed attempts they report."""

from __future__ import annotations

import contextlib
import logging

from beanie import PydanticObjectId

from gateways.base import (
    CheckoutProof,
    Gateway,
    GatewayEvent,
    GatewayEventKind,
    GatewayOutcomeUnknown,
    GatewayPayment,
    GatewayPaymentStatus,
    GatewayRejected,
    GatewayUnavailable,
    PaymentGateway,
)
from gateways.registry import GatewayRegistry
from models.enums import PaymentStatus, TransitionSource
from models.errors import (
    DomainError,
    GatewayRejectedError,
    GatewayUnavailableError,
    InvalidSignature,
    InvalidState,
    TargetNotFound,
    ValidationFailed,
)
from models.payment import Payment
from models.transitions import CAPTURED_PAYMENT_STATUSES, PaymentEvent
from services.auth import Principal
from services.payments import queries, rules
from services.payments.late import LATE_MONEY, LateMoney
from services.payments.store import PaymentStore
from services.payments.types import PaymentPolicy, VerifyCommand
from services.saved_methods import SavedMethodService

log = logging.getLogger("paygraph.payments")

# What a webhook says about the payment attempt it names (other kinds say nothing about one).
_EVENT_STATUS = {
    GatewayEventKind.PAYMENT_AUTHORIZED: GatewayPaymentStatus.AUTHORIZED,
    GatewayEventKind.PAYMENT_CAPTURED: GatewayPaymentStatus.CAPTURED,
    GatewayEventKind.ORDER_PAID: GatewayPaymentStatus.CAPTURED,
    GatewayEventKind.PAYMENT_FAILED: GatewayPaymentStatus.FAILED,
    GatewayEventKind.PAYMENT_PENDING: GatewayPaymentStatus.PENDING,
    GatewayEventKind.PAYMENT_VOIDED: GatewayPaymentStatus.VOIDED,
}


class PaymentSync:
    def __init__(
        self,
        gateways: GatewayRegistry,
        store: PaymentStore,
        policy: PaymentPolicy,
        late: LateMoney,
        *,
        saved_methods: SavedMethodService | None = None,
    ) -> None:
        self._gateways = gateways
        self._store = store
        self._policy = policy
        self._late = late
        self._saved_methods = saved_methods

    def closed(self, payment: Payment) -> bool:
        return rules.is_closed(payment, self._policy.max_attempts)

    def is_late_money(self, payment: Payment, found: GatewayPayment) -> bool:
        """Whether `found` is money the closed `payment` must treat as late."""
        return self.closed(payment) and found.status in LATE_MONEY

    def adapter(self, gateway: Gateway) -> PaymentGateway:
        return self._gateways.get(gateway)

    # -- verify ----------------------------------------------------------------------------

    async def verify(self, principal: Principal, command: VerifyCommand) -> Payment:
        payment = await queries.get(principal, command.payment_id)
        if payment.status in CAPTURED_PAYMENT_STATUSES:
            return payment
        if payment.gateway is None or payment.gateway_order_id is None:
            if self.closed(payment):
                raise InvalidState(_closed_reason(payment))
            raise InvalidState("the payment has no gateway order yet")
        was_closed = self.closed(payment)
        actor = principal.customer_id
        if payment.gateway is Gateway.PAYPAL:
            if was_closed:
                verified = await self.collect_late(payment, TransitionSource.API, actor=actor)
            else:
                verified = await self._verify_paypal(payment, actor)
        else:
            adapter = self._gateways.get(payment.gateway)
            verified = await self._verify_razorpay(payment, adapter, command, actor)
        if was_closed and verified.status not in CAPTURED_PAYMENT_STATUSES:
            # Asked the gateway first: whatever it held is recorded as late money; the closed
            # payment itself is not revived.
            raise InvalidState(_closed_reason(verified))
        return verified

    async def collect_late(
        self, payment: Payment, source: TransitionSource, *, actor: str | None = None
    ) -> Payment:
        """A closed payment: record whatever its gateway order holds as late money."""
        assert payment.gateway is not None and payment.gateway_order_id is not None
        adapter = self._gateways.get(payment.gateway)
        order_id = payment.gateway_order_id
        try:
            attempts = await adapter.list_order_payments(order_id)
        except (GatewayUnavailable, GatewayOutcomeUnknown):
            raise GatewayUnavailableError("could not ask the gateway about this payment") from None
        for attempt in attempts:
            payment = await self._late.record(payment, attempt, source, actor=actor)
        return payment

    async def _verify_razorpay(
        self, payment: Payment, adapter: PaymentGateway, command: VerifyCommand, actor: str
    ) -> Payment:
        gateway_payment_id = command.gateway_payment_id
        if not gateway_payment_id:
            raise ValidationFailed("gatewayPaymentId is required", field="gatewayPaymentId")
        assert payment.gateway_order_id is not None
        if command.signature is not None:
            proof = CheckoutProof(payment.gateway_order_id, gateway_payment_id, command.signature)
            if not adapter.verify_checkout(proof):
                await self._store.failed_attempt(
                    payment,
                    TransitionSource.API,
                    actor,
                    code="INVALID_SIGNATURE",
                    reason="checkout signature did not verify",
                )
                raise InvalidSignature("the payment signature does not match this order")
        try:
            found = await adapter.fetch_payment(gateway_payment_id)
        except GatewayRejected:
            raise InvalidSignature(
                "the gateway does not know this payment for this order"
            ) from None
        except (GatewayUnavailable, GatewayOutcomeUnknown):
            raise GatewayUnavailableError(
                "could not confirm the payment with the gateway"
            ) from None
        if found.order_id != payment.gateway_order_id:
            raise InvalidSignature("the gateway payment belongs to another order")
        if found.amount_minor != payment.amount.amount_minor or found.currency != payment.currency:
            raise InvalidSignature("the gateway payment's amount or currency differs")
        verified = await self.apply_gateway_payment(
            payment, found, TransitionSource.API, actor=actor, capture=True
        )
        if command.save_method:
            await self._save_method(verified, found)
        return verified

    async def _save_method(self, payment: Payment, found: GatewayPayment) -> None:
        """Keep the card's gateway token once the payment is complete. A convenience on top of
        the payment: when the gateway issued no token, the payment still verifies (the method
        is simply not saved; savePaymentMethod says why)."""
        if self._saved_methods is None or payment.status is not PaymentStatus.COMPLETED:
            return
        try:
            await self._saved_methods.save_from_gateway(payment, found)
        except DomainError as error:
            log.info("payment %s verified; method not saved (%s)", payment.id, error.code)

    async def _verify_paypal(self, payment: Payment, actor: str) -> Payment:
        try:
            return await self.capture_approved(payment, TransitionSource.API, actor=actor)
        except GatewayRejected as exc:
            raise GatewayRejectedError(
                exc.reason or exc.message, gateway_code=exc.gateway_code
            ) from None
        except (GatewayUnavailable, GatewayOutcomeUnknown):
            # The capture carries a PayPal-Request-Id derived from our payment id, so verifying
            # again replays it instead of capturing twice.
            raise GatewayUnavailableError("could not capture with PayPal; verify again") from None

    # -- what the gateway says -------------------------------------------------------------

    async def apply_gateway_payment(
        self,
        payment: Payment,
        found: GatewayPayment,
        source: TransitionSource,
        *,
        actor: str | None = None,
        gateway_event_id: str | None = None,
        capture: bool = False,
    ) -> Payment:
        if self.is_late_money(payment, found):
            return await self._late.record(
                payment, found, source, actor=actor, gateway_event_id=gateway_event_id
            )
        ids = {"gateway_payment_id": found.id}
        try:
            match found.status:
                case (
                    GatewayPaymentStatus.CAPTURED
                    | GatewayPaymentStatus.REFUNDED
                    | GatewayPaymentStatus.REVERSED
                ):
                    # Captured money (a refund or a chargeback of it is a refund of its own).
                    return await self._store.transition(
                        payment,
                        PaymentEvent.CAPTURED,
                        source,
                        actor=actor,
                        gateway_event_id=gateway_event_id,
                        gateway_payment_id=found.id,
                        set_fields={
                            **ids,
                            "captured_minor": found.amount_minor,
                            "error_code": None,
                            "error_message": None,
                        },
                        refuse_if=self.closed,
                    )
                case GatewayPaymentStatus.AUTHORIZED | GatewayPaymentStatus.PENDING:
                    pending = found.status is GatewayPaymentStatus.PENDING
                    authorized = await self._store.transition(
                        payment,
                        PaymentEvent.AUTHORIZED,
                        source,
                        actor=actor,
                        gateway_event_id=gateway_event_id,
                        gateway_payment_id=found.id,
                        set_fields=ids,
                        # A capture under review at PayPal: money is held, not yet ours.
                        note="capture pending review at the gateway" if pending else None,
                        refuse_if=self.closed,
                    )
                    if pending or not capture or authorized.status is not PaymentStatus.AUTHORIZED:
                        return authorized
                    return await self._capture(authorized, found, source, actor)
        except InvalidState:
            fresh = await self._store.reload(payment)
            if self.closed(fresh):  # closed meanwhile (cancel, expiry): this money is late
                return await self._late.record(
                    fresh, found, source, actor=actor, gateway_event_id=gateway_event_id
                )
            raise
        match found.status:
            case GatewayPaymentStatus.VOIDED:
                # The gateway released an authorization nobody captured: if it was the one we
                # hold, the payment ends FAILED with that reason, never COMPLETED.
                if found.id != payment.gateway_payment_id:
                    return payment  # another attempt's, or a late one's: nothing of ours moved
                return await self._store.transition(
                    payment,
                    PaymentEvent.AUTHORIZATION_VOIDED,
                    source,
                    actor=actor,
                    gateway_event_id=gateway_event_id,
                    gateway_payment_id=found.id,
                    note="the gateway released the authorization before it was captured",
                    set_fields={
                        "error_code": "AUTHORIZATION_LAPSED",
                        "error_message": "the authorization lapsed before capture",
                    },
                )
            case GatewayPaymentStatus.FAILED:
                if (
                    payment.status is PaymentStatus.AUTHORIZED
                    and found.id == payment.gateway_payment_id
                ):
                    # We hold this money: its failure is confirmed with the gateway before we
                    # let go of it. A failure delivered late (webhooks are retried) can come
                    # after the authorization that followed it (a bank's late authorization).
                    current = await self._gateways.get(found.gateway).fetch_payment(found.id)
                    if current.status is not GatewayPaymentStatus.FAILED:
                        log.info(
                            "failure of %s for payment %s is stale: the gateway says %s",
                            found.id,
                            payment.id,
                            current.status.value,
                        )
                        return await self.apply_gateway_payment(
                            payment,
                            current,
                            source,
                            actor=actor,
                            gateway_event_id=gateway_event_id,
                        )
                    # The money we held failed (a capture under review was denied).
                    payment = await self._store.transition(
                        payment,
                        PaymentEvent.AUTHORIZATION_VOIDED,
                        source,
                        actor=actor,
                        gateway_event_id=gateway_event_id,
                        gateway_payment_id=found.id,
                        note="the gateway declined the capture it was reviewing",
                    )
                return await self._store.failed_attempt(
                    payment,
                    source,
                    actor,
                    code=found.error_code,
                    reason=found.error_description
                    or found.error_reason
                    or "the payment failed at the gateway",
                    gateway_event_id=gateway_event_id,
                    gateway_payment_id=found.id,
                )
            case _:  # created or pending at the gateway: a webhook or reconciliation follows
                return payment

    async def _capture(
        self, payment: Payment, found: GatewayPayment, source: TransitionSource, actor: str | None
    ) -> Payment:
        assert payment.gateway is not None and payment.gateway_order_id is not None
        adapter = self._gateways.get(payment.gateway)
        try:
            captured = await adapter.capture(
                payment.gateway_order_id, found.id, payment.amount.amount_minor, payment.currency
            )
        except (GatewayUnavailable, GatewayOutcomeUnknown, GatewayRejected) as exc:
            log.warning("capture of %s failed (%s); reconciliation will retry", payment.id, exc)
            return payment
        return await self.apply_gateway_payment(payment, captured, source, actor=actor)

    async def capture_approved(
        self,
        payment: Payment,
        source: TransitionSource,
        *,
        actor: str | None = None,
        gateway_event_id: str | None = None,
    ) -> Payment:
        if payment.gateway is None or payment.gateway_order_id is None:
            raise InvalidState("the payment has no gateway order")
        if self.closed(payment):
            raise InvalidState(_closed_reason(payment))  # never captured by us
        adapter = self._gateways.get(payment.gateway)
        try:
            captured = await adapter.capture(
                payment.gateway_order_id, None, payment.amount.amount_minor, payment.currency
            )
        except GatewayRejected as exc:
            if exc.gateway_code == "ORDER_NOT_APPROVED":
                raise InvalidState("the buyer has not approved the PayPal order yet") from None
            await self._store.failed_attempt(
                payment,
                source,
                actor,
                code=exc.gateway_code,
                reason=exc.reason or exc.message,
                gateway_event_id=gateway_event_id,
            )
            raise
        return await self.apply_gateway_payment(
            payment, captured, source, actor=actor, gateway_event_id=gateway_event_id
        )

    async def apply_gateway_event(self, event: GatewayEvent) -> PydanticObjectId:
        payment = await queries.find_for_event(event)
        if payment is None:
            raise TargetNotFound(
                f"no payment for {event.raw_type} {event.order_id or event.payment_id}"
            )
        assert payment.id is not None
        if (
            event.order_id
            and payment.gateway_order_id
            and event.order_id != payment.gateway_order_id
        ):
            raise InvalidState(
                f"{event.raw_type} is for order {event.order_id}, not this payment's"
            )
        source = TransitionSource.WEBHOOK
        if event.kind is GatewayEventKind.ORDER_APPROVED:
            if payment.status in (
                PaymentStatus.PENDING,
                PaymentStatus.INITIATED,
                PaymentStatus.FAILED,
            ) and not self.closed(payment):
                # A buyer not (yet) approved, or a declined capture (already counted as a
                # failed attempt), leaves nothing more for this event to do.
                with contextlib.suppress(InvalidState, GatewayRejected):
                    await self.capture_approved(
                        payment, source, actor="webhook", gateway_event_id=event.event_id
                    )
            return payment.id
        if (
            event.amount_minor is not None
            and (
                event.amount_minor != payment.amount.amount_minor
                or (event.currency and event.currency != payment.currency)
            )
            and event.kind is not GatewayEventKind.PAYMENT_FAILED
        ):
            raise InvalidState(
                f"{event.raw_type} says {event.amount_minor} {event.currency}, "
                f"the payment is {payment.amount.amount_minor} {payment.currency}"
            )
        status = _EVENT_STATUS.get(event.kind)
        if status is None or not event.payment_id:
            return payment.id
        found = GatewayPayment(
            gateway=event.gateway,
            id=event.payment_id,
            order_id=event.order_id,
            amount_minor=event.amount_minor or payment.amount.amount_minor,
            currency=event.currency or payment.currency,
            status=status,
            error_code=event.error_code,
            error_reason=event.error_reason,
        )
        # An authorized payment the customer never verified is captured here, so the webhook
        # alone completes it.
        await self.apply_gateway_payment(
            payment,
            found,
            source,
            actor="webhook",
            gateway_event_id=event.event_id,
            capture=status is GatewayPaymentStatus.AUTHORIZED,
        )
        return payment.id


def _closed_reason(payment: Payment) -> str:
    closed = payment.status.value.lower()
    if payment.status is PaymentStatus.FAILED:
        closed = "failed for good (no attempts left)"
    if payment.late_payments:
        return (
            f"the payment was {closed} before the money arrived: it is never captured, and "
            "what the gateway took is returned (see latePayments)"
        )
    return f"the payment is {closed}; start a new order"
