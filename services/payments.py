"""Payments: the only writer of a payment's status and money fields.

Every change goes through `models.transitions.decide` and is a compare-and-set on the payment's
version (a lost race re-reads and decides again), appends to the timeline with its source, and
publishes a change notice for subscribers. Gateway calls happen outside any database write.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from beanie import PydanticObjectId, SortDirection
from beanie.odm.utils.encoder import Encoder
from bson import ObjectId
from bson.errors import InvalidId
from pymongo.errors import DuplicateKeyError

from gateways.base import (
    CheckoutProof,
    CreateOrderRequest,
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
from gateways.policy import CircuitOpen
from gateways.registry import GatewayRegistry
from models.clock import utcnow
from models.common import TimelineEntry
from models.enums import PaymentMethodType, PaymentStatus, TransitionSource
from models.errors import (
    DomainError,
    DuplicateOrder,
    GatewayRejectedError,
    GatewayUnavailableError,
    InvalidSignature,
    InvalidState,
    MaxAttemptsExceeded,
    PaymentNotFound,
    SavedMethodNotFound,
    TargetNotFound,
    UnsupportedPaymentMethod,
    ValidationFailed,
)
from models.money import SUPPORTED_CURRENCIES, Money
from models.payment import CheckoutParams, ClientMetadata, GatewayAttempt, MethodDetails, Payment
from models.saved_method import SavedPaymentMethod
from models.transitions import (
    CAPTURED_PAYMENT_STATUSES,
    UNPAID_CLOSED_STATUSES,
    Apply,
    Noop,
    PaymentEvent,
    Reject,
    decide,
)
from services import catalog
from services.auth import Principal
from services.events import ChangeNotice, EventBus, payment_channel
from services.kit import may_see, object_id
from services.observers import ChangeObserver, NullObserver
from services.ratelimit import RateLimiter
from services.saved_methods import SavedMethodService

log = logging.getLogger("paygraph.payments")

_ENCODER = Encoder()
_LEASE = timedelta(seconds=30)
_CAS_ATTEMPTS = 8
MAX_PAGE = 100

# Statuses after which a live status subscription has nothing more to say.
SUBSCRIPTION_END = frozenset(
    {
        PaymentStatus.COMPLETED,
        PaymentStatus.CANCELLED,
        PaymentStatus.EXPIRED,
        PaymentStatus.REFUNDED,
    }
)


@dataclass(frozen=True, slots=True)
class InitiateCommand:
    order_id: str
    amount: str
    currency: str = "INR"
    method: PaymentMethodType = PaymentMethodType.CARD
    saved_method_id: str | None = None
    installments: int = 1
    bank: str | None = None
    wallet: str | None = None
    vpa: str | None = None
    notes: str | None = None


@dataclass(frozen=True, slots=True)
class VerifyCommand:
    payment_id: str
    gateway_payment_id: str | None = None
    signature: str | None = None
    save_method: bool = False


@dataclass(frozen=True, slots=True)
class Initiated:
    payment: Payment
    checkout: CheckoutParams


@dataclass(frozen=True, slots=True)
class PaymentPage:
    items: list[Payment]
    has_next_page: bool

    @property
    def cursors(self) -> list[str]:
        return [_encode_cursor(item) for item in self.items]

    @property
    def end_cursor(self) -> str | None:
        return _encode_cursor(self.items[-1]) if self.items else None


@dataclass(frozen=True, slots=True)
class PaymentPolicy:
    max_attempts: int = 3
    timeout_minutes: int = 60
    wait_for_peer_seconds: float = 15.0


@dataclass
class _Validated:
    money: Money
    method: PaymentMethodType
    details: MethodDetails
    installments: int
    saved_method_id: PydanticObjectId | None
    notes: dict[str, str] = field(default_factory=dict)


class PaymentService:
    def __init__(
        self,
        gateways: GatewayRegistry,
        events: EventBus,
        policy: PaymentPolicy,
        *,
        limiter: RateLimiter | None = None,
        saved_methods: SavedMethodService | None = None,
        observer: ChangeObserver | None = None,
    ) -> None:
        self._observer = observer or NullObserver()  # metrics; told after each applied write
        self._limiter = limiter
        self._saved_methods = saved_methods  # verifyPayment(saveMethod: true) saves through it
        self._gateways = gateways
        self._events = events
        self._policy = policy

    # -- reads ---------------------------------------------------------------------------

    async def get(self, principal: Principal, payment_id: str) -> Payment:
        """The payment if the caller may see it; another customer's id is PaymentNotFound."""
        payment = await Payment.get(
            object_id(payment_id, otherwise=PaymentNotFound("payment not found", field="id"))
        )
        if payment is None or not may_see(principal, payment.customer_id):
            raise PaymentNotFound("payment not found", field="id")
        return payment

    async def list_payments(
        self,
        principal: Principal,
        *,
        first: int = 20,
        after: str | None = None,
        status: PaymentStatus | None = None,
        customer_id: str | None = None,
    ) -> PaymentPage:
        """Newest first, cursor-paginated; customers see only their own payments."""
        if not 1 <= first <= MAX_PAGE:
            raise ValidationFailed(f"first must be between 1 and {MAX_PAGE}", field="first")
        query: dict[str, Any] = {}
        if principal.is_admin:
            if customer_id:
                query["customer_id"] = customer_id
        else:
            query["customer_id"] = principal.customer_id
        if status is not None:
            query["status"] = status.value
        if after:
            created, oid = _decode_cursor(after)
            query["$or"] = [
                {"created_at": {"$lt": created}},
                {"created_at": created, "_id": {"$lt": oid}},
            ]
        found = (
            await Payment.find(query)
            .sort([("created_at", SortDirection.DESCENDING), ("_id", SortDirection.DESCENDING)])
            .limit(first + 1)
            .to_list()
        )
        return PaymentPage(items=found[:first], has_next_page=len(found) > first)

    async def watch(self, principal: Principal, payment_id: str) -> AsyncIterator[Payment]:
        """The current payment, then every change, ending after a final status. Ownership is
        checked before anything is yielded; changes from any process arrive via Redis."""
        payment = await self.get(principal, payment_id)
        last_version = -1
        async for _notice in self._events.listen(payment_channel(str(payment.id))):
            current = await Payment.get(payment.id)
            if current is None:
                return
            if current.version > last_version:
                last_version = current.version
                yield current
                if self.is_subscription_end(current, self._policy.max_attempts):
                    return

    # -- initiate ------------------------------------------------------------------------

    async def initiate(
        self, principal: Principal, command: InitiateCommand, client: ClientMetadata
    ) -> Initiated:
        """Create (or return, for an identical repeat) the payment for (customer, orderId) and
        its gateway order. At most one gateway order per payment, whatever the concurrency."""
        payment = await self._initiate(principal, command, client)
        if payment.checkout is None:
            raise GatewayUnavailableError(
                "the gateway order is still being created; repeat the request"
            )
        checkout = payment.checkout
        if payment.saved_method_id is not None and self._saved_methods is not None:
            # The saved method's gateway token goes to the checkout in this answer only; at
            # rest it stays encrypted on the saved method, never copied onto the payment.
            _, token = await self._saved_methods.checkout_token(
                principal, str(payment.saved_method_id)
            )
            checkout = checkout.model_copy(update={"saved_token": token})
        return Initiated(payment, checkout)

    async def _initiate(
        self, principal: Principal, command: InitiateCommand, client: ClientMetadata
    ) -> Payment:
        if self._limiter is not None:
            await self._limiter.hit(
                f"ip:{client.ip or 'unknown'}", f"customer:{principal.customer_id}"
            )
        valid = await self._validate(principal, command)
        candidates = self._route(valid)
        fingerprint = _fingerprint(command, valid)
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
            metadata=client,
            request_fingerprint=fingerprint,
            created_at=now,
            updated_at=now,
            expires_at=now + timedelta(minutes=self._policy.timeout_minutes),
            order_lease_until=now + _LEASE,
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
            await payment.insert()
        except DuplicateKeyError:
            return await self._repeat(principal, command.order_id, fingerprint, candidates)
        await self._publish(payment)
        return await self._create_gateway_order(payment, candidates)

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
                raise InvalidState(
                    f"the payment for this order is {existing.status.value.lower()}",
                )
            if existing.checkout is not None or existing.status is not PaymentStatus.PENDING:
                return existing
            # Another request holds the lease and is creating the gateway order: wait for it,
            # or take over once its lease lapses (it crashed or timed out).
            lease = existing.order_lease_until
            if lease is None or lease <= utcnow():
                taken = await self._take_lease(existing)
                if taken is not None:
                    return await self._create_gateway_order(taken, candidates)
            if asyncio.get_running_loop().time() > deadline:
                return existing
            await asyncio.sleep(0.05)
            reread = await Payment.get(existing.id)
            assert reread is not None
            existing = reread

    async def _retry(self, payment: Payment, principal: Principal) -> Payment:
        if payment.attempt_count >= self._policy.max_attempts:
            raise MaxAttemptsExceeded(
                max_attempts=self._policy.max_attempts,
                message=f"this order failed {payment.attempt_count} times; start a new order",
            )
        if payment.checkout is None:
            taken = await self._take_lease(payment)
            if taken is None:
                return payment
            return await self._create_gateway_order(taken, self._route_for(taken))
        return await self._transition(
            payment,
            PaymentEvent.RETRIED,
            TransitionSource.API,
            actor=principal.customer_id,
            note="customer retries",
            set_fields={"error_code": None, "error_message": None},
        )

    async def _take_lease(self, payment: Payment) -> Payment | None:
        until = utcnow() + _LEASE
        taken = await self._cas(payment, {"order_lease_until": until})
        return taken

    async def _create_gateway_order(
        self, payment: Payment, candidates: Sequence[PaymentGateway]
    ) -> Payment:
        attempts: list[GatewayAttempt] = []
        for adapter in candidates:
            request = CreateOrderRequest(
                reference=str(payment.id),
                amount_minor=payment.amount.amount_minor,
                currency=payment.currency,
                method=catalog.method_kind(payment.method_type),
                notes={"payment_id": str(payment.id), "order_id": payment.order_id},
                customer_id=payment.customer_id,
            )
            try:
                order = await adapter.create_order(request)
            except CircuitOpen:
                attempts.append(
                    GatewayAttempt(gateway=adapter.name, outcome="skipped", detail="circuit open")
                )
                continue
            except GatewayUnavailable as exc:
                attempts.append(
                    GatewayAttempt(gateway=adapter.name, outcome="unavailable", detail=exc.message)
                )
                continue  # nothing was created there: the next candidate may take it
            except GatewayOutcomeUnknown as exc:
                attempts.append(
                    GatewayAttempt(gateway=adapter.name, outcome="unknown", detail=exc.message)
                )
                await self._record_attempts(payment, attempts, release_lease=True)
                raise GatewayUnavailableError(
                    "the gateway did not answer; repeat initiatePayment with the same "
                    "parameters to resume (no second order will be created)"
                ) from None
            except GatewayRejected as exc:
                attempts.append(
                    GatewayAttempt(gateway=adapter.name, outcome="rejected", detail=exc.message)
                )
                # Counted as a failed attempt even when the payment is FAILED already (a retry
                # rejected again), so MAX_ATTEMPTS_EXCEEDED is reached.
                recorded = await self._cas(
                    payment,
                    {
                        "gateway_attempts": [*payment.gateway_attempts, *attempts],
                        "order_lease_until": None,
                    },
                )
                await self._failed_attempt(
                    recorded or await self._reload(payment),
                    TransitionSource.API,
                    None,
                    code=exc.gateway_code,
                    reason=f"{adapter.name} rejected the order: {exc.reason or exc.message}",
                )
                raise GatewayRejectedError(
                    exc.reason or exc.message, gateway_code=exc.gateway_code
                ) from None
            attempts.append(
                GatewayAttempt(gateway=adapter.name, outcome="created", detail=order.id)
            )
            checkout = CheckoutParams(
                gateway=adapter.name,
                key_id=adapter.public_key,
                gateway_order_id=order.id,
                amount_minor=order.amount_minor,
                currency=order.currency,
                approve_url=order.approve_url,
            )
            event = (
                PaymentEvent.ORDER_CREATED
                if payment.status is PaymentStatus.PENDING
                else PaymentEvent.RETRIED
            )
            note = f"order created on {adapter.name}"
            if len(attempts) > 1:
                note += " after " + ", ".join(f"{a.gateway} {a.outcome}" for a in attempts[:-1])
            return await self._transition(
                payment,
                event,
                TransitionSource.API,
                note=note,
                set_fields={
                    "gateway": adapter.name,
                    "gateway_order_id": order.id,
                    "receipt": str(payment.id),
                    "checkout": checkout,
                    "gateway_attempts": [*payment.gateway_attempts, *attempts],
                    "order_lease_until": None,
                },
            )
        await self._record_attempts(payment, attempts, release_lease=True)
        raise GatewayUnavailableError(
            "no gateway that takes this method and currency is reachable; try again shortly"
        )

    async def _record_attempts(
        self, payment: Payment, attempts: list[GatewayAttempt], *, release_lease: bool
    ) -> None:
        fields: dict[str, Any] = {"gateway_attempts": [*payment.gateway_attempts, *attempts]}
        if release_lease:
            fields["order_lease_until"] = None
        await self._cas(payment, fields)

    # -- verify --------------------------------------------------------------------------

    async def verify(self, principal: Principal, command: VerifyCommand) -> Payment:
        """Check the browser's proof against the gateway and move the payment on. Verifying an
        already completed payment returns it unchanged."""
        payment = await self.get(principal, command.payment_id)
        if payment.status in CAPTURED_PAYMENT_STATUSES:
            return payment
        if payment.status in UNPAID_CLOSED_STATUSES:
            raise InvalidState(f"the payment is {payment.status.value.lower()}")
        if (
            payment.status is PaymentStatus.FAILED
            and payment.attempt_count >= self._policy.max_attempts
        ):
            raise InvalidState("the payment failed for good; start a new order")
        if payment.gateway is None or payment.gateway_order_id is None:
            raise InvalidState("the payment has no gateway order yet")
        adapter = self._gateways.get(payment.gateway)
        actor = principal.customer_id
        if payment.gateway is Gateway.PAYPAL:
            return await self._verify_paypal(payment, actor)
        return await self._verify_razorpay(payment, adapter, command, actor)

    async def _verify_razorpay(
        self, payment: Payment, adapter: PaymentGateway, command: VerifyCommand, actor: str
    ) -> Payment:
        if not command.gateway_payment_id:
            raise ValidationFailed("gatewayPaymentId is required", field="gatewayPaymentId")
        assert payment.gateway_order_id is not None
        if command.signature is not None:
            proof = CheckoutProof(
                payment.gateway_order_id, command.gateway_payment_id, command.signature
            )
            if not adapter.verify_checkout(proof):
                await self._failed_attempt(
                    payment,
                    TransitionSource.API,
                    actor,
                    code="INVALID_SIGNATURE",
                    reason="checkout signature did not verify",
                )
                raise InvalidSignature("the payment signature does not match this order")
        try:
            found = await adapter.fetch_payment(command.gateway_payment_id or "")
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
        """Feed what the gateway says about one payment attempt through the state machine
        (API verify, webhooks and reconciliation all come here)."""
        ids = {"gateway_payment_id": found.id}
        match found.status:
            case GatewayPaymentStatus.CAPTURED | GatewayPaymentStatus.REFUNDED:
                return await self._transition(
                    payment,
                    PaymentEvent.CAPTURED,
                    source,
                    actor=actor,
                    gateway_event_id=gateway_event_id,
                    gateway_payment_id=found.id,
                    set_fields={**ids, "error_code": None, "error_message": None},
                )
            case GatewayPaymentStatus.AUTHORIZED:
                authorized = await self._transition(
                    payment,
                    PaymentEvent.AUTHORIZED,
                    source,
                    actor=actor,
                    gateway_event_id=gateway_event_id,
                    gateway_payment_id=found.id,
                    set_fields=ids,
                )
                if not capture or authorized.status is not PaymentStatus.AUTHORIZED:
                    return authorized
                return await self._capture(authorized, found, source, actor)
            case GatewayPaymentStatus.FAILED:
                return await self._failed_attempt(
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
            case _:
                return (
                    payment  # created/pending at the gateway: a webhook or reconciliation follows
                )

    async def _capture(
        self, payment: Payment, found: GatewayPayment, source: TransitionSource, actor: str | None
    ) -> Payment:
        assert payment.gateway is not None and payment.gateway_order_id is not None
        adapter = self._gateways.get(payment.gateway)
        try:
            captured = await adapter.capture(
                payment.gateway_order_id or "",
                found.id,
                payment.amount.amount_minor,
                payment.currency,
            )
        except (GatewayUnavailable, GatewayOutcomeUnknown, GatewayRejected) as exc:
            log.warning("capture of %s failed (%s); reconciliation will retry", payment.id, exc)
            return payment
        return await self.apply_gateway_payment(payment, captured, source, actor=actor)

    async def _failed_attempt(
        self,
        payment: Payment,
        source: TransitionSource,
        actor: str | None,
        *,
        code: str | None,
        reason: str,
        gateway_event_id: str | None = None,
        gateway_payment_id: str | None = None,
    ) -> Payment:
        """One more failed attempt; the payment is FAILED (retryable until max attempts)."""
        for _ in range(_CAS_ATTEMPTS):
            if any(
                e.event is PaymentEvent.FAILED
                and (
                    (gateway_event_id and e.gateway_event_id == gateway_event_id)
                    or (gateway_payment_id and e.gateway_payment_id == gateway_payment_id)
                )
                for e in payment.timeline
            ):
                return payment  # this failed attempt was already counted
            decision = decide(payment.status, PaymentEvent.FAILED)
            if isinstance(decision, Reject):
                raise InvalidState(decision.reason)
            # A failed attempt is counted whenever its event arrives, even after a later
            # attempt succeeded, so the count does not depend on delivery order; only the
            # status follows the state machine.
            to = decision.to if isinstance(decision, Apply) else payment.status
            fields: dict[str, Any] = {}
            if to is PaymentStatus.FAILED:
                fields = {"error_code": code, "error_message": reason}
                if gateway_payment_id:
                    fields["gateway_payment_id"] = gateway_payment_id
            entry = TimelineEntry(
                from_status=payment.status,
                to_status=to,
                event=PaymentEvent.FAILED,
                source=source,
                gateway_event_id=gateway_event_id,
                gateway_payment_id=gateway_payment_id,
                actor=actor,
                note=f"attempt {payment.attempt_count + 1} failed: {reason}",
            )
            fields["status"] = to
            updated = await self._cas(payment, fields, entry=entry, inc_attempts=True)
            if updated is not None:
                self._observe(updated, entry, failed_attempt=True)
                await self._publish(updated)
                return updated
            payment = await self._reload(payment)
        raise InvalidState("the payment is changing too fast; try again")

    # -- cancel and expiry ---------------------------------------------------------------

    async def cancel(self, principal: Principal, payment_id: str) -> Payment:
        payment = await self.get(principal, payment_id)
        if payment.status not in (
            PaymentStatus.PENDING,
            PaymentStatus.INITIATED,
            PaymentStatus.CANCELLED,
        ):
            raise InvalidState(
                f"only a pending or initiated payment can be cancelled; this one is {payment.status.value}"
            )
        return await self._transition(
            payment,
            PaymentEvent.CANCELLED,
            TransitionSource.API,
            actor=principal.customer_id,
            note="cancelled by the customer",
        )

    async def expire_stale(self, *, now: datetime | None = None, limit: int = 500) -> int:
        """Mark EXPIRED every unpaid payment past its expiry time; returns how many."""
        now = now or utcnow()
        stale = (
            await Payment.find(
                {
                    "status": {
                        "$in": [
                            PaymentStatus.PENDING.value,
                            PaymentStatus.INITIATED.value,
                            PaymentStatus.FAILED.value,
                        ]
                    },
                    "expires_at": {"$lte": now},
                }
            )
            .limit(limit)
            .to_list()
        )
        expired = 0
        for payment in stale:
            try:
                result = await self._transition(
                    payment,
                    PaymentEvent.EXPIRED,
                    TransitionSource.EXPIRY,
                    actor="expiry",
                    note=f"unpaid after {self._policy.timeout_minutes} minutes",
                )
            except InvalidState:
                continue  # it moved on (paid) meanwhile
            expired += result.status is PaymentStatus.EXPIRED
        return expired

    # -- the one write path --------------------------------------------------------------

    async def _transition(
        self,
        payment: Payment,
        event: PaymentEvent,
        source: TransitionSource,
        *,
        actor: str | None = None,
        note: str | None = None,
        gateway_event_id: str | None = None,
        gateway_payment_id: str | None = None,
        set_fields: Mapping[str, Any] | None = None,
        inc_attempts: bool = False,
    ) -> Payment:
        """Decide, compare-and-set, append the timeline, publish. Noop returns the payment as
        it is; Reject raises InvalidState."""
        for _ in range(_CAS_ATTEMPTS):
            decision = decide(payment.status, event)
            if isinstance(decision, Noop):
                return payment
            if isinstance(decision, Reject):
                raise InvalidState(decision.reason)
            entry = TimelineEntry(
                from_status=payment.status,
                to_status=decision.to,
                event=event,
                source=source,
                gateway_event_id=gateway_event_id,
                gateway_payment_id=gateway_payment_id,
                actor=actor,
                note=note,
            )
            fields = {**(set_fields or {}), "status": decision.to}
            updated = await self._cas(payment, fields, entry=entry, inc_attempts=inc_attempts)
            if updated is not None:
                self._observe(updated, entry, failed_attempt=inc_attempts)
                await self._publish(updated)
                return updated
            payment = await self._reload(payment)
        raise InvalidState("the payment is changing too fast; try again")

    async def _cas(
        self,
        payment: Payment,
        fields: Mapping[str, Any],
        *,
        entry: TimelineEntry | None = None,
        inc_attempts: bool = False,
    ) -> Payment | None:
        """Write `fields` if the payment is still at the version we read; None if we lost."""
        now = utcnow()
        changes = {**fields, "updated_at": now}
        update: dict[str, Any] = {
            "$set": {key: _ENCODER.encode(value) for key, value in changes.items()},
            "$inc": {"version": 1, **({"attempt_count": 1} if inc_attempts else {})},
        }
        if entry is not None:
            update["$push"] = {"timeline": _ENCODER.encode(entry)}
        result = await Payment.get_pymongo_collection().update_one(
            {"_id": payment.id, "version": payment.version}, update
        )
        if result.modified_count != 1:
            return None
        local: dict[str, Any] = {
            **changes,
            "version": payment.version + 1,
            "attempt_count": payment.attempt_count + (1 if inc_attempts else 0),
        }
        if entry is not None:
            local["timeline"] = [*payment.timeline, entry]
        return cast(Payment, payment.model_copy(update=local))

    async def _reload(self, payment: Payment) -> Payment:
        fresh = await Payment.get(payment.id)
        if fresh is None:
            raise PaymentNotFound("payment not found")
        return fresh

    def _observe(self, payment: Payment, entry: TimelineEntry, *, failed_attempt: bool) -> None:
        if entry.to_status is not entry.from_status:
            self._observer.payment_transitioned(payment, entry.to_status, entry.at)
        if failed_attempt:
            self._observer.payment_attempt_failed(payment)

    async def _publish(self, payment: Payment) -> None:
        await self._events.publish(
            payment_channel(str(payment.id)),
            ChangeNotice(str(payment.id), payment.status.value, payment.version),
        )

    # -- validation and routing ----------------------------------------------------------

    async def _validate(self, principal: Principal, command: InitiateCommand) -> _Validated:
        if not catalog.ORDER_ID_RE.match(command.order_id or ""):
            raise ValidationFailed(
                "orderId must be 1-50 letters, digits, '-' or '_'", field="orderId"
            )
        currency = (command.currency or "").upper()
        if currency not in SUPPORTED_CURRENCIES:
            raise ValidationFailed(
                f"currency {command.currency!r} is not supported", field="currency"
            )
        money = Money.parse(command.amount, currency, field="amount")
        method = command.method
        details = MethodDetails()
        if method is PaymentMethodType.UPI and command.vpa is not None:
            if not catalog.VPA_RE.match(command.vpa):
                raise ValidationFailed("vpa must look like name@bank", field="vpa")
            details = MethodDetails(vpa=command.vpa.lower())
        if command.bank is not None:
            if method is not PaymentMethodType.NETBANKING:
                raise ValidationFailed("bank is only for NETBANKING", field="bank")
            if command.bank not in catalog.NETBANKING_BANKS:
                raise ValidationFailed("bank must be a code from netbankingBanks", field="bank")
            details = MethodDetails(bank=command.bank)
        if command.wallet is not None:
            if method is not PaymentMethodType.WALLET:
                raise ValidationFailed("wallet is only for WALLET", field="wallet")
            if command.wallet not in catalog.WALLETS:
                raise ValidationFailed(
                    "wallet must be one of the supported wallets", field="wallet"
                )
            details = MethodDetails(wallet=command.wallet)
        if command.vpa is not None and method is not PaymentMethodType.UPI:
            raise ValidationFailed("vpa is only for UPI", field="vpa")
        installments = command.installments
        if installments < 1:
            raise ValidationFailed("installments must be at least 1", field="installments")
        if installments > 1:
            if method is not PaymentMethodType.EMI:
                raise ValidationFailed(
                    "installments above 1 need the EMI method", field="installments"
                )
            if installments not in catalog.EMI_TENURES:
                raise ValidationFailed(
                    f"EMI tenure must be one of {', '.join(map(str, catalog.EMI_TENURES))} months",
                    field="installments",
                )
        if method is PaymentMethodType.EMI and money.amount_minor < catalog.EMI_MIN_MINOR:
            raise ValidationFailed("EMI needs an amount of at least 2500.00 INR", field="amount")
        notes: dict[str, str] = {}
        if command.notes is not None:
            if len(command.notes) > catalog.NOTES_MAX_LENGTH:
                raise ValidationFailed(
                    f"notes may hold at most {catalog.NOTES_MAX_LENGTH} characters", field="notes"
                )
            notes = {"note": command.notes}
        saved_method_id = None
        if command.saved_method_id is not None:
            saved = await SavedPaymentMethod.get(
                object_id(
                    command.saved_method_id,
                    otherwise=ValidationFailed(
                        "savedMethodId is not a valid id", field="savedMethodId"
                    ),
                )
            )
            if saved is None or saved.customer_id != principal.customer_id:
                raise SavedMethodNotFound("saved method not found", field="savedMethodId")
            if saved.method_type is not method:
                raise ValidationFailed(
                    "the saved method is not of this payment method", field="savedMethodId"
                )
            saved_method_id = saved.id
        return _Validated(money, method, details, installments, saved_method_id, notes)

    def _route(self, valid: _Validated) -> list[PaymentGateway]:
        candidates = self._candidates(valid.method, valid.money)
        if not candidates:
            raise UnsupportedPaymentMethod(
                f"{valid.method.value} is not available in {valid.money.currency}",
                field="paymentMethod",
            )
        minimum = min(catalog.GATEWAY_MIN_MINOR[a.name] for a in candidates)
        if valid.money.amount_minor < minimum:
            raise ValidationFailed(
                f"amount is below the gateway minimum of {Money(amount_minor=minimum, currency=valid.money.currency).to_decimal_string()}",
                field="amount",
            )
        return candidates

    def _route_for(self, payment: Payment) -> list[PaymentGateway]:
        return self._candidates(payment.method_type, payment.amount)

    def _candidates(self, method: PaymentMethodType, money: Money) -> list[PaymentGateway]:
        """Gateways that take this method in this currency, preferred first. An amount under a
        gateway's minimum is the caller's validation problem, not a routing one."""
        kind = catalog.method_kind(method)
        return [
            self._gateways.get(name)
            for name in catalog.ROUTES[method]
            if name in self._gateways
            and self._gateways.get(name).supports(
                kind, money.currency, max(money.amount_minor, catalog.GATEWAY_MIN_MINOR[name])
            )
        ]

    def supported_methods(self, currency: str, amount: str | None) -> list[catalog.MethodOption]:
        """What the checkout should offer for this currency (and amount, when known)."""
        currency = currency.upper()
        if currency not in SUPPORTED_CURRENCIES:
            raise ValidationFailed(f"currency {currency!r} is not supported", field="currency")
        money = Money.parse(amount, currency) if amount is not None else None
        options = []
        for method in PaymentMethodType:
            probe = money or Money(
                amount_minor=catalog.EMI_MIN_MINOR if method is PaymentMethodType.EMI else 10_000,
                currency=currency,
            )
            candidates = self._candidates(method, probe)
            if not candidates:
                continue
            if (
                money is not None
                and money.amount_minor < catalog.GATEWAY_MIN_MINOR[candidates[0].name]
            ):
                continue
            if method is PaymentMethodType.EMI and probe.amount_minor < catalog.EMI_MIN_MINOR:
                continue
            tenures = catalog.EMI_TENURES if method is PaymentMethodType.EMI else ()
            options.append(catalog.MethodOption(method, candidates[0].name, tenures))
        return options

    # -- gateway events (webhooks) -------------------------------------------------------

    async def find_for_event(self, event: GatewayEvent) -> Payment | None:
        """The payment a gateway event is about: by our reference, else by the gateway's ids."""
        if event.reference:
            try:
                found = await Payment.get(PydanticObjectId(ObjectId(event.reference)))
            except (InvalidId, TypeError):
                found = None
            # The reference can come from notes a customer may set: trust it only when the
            # event's gateway order is that payment's order.
            if (
                found is not None
                and found.gateway is event.gateway
                and (not event.order_id or found.gateway_order_id in (None, event.order_id))
            ):
                return found
        if event.order_id:
            found = await Payment.find_one(
                {"gateway": event.gateway.value, "gateway_order_id": event.order_id}
            )
            if found is not None:
                return found
        if event.payment_id:
            return await Payment.find_one(
                {"gateway": event.gateway.value, "gateway_payment_id": event.payment_id}
            )
        return None

    async def apply_gateway_event(self, event: GatewayEvent) -> PydanticObjectId:
        """Apply a verified webhook about a payment through the state machine (source
        WEBHOOK). Raises TargetNotFound while the payment is not in our database yet."""
        payment = await self.find_for_event(event)
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
            ):
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
        status = {
            GatewayEventKind.PAYMENT_AUTHORIZED: GatewayPaymentStatus.AUTHORIZED,
            GatewayEventKind.PAYMENT_CAPTURED: GatewayPaymentStatus.CAPTURED,
            GatewayEventKind.ORDER_PAID: GatewayPaymentStatus.CAPTURED,
            GatewayEventKind.PAYMENT_FAILED: GatewayPaymentStatus.FAILED,
        }.get(event.kind)
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

    @staticmethod
    def is_subscription_end(payment: Payment, max_attempts: int) -> bool:
        if payment.status in SUBSCRIPTION_END:
            return True
        return payment.status is PaymentStatus.FAILED and payment.attempt_count >= max_attempts

    @property
    def max_attempts(self) -> int:
        return self._policy.max_attempts

    # -- reconciliation ------------------------------------------------------------------

    async def capture_approved(
        self,
        payment: Payment,
        source: TransitionSource,
        *,
        actor: str | None = None,
        gateway_event_id: str | None = None,
    ) -> Payment:
        """Capture a PayPal order its buyer approved (verifyPayment, the approval webhook and
        reconciliation all come here). The capture's PayPal-Request-Id makes a repeat a replay.
        Not approved yet: InvalidState. Declined: counted as a failed attempt, then the
        gateway's GatewayRejected is raised for the caller to translate."""
        if payment.gateway is None or payment.gateway_order_id is None:
            raise InvalidState("the payment has no gateway order")
        adapter = self._gateways.get(payment.gateway)
        try:
            captured = await adapter.capture(
                payment.gateway_order_id or "",
                None,
                payment.amount.amount_minor,
                payment.currency,
            )
        except GatewayRejected as exc:
            if exc.gateway_code == "ORDER_NOT_APPROVED":
                raise InvalidState("the buyer has not approved the PayPal order yet") from None
            await self._failed_attempt(
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

    async def expire(
        self, payment: Payment, source: TransitionSource, *, actor: str | None = None, note: str
    ) -> Payment:
        """Close an unpaid payment as EXPIRED (InvalidState if it has moved past that)."""
        return await self._transition(payment, PaymentEvent.EXPIRED, source, actor=actor, note=note)


def _fingerprint(command: InitiateCommand, valid: _Validated) -> str:
    canonical = json.dumps(
        {
            "order_id": command.order_id,
            "amount_minor": valid.money.amount_minor,
            "currency": valid.money.currency,
            "method": valid.method.value,
            "saved_method_id": str(valid.saved_method_id) if valid.saved_method_id else None,
            "installments": valid.installments,
            "details": valid.details.model_dump(),
            "notes": valid.notes,
        },
        sort_keys=True,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _encode_cursor(payment: Payment) -> str:
    raw = f"{payment.created_at.isoformat()}|{payment.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, ObjectId]:
    try:
        created, _, oid = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        return datetime.fromisoformat(created), ObjectId(oid)
    except (ValueError, InvalidId, UnicodeDecodeError):
        raise ValidationFailed("after is not a cursor from this API", field="after") from None
