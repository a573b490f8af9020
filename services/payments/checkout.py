"""Starting a payment. initiatePayment creates the payment for (customer, orderId), or returns it
to an identical repeat; whoever holds the payment's order lease creates its one gateway order on
the first gateway that can take it, moving to the next only when that one certainly created
nothing (rules.falls_back). A timeout after the request was sent leaves the outcome unknown: the
lease is released and a repeat resumes, finding the order the first try may have made."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta

from beanie import PydanticObjectId
from pymongo.errors import DuplicateKeyError

from gateways.base import CreateOrderRequest, Gateway, GatewayRejected, PaymentGateway
from gateways.registry import GatewayRegistry
from models.clock import utcnow
from models.common import TimelineEntry
from models.enums import PaymentMethodType, PaymentStatus, TransitionSource
from models.errors import (
    DuplicateOrder,
    GatewayRejectedError,
    GatewayUnavailableError,
    InvalidState,
    MaxAttemptsExceeded,
    SavedMethodNotFound,
    ValidationFailed,
)
from models.payment import CheckoutParams, ClientMetadata, GatewayAttempt, Payment
from models.saved_method import SavedPaymentMethod
from models.transitions import UNPAID_CLOSED_STATUSES, PaymentEvent
from services import catalog
from services.auth import Principal
from services.payments import rules
from services.payments.store import PaymentStore
from services.payments.types import InitiateCommand, Initiated, PaymentPolicy
from services.ratelimit import RateLimiter
from services.saved_methods import SavedMethodService

# How long one request may hold a payment's order creation before a repeat may take it over.
LEASE = timedelta(seconds=30)


class Checkout:
    def __init__(
        self,
        gateways: GatewayRegistry,
        store: PaymentStore,
        policy: PaymentPolicy,
        *,
        limiter: RateLimiter | None = None,
        saved_methods: SavedMethodService | None = None,
    ) -> None:
        self._gateways = gateways
        self._store = store
        self._policy = policy
        self._limiter = limiter
        self._saved_methods = saved_methods  # a saved method's token goes to the checkout

    async def initiate(
        self, principal: Principal, command: InitiateCommand, client: ClientMetadata
    ) -> Initiated:
        payment = await self._start(principal, command, client)
        if payment.checkout is None:
            raise GatewayUnavailableError(
                "the gateway order is still being created; repeat the request"
            )
        checkout = payment.checkout
        if self._saved_methods is None:
            return Initiated(payment, checkout)
        if payment.saved_method_id is not None:
            # The saved method's gateway token goes to the checkout in this answer only; at
            # rest it stays encrypted on the saved method, never copied onto the payment.
            _, token = await self._saved_methods.checkout_token(
                principal, str(payment.saved_method_id)
            )
            checkout = checkout.model_copy(update={"saved_token": token})
        if checkout.gateway is Gateway.RAZORPAY and payment.method_type is PaymentMethodType.CARD:
            # Razorpay saves a card ("Save this card") and takes a saved card's token only
            # for its customer: ours there, made the first time it is needed.
            customer = await self._saved_methods.gateway_customer(
                checkout.gateway, principal.customer_id
            )
            checkout = checkout.model_copy(update={"customer_id": customer})
        return Initiated(payment, checkout)

    async def _start(
        self, principal: Principal, command: InitiateCommand, client: ClientMetadata
    ) -> Payment:
        if self._limiter is not None:
            await self._limiter.hit(
                f"ip:{client.ip or 'unknown'}", f"customer:{principal.customer_id}"
            )
        valid = rules.validate(command, self._policy.return_origins)
        if valid.saved_method_id is not None:
            await _check_saved_method(principal, valid.saved_method_id, valid.method)
        candidates = rules.route(self._gateways, valid.method, valid.money)
        fingerprint = rules.fingerprint(command.order_id, valid)
        now = utcnow()
        payment = Payment(
            order_id=command.order_id,
            customer_id=principal.customer_id,
            amount=valid.money,
            method_type=valid.method,
            method_details=valid.details,
            installments=valid.installments,
            saved_method_id=valid.saved_method_id,
            notes=valid.notes,
            return_url=valid.return_url,
            cancel_url=valid.cancel_url,
            metadata=client,
            request_fingerprint=fingerprint,
            created_at=now,
            updated_at=now,
            expires_at=now + timedelta(minutes=self._policy.timeout_minutes),
            order_lease_until=now + LEASE,
            timeline=[
                TimelineEntry(
                    at=now,
                    from_status=None,
                    to_status=PaymentStatus.PENDING,
                    source=TransitionSource.API,
                    actor=principal.customer_id,
                    note="payment created",
                )
            ],
        )
        try:
            await self._store.insert(payment)
        except DuplicateKeyError:
            return await self._repeat(principal, command.order_id, fingerprint, candidates)
        # No change notice for the new PENDING record: nobody can be subscribed to an id not
        # answered yet, and a subscription starts by reading the payment as it is.
        # The payment (the order's reference) was made just now: no order can exist for it.
        return await self._create_order(payment, candidates, new_reference=True)

    async def _repeat(
        self,
        principal: Principal,
        order_id: str,
        fingerprint: str,
        candidates: Sequence[PaymentGateway],
    ) -> Payment:
        existing = await Payment.find_one(
            {"customer_id": principal.customer_id, "order_id": order_id}
        )
        if existing is None:  # deleted between insert and read: cannot happen without TTL
            raise InvalidState("the payment for this order is being changed; try again")
        if existing.request_fingerprint != fingerprint:
            raise DuplicateOrder(
                existing_payment_id=str(existing.id),
                message="this order already has a payment with different parameters",
            )
        deadline = asyncio.get_running_loop().time() + self._policy.wait_for_peer_seconds
        while True:
            if existing.status is PaymentStatus.FAILED:
                return await self._retry(existing, principal)
            if existing.status in UNPAID_CLOSED_STATUSES:
                raise InvalidState(f"the payment for this order is {existing.status.value.lower()}")
            if existing.checkout is not None or existing.status is not PaymentStatus.PENDING:
                return existing
            # Another request holds the lease and is creating the gateway order: wait for it,
            # or take over once its lease lapses (it crashed or timed out).
            lease = existing.order_lease_until
            if lease is None or lease <= utcnow():
                taken = await self._take_lease(existing)
                if taken is not None:
                    return await self._create_order(taken, candidates)
            if asyncio.get_running_loop().time() > deadline:
                return existing
            await asyncio.sleep(0.05)
            existing = await self._store.reload(existing)

    async def _retry(self, payment: Payment, principal: Principal) -> Payment:
        if payment.attempt_count >= self._policy.max_attempts:
            raise MaxAttemptsExceeded(
                max_attempts=self._policy.max_attempts,
                message=f"this order failed {payment.attempt_count} times; start a new order",
            )
        if payment.checkout is None or _order_spent(payment):
            taken = await self._take_lease(payment)
            if taken is None:
                return payment
            candidates = rules.candidates(self._gateways, taken.method_type, taken.amount)
            return await self._create_order(taken, candidates)
        return await self._store.transition(
            payment,
            PaymentEvent.RETRIED,
            TransitionSource.API,
            actor=principal.customer_id,
            note="customer retries",
            set_fields={"error_code": None, "error_message": None},
        )

    async def _take_lease(self, payment: Payment) -> Payment | None:
        return await self._store.cas(payment, {"order_lease_until": utcnow() + LEASE})

    async def _create_order(
        self,
        payment: Payment,
        candidates: Sequence[PaymentGateway],
        *,
        new_reference: bool = False,
    ) -> Payment:
        request = CreateOrderRequest(
            reference=str(payment.id),
            amount_minor=payment.amount.amount_minor,
            currency=payment.currency,
            method=catalog.method_kind(payment.method_type),
            notes={"payment_id": str(payment.id), "order_id": payment.order_id},
            customer_id=payment.customer_id,
            return_url=payment.return_url,
            cancel_url=payment.cancel_url,
            # Counted from the orders made so far, so a repeat after an unknown outcome asks
            # for the same order again.
            attempt=1 + sum(a.outcome == "created" for a in payment.gateway_attempts),
            new_reference=new_reference,
        )
        attempts: list[GatewayAttempt] = []
        for adapter in candidates:
            try:
                order = await adapter.create_order(request)
            except rules.ORDER_FAILURES as exc:
                attempts.append(rules.order_attempt(adapter.name, exc))
                if rules.falls_back(exc):
                    continue
                recorded = await self._record_attempts(payment, attempts)
                if isinstance(exc, GatewayRejected):
                    # Counted as a failed attempt even when the payment is FAILED already (a
                    # retry rejected again), so MAX_ATTEMPTS_EXCEEDED is reached.
                    await self._store.failed_attempt(
                        recorded or await self._store.reload(payment),
                        TransitionSource.API,
                        None,
                        code=exc.gateway_code,
                        reason=f"{adapter.name} rejected the order: {exc.reason or exc.message}",
                    )
                    raise GatewayRejectedError(
                        exc.reason or exc.message, gateway_code=exc.gateway_code
                    ) from None
                raise GatewayUnavailableError(
                    "the gateway did not answer; repeat initiatePayment with the same "
                    "parameters to resume (no second order will be created)"
                ) from None
            checkout = CheckoutParams(
                gateway=adapter.name,
                key_id=adapter.public_key,
                gateway_order_id=order.id,
                amount_minor=order.amount_minor,
                currency=order.currency,
                approve_url=order.approve_url,
                script_url=adapter.checkout_script_url,
            )
            created = GatewayAttempt(gateway=adapter.name, outcome="created", detail=order.id)
            return await self._store.transition(
                payment,
                PaymentEvent.ORDER_CREATED
                if payment.status is PaymentStatus.PENDING
                else PaymentEvent.RETRIED,
                TransitionSource.API,
                note=rules.order_note(adapter.name, attempts),
                set_fields={
                    "gateway": adapter.name,
                    "gateway_order_id": order.id,
                    # A new order has no gateway payment yet (a spent order's stays in the
                    # timeline).
                    "gateway_payment_id": None,
                    "receipt": str(payment.id),
                    "checkout": checkout,
                    "gateway_attempts": [*payment.gateway_attempts, *attempts, created],
                    "order_lease_until": None,
                },
            )
        await self._record_attempts(payment, attempts)
        raise GatewayUnavailableError(
            "no gateway that takes this method and currency is reachable; try again shortly"
        )

    async def _record_attempts(
        self, payment: Payment, attempts: list[GatewayAttempt]
    ) -> Payment | None:
        """Keep the failed tries on the payment and release its order lease."""
        return await self._store.cas(
            payment,
            {"gateway_attempts": [*payment.gateway_attempts, *attempts], "order_lease_until": None},
        )


def _order_spent(payment: Payment) -> bool:
    """Whether the payment's gateway order can take no further attempt. A PayPal order is
    captured once (intent CAPTURE): after a declined capture it is COMPLETED at PayPal and a
    retry needs a new order. The failed capture's id on the payment says one was made on this
    order (a new order clears it); a refusal before any capture (INSTRUMENT_DECLINED: the buyer
    approves the same order again with another funding source) leaves it unset."""
    return payment.gateway is Gateway.PAYPAL and payment.gateway_payment_id is not None


async def _check_saved_method(
    principal: Principal, saved_method_id: PydanticObjectId, method: PaymentMethodType
) -> None:
    saved = await SavedPaymentMethod.get(saved_method_id)
    if saved is None or saved.customer_id != principal.customer_id:
        raise SavedMethodNotFound("saved method not found", field="savedMethodId")
    if saved.method_type is not method:
        raise ValidationFailed(
            "the saved method is not of this payment method", field="savedMethodId"
        )
    if saved.expired(utcnow()):
        raise ValidationFailed(
            f"the saved card expired at the end of {saved.expiry_month:02d}/{saved.expiry_year}; "
            "pay with another method or add the card again",
            field="savedMethodId",
        )
