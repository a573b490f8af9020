"""Refunds: full and partial, never more than was captured, never twice.

Accepting a refund is one transaction: the amount is reserved on the payment (one conditional
increment: committed + amount <= captured) and the PENDING refund is inserted. The refund is
then handed to a worker job, and the mutation answers: an admin waits for the reservation,
not for the gateway (whose retries back off for up to 30 s). The job sends it to the gateway
with an idempotency key derived from our refund id, so a second job, the sweep of refunds left
PENDING or reconciliation replays it instead of refunding again. Settling moves the reservation
into the refunded total (and the payment to PARTIALLY_REFUNDED or REFUNDED) in one transaction
with the refund's own status change; a failure releases the reservation. Every change is
published, so `refundStatusChanged` shows PENDING -> PROCESSING -> COMPLETED or FAILED live.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, cast

from beanie import PydanticObjectId
from beanie.odm.utils.encoder import Encoder
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from domain.gateways import MIN_AMOUNT_MINOR
from gateways.base import (
    GatewayEvent,
    GatewayEventKind,
    GatewayOutcomeUnknown,
    GatewayRefund,
    GatewayRefundStatus,
    GatewayRejected,
    GatewayUnavailable,
    RefundRequest,
)
from gateways.registry import GatewayRegistry
from models.clock import utcnow
from models.common import RefundTimelineEntry, TimelineEntry
from models.enums import PaymentStatus, RefundReason, RefundStatus, TransitionSource
from models.errors import (
    Forbidden,
    IdempotencyConflict,
    InvalidState,
    PaymentNotFound,
    RefundExceedsCaptured,
    RefundNotFound,
    RefundWindowExpired,
    TargetNotFound,
    ValidationFailed,
)
from models.money import Money
from models.payment import Payment
from models.refund import Refund
from models.transitions import (
    REFUNDABLE_PAYMENT_STATUSES,
    TERMINAL_REFUND_STATUSES,
    Apply,
    Noop,
    PaymentEvent,
    RefundEvent,
    decide,
    decide_refund,
)
from services.auth import Principal
from services.events import ChangeNotice, EventBus, payment_channel, refund_channel
from services.handoff import hand_off
from services.kit import in_transaction, may_see, object_id
from services.observers import ChangeObserver, NullObserver

log = logging.getLogger("paygraph.refunds")

_ENCODER = Encoder()
_CAS_ATTEMPTS = 8
# Razorpay refuses refunds of payments captured more than 180 days ago; PayPal allows 180 too.
REFUND_WINDOW = timedelta(days=180)
NOTES_MAX_LENGTH = 500


@dataclass(frozen=True, slots=True)
class RefundCommand:
    payment_id: str
    amount: str | None = None  # major units; None: the whole refundable remainder
    reason: RefundReason = RefundReason.CUSTOMER_REQUEST
    notes: str | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True, slots=True)
class RefundPolicy:
    timeout_hours: int = 24
    enqueue_timeout: float = 1.0
    # A refund still PENDING this long after it was accepted is queued again by the sweep
    # (until REFUND_TIMEOUT_HOURS): its job was never queued (Redis was down) or its worker
    # died. A job that is still queued or retrying is not doubled (one job id per refund).
    resend_after: timedelta = timedelta(seconds=60)
    sweep_batch: int = 500


class RefundQueue(Protocol):
    """Where an accepted refund is handed to the workers (arq in workers/). One job per
    refund: queueing it again while it is queued or running does nothing."""

    async def enqueue_refund(self, refund_id: str) -> None: ...


class RefundService:
    def __init__(
        self,
        gateways: GatewayRegistry,
        events: EventBus,
        queue: RefundQueue,
        policy: RefundPolicy | None = None,
        *,
        observer: ChangeObserver | None = None,
    ) -> None:
        self._observer = observer or NullObserver()  # metrics; told after each applied write
        self._gateways = gateways
        self._events = events
        self._queue = queue
        self._policy = policy or RefundPolicy()

    # -- reads ---------------------------------------------------------------------------

    async def get(self, principal: Principal, refund_id: str) -> Refund:
        refund = await Refund.get(
            object_id(refund_id, otherwise=RefundNotFound("not found", field="id"))
        )
        if refund is None or not (may_see(principal, refund.customer_id)):
            raise RefundNotFound("refund not found", field="id")
        return refund

    async def of_payment(self, principal: Principal, payment_id: str) -> list[Refund]:
        payment = await _visible_payment(principal, payment_id)
        return await Refund.find({"payment_id": payment.id}).sort("created_at").to_list()

    async def watch(self, principal: Principal, payment_id: str) -> AsyncIterator[Refund]:
        """The payment's refunds now, then each refund change (from any process)."""
        payment = await _visible_payment(principal, payment_id)
        seen: dict[str, int] = {}
        async for _notice in self._events.listen(refund_channel(str(payment.id))):
            for refund in (
                await Refund.find({"payment_id": payment.id}).sort("created_at").to_list()
            ):
                if seen.get(str(refund.id), -1) < refund.version:
                    seen[str(refund.id)] = refund.version
                    yield refund

    async def stale(self, *, older_than: timedelta | None = None) -> list[Refund]:
        """Refunds still PENDING or PROCESSING after REFUND_TIMEOUT_HOURS (for reconciliation)."""
        cutoff = utcnow() - (older_than or timedelta(hours=self._policy.timeout_hours))
        return await Refund.find(
            {
                "status": {"$in": [RefundStatus.PENDING.value, RefundStatus.PROCESSING.value]},
                "updated_at": {"$lte": cutoff},
            }
        ).to_list()

    # -- refund --------------------------------------------------------------------------

    async def refund(self, principal: Principal, command: RefundCommand) -> Refund:
        """Accept (or reject) a refund: a new one comes back PENDING, its amount reserved and
        its job queued. Admin only; a customer gets FORBIDDEN for their own payment and
        NOT_FOUND for anyone else's. The same idempotency key returns the first refund (in
        its current status); the same key with other parameters is IDEMPOTENCY_CONFLICT."""
        payment = await _visible_payment(principal, command.payment_id)
        if not principal.is_admin:
            raise Forbidden("refunds need the admin role")
        fingerprint = _fingerprint(command)
        try:
            amount = self._validate(payment, command)
            refund, created = await self._reserve(payment, amount, command, fingerprint, principal)
        except (InvalidState, RefundExceedsCaptured, RefundWindowExpired):
            # A repeat of an accepted request gets its refund back even when that refund
            # took what was left. The key is looked up only here and on a unique-key clash in
            # the reservation: a new refund pays for no extra read.
            if command.idempotency_key is not None:
                existing = await self._by_key(payment, command.idempotency_key, fingerprint)
                if existing is not None:
                    return existing
            raise
        if created:
            await self._enqueue(refund)
        return refund  # else the first request with this key made (and queued) it

    async def _enqueue(self, refund: Refund) -> bool:
        """Hand the refund to a worker. Redis being down loses nothing: the refund stays
        PENDING and the sweep queues it."""
        return await hand_off(
            self._queue.enqueue_refund(str(refund.id)),
            within=self._policy.enqueue_timeout,
            what=f"refund {refund.id}",
            log=log,
        )

    async def send(self, refund_id: str) -> Refund | None:
        """The worker's side of an accepted refund: send it if it is still PENDING (a second
        run, or one after the webhook settled it, changes nothing). Still PENDING afterwards
        means the gateway's answer never came: the job tries again later, with the same
        idempotency key."""
        try:
            refund = await Refund.get(
                object_id(refund_id, otherwise=RefundNotFound("not found", field="id"))
            )
        except RefundNotFound:
            return None
        if refund is None or refund.status is not RefundStatus.PENDING:
            return refund
        return await self.submit(refund)

    async def sweep(self, *, now: datetime | None = None) -> int:
        """Queue again the refunds still PENDING `resend_after` their acceptance (the queue
        was down, or a worker died), younger than REFUND_TIMEOUT_HOURS; older ones are
        reconciliation's. A refund whose job is queued or retrying keeps that one job; a
        resend is safe anyway: the gateway replays the refund its idempotency key names."""
        now = now or utcnow()
        stale = (
            await Refund.find(
                {
                    "status": RefundStatus.PENDING.value,
                    "updated_at": {
                        "$lte": now - self._policy.resend_after,
                        "$gt": now - timedelta(hours=self._policy.timeout_hours),
                    },
                }
            )
            .sort("updated_at")
            .limit(self._policy.sweep_batch)
            .to_list()
        )
        return sum([await self._enqueue(refund) for refund in stale])

    async def _by_key(self, payment: Payment, key: str, fingerprint: str) -> Refund | None:
        existing = await Refund.find_one({"payment_id": payment.id, "idempotency_key": key})
        if existing is None:
            return None
        if existing.request_fingerprint != fingerprint:
            raise IdempotencyConflict(
                "this idempotencyKey was used for a refund with other parameters",
                field="idempotencyKey",
            )
        return existing

    def _validate(self, payment: Payment, command: RefundCommand) -> Money:
        if command.idempotency_key is not None and not 1 <= len(command.idempotency_key) <= 128:
            raise ValidationFailed(
                "idempotencyKey must be 1-128 characters", field="idempotencyKey"
            )
        if command.notes is not None and len(command.notes) > NOTES_MAX_LENGTH:
            raise ValidationFailed(
                f"notes may hold at most {NOTES_MAX_LENGTH} characters", field="notes"
            )
        if payment.status not in REFUNDABLE_PAYMENT_STATUSES:
            raise InvalidState(
                f"only a completed payment can be refunded; this one is {payment.status.value}"
            )
        assert payment.gateway is not None
        captured_at = _completed_at(payment)
        if utcnow() - captured_at > REFUND_WINDOW:
            raise RefundWindowExpired(
                f"the refund window of {REFUND_WINDOW.days} days after capture has passed"
            )
        if payment.gateway_payment_id is None:
            raise InvalidState("the payment has no gateway payment to refund")
        minimum = MIN_AMOUNT_MINOR[payment.gateway]
        if command.amount is None:
            if payment.refundable_minor < minimum:
                # Nothing left, or less than the gateway refunds at all.
                raise RefundExceedsCaptured(
                    refundable_minor=payment.refundable_minor,
                    currency=payment.currency,
                    message="nothing the gateway can refund is left on this payment"
                    if payment.refundable_minor
                    else "nothing is left to refund on this payment",
                )
            return payment.refundable_amount
        amount = Money.parse(command.amount, payment.currency, field="amount")
        if amount.amount_minor < minimum:
            raise ValidationFailed(
                f"a refund must be at least {Money(amount_minor=minimum, currency=payment.currency).to_decimal_string()}",
                field="amount",
            )
        if amount.amount_minor > payment.refundable_minor:
            raise RefundExceedsCaptured(
                refundable_minor=payment.refundable_minor,
                currency=payment.currency,
                message=f"at most {payment.refundable_amount.to_decimal_string()} can be refunded",
            )
        return amount

    async def _reserve(
        self,
        payment: Payment,
        amount: Money,
        command: RefundCommand,
        fingerprint: str,
        principal: Principal,
    ) -> tuple[Refund, bool]:
        """Reserve the amount and insert the PENDING refund atomically. The flag says whether
        this call created it (False: a concurrent request with the same key did)."""
        assert payment.gateway is not None and payment.id is not None
        now = utcnow()
        refund = Refund(
            payment_id=payment.id,
            order_id=payment.order_id,
            customer_id=payment.customer_id,
            amount=amount,
            reason=command.reason,
            notes={"note": command.notes} if command.notes else {},
            gateway=payment.gateway,
            gateway_payment_id=payment.gateway_payment_id,
            idempotency_key=command.idempotency_key,
            request_fingerprint=fingerprint,
            created_at=now,
            updated_at=now,
            timeline=[
                RefundTimelineEntry(
                    at=now,
                    from_status=None,
                    to_status=RefundStatus.PENDING,
                    source=TransitionSource.API,
                    actor=principal.customer_id,
                    note=f"requested by {principal.customer_id}",
                )
            ],
        )

        async def reserve(session: AsyncClientSession) -> None:
            # The captured amount never changes, so "enough left" is a bound on one field.
            result = await Payment.get_pymongo_collection().update_one(
                {
                    "_id": payment.id,
                    "status": {"$in": [s.value for s in REFUNDABLE_PAYMENT_STATUSES]},
                    "refund_committed_minor": {
                        "$lte": payment.amount.amount_minor - amount.amount_minor
                    },
                },
                {
                    "$inc": {"refund_committed_minor": amount.amount_minor, "version": 1},
                    "$set": {"updated_at": now},
                },
                session=session,
            )
            if result.modified_count != 1:
                raise _NotEnough
            await refund.insert(session=session)

        try:
            await in_transaction(reserve)
        except _NotEnough:
            current = await Payment.get(payment.id)
            refundable = current.refundable_minor if current else 0
            raise RefundExceedsCaptured(
                refundable_minor=refundable,
                currency=payment.currency,
                message="the amount exceeds what is left to refund "
                f"({Money(amount_minor=refundable, currency=payment.currency).to_decimal_string()})",
            ) from None
        except DuplicateKeyError:
            # This idempotency key already has a refund (a repeat, or a concurrent request
            # that won): the transaction, reservation included, was rolled back.
            assert command.idempotency_key is not None
            existing = await self._by_key(payment, command.idempotency_key, fingerprint)
            if existing is None:
                raise InvalidState("the refund is being created; try again") from None
            return existing, False
        self._observer.refund_transitioned(refund, RefundStatus.PENDING)
        await self._publish(refund)
        return refund, True

    async def submit(
        self, refund: Refund, *, source: TransitionSource = TransitionSource.API
    ) -> Refund:
        """Send the refund to its gateway (idempotent by our refund id) and apply the answer.
        An unknown outcome leaves it PENDING for the sweep and reconciliation, which call this
        again: the gateway replays the first refund instead of making another."""
        gateway_payment_id = refund.gateway_payment_id
        if gateway_payment_id is None:  # a refund stored before it carried the id
            payment = await Payment.get(refund.payment_id)
            gateway_payment_id = payment.gateway_payment_id if payment else None
        if gateway_payment_id is None:
            raise InvalidState("the payment has no gateway payment to refund")
        adapter = self._gateways.get(refund.gateway)
        request = RefundRequest(
            payment_id=gateway_payment_id,
            amount_minor=refund.amount.amount_minor,
            currency=refund.amount.currency,
            idempotency_key=idempotency_key(refund),
            notes={"refund_id": str(refund.id), "payment_id": str(refund.payment_id)},
        )
        try:
            answer: GatewayRefund = await adapter.refund(request)
        except GatewayRejected as exc:
            return await self._settle(
                refund,
                RefundEvent.FAILED,
                source,
                error=(exc.gateway_code, exc.reason or exc.message),
            )
        except (GatewayUnavailable, GatewayOutcomeUnknown) as exc:
            log.warning("refund %s left pending: %s", refund.id, exc.message)
            return refund
        except ValueError as exc:
            # The adapter refused the request before sending it: nothing can make it valid
            # later, so the refund fails and its reservation is released.
            return await self._settle(
                refund, RefundEvent.FAILED, source, error=("INVALID_REQUEST", str(exc))
            )
        return await self.apply_gateway_refund(refund, answer, source)

    async def apply_gateway_refund(
        self,
        refund: Refund,
        answer: GatewayRefund,
        source: TransitionSource,
        gateway_event_id: str | None = None,
    ) -> Refund:
        """Feed what the gateway says about one refund through the refund state machine; the
        gateway's refund id is stored with the change (or alone when nothing changes)."""
        event, error = RefundEvent.SUBMITTED, None
        if answer.status is GatewayRefundStatus.PROCESSED:
            event = RefundEvent.PROCESSED
        elif answer.status is GatewayRefundStatus.FAILED:
            event = RefundEvent.FAILED
            error = ("GATEWAY_FAILED", answer.error_reason or "the gateway failed the refund")
        return await self._settle(
            refund,
            event,
            source,
            gateway_event_id=gateway_event_id,
            gateway_refund_id=answer.id or None,
            error=error,
        )

    async def apply_gateway_event(
        self, event: GatewayEvent
    ) -> tuple[PydanticObjectId, PydanticObjectId | None]:
        """A refund webhook. Raises TargetNotFound while we do not know the refund (yet)."""
        refund = None
        if event.refund_id:
            refund = await Refund.find_one(
                {"gateway": event.gateway.value, "gateway_refund_id": event.refund_id}
            )
        if refund is None:
            refund = await _unmatched_refund_for(event)
        if refund is None:
            raise TargetNotFound(f"no refund for {event.raw_type} {event.refund_id}")
        assert refund.id is not None
        status = {
            GatewayEventKind.REFUND_CREATED: GatewayRefundStatus.PENDING,
            GatewayEventKind.REFUND_PROCESSED: GatewayRefundStatus.PROCESSED,
            GatewayEventKind.REFUND_FAILED: GatewayRefundStatus.FAILED,
        }.get(event.kind)
        if status is None:
            raise InvalidState(f"{event.raw_type} needs an operator (reversal or chargeback)")
        answer = GatewayRefund(
            gateway=event.gateway,
            id=event.refund_id or "",
            payment_id=event.payment_id or "",
            amount_minor=event.amount_minor or refund.amount.amount_minor,
            currency=event.currency or refund.amount.currency,
            status=status,
            error_reason=event.error_reason,
        )
        await self.apply_gateway_refund(refund, answer, TransitionSource.WEBHOOK, event.event_id)
        return refund.payment_id, refund.id

    # -- the one write path --------------------------------------------------------------

    async def _settle(
        self,
        refund: Refund,
        event: RefundEvent,
        source: TransitionSource,
        *,
        gateway_event_id: str | None = None,
        gateway_refund_id: str | None = None,
        error: tuple[str | None, str] | None = None,
    ) -> Refund:
        """Move the refund and, when it ends, the payment's money in one transaction."""
        for _ in range(_CAS_ATTEMPTS):
            learns_id = gateway_refund_id is not None and refund.gateway_refund_id is None
            decision = decide_refund(refund.status, event)
            if isinstance(decision, Noop):
                if not learns_id:
                    return refund
                assert gateway_refund_id is not None
                updated = await _set_gateway_refund_id(refund, gateway_refund_id)
                if updated is not None:
                    return updated
                refund = await _reload(refund)
                continue
            if not isinstance(decision, Apply):
                raise InvalidState(decision.reason)
            to = RefundStatus(decision.to)
            now = utcnow()
            entry = RefundTimelineEntry(
                at=now,
                from_status=refund.status,
                to_status=to,
                event=event,
                source=source,
                gateway_event_id=gateway_event_id,
            )
            changes: dict[str, Any] = {"status": to, "updated_at": now}
            if learns_id:
                changes["gateway_refund_id"] = gateway_refund_id
            if to in TERMINAL_REFUND_STATUSES:
                changes["completed_at"] = now
            if error is not None:
                changes["error_code"], changes["error_message"] = error
            outcome = await self._write_settlement(refund, changes, entry, to, source)
            if outcome is not None:
                refund_after, payment_after = outcome
                self._observer.refund_transitioned(refund_after, to)
                if payment_after is not None:
                    self._observer.payment_transitioned(
                        payment_after, payment_after.status, entry.at
                    )
                await self._publish(refund_after)
                if payment_after is not None:
                    await self._events.publish(
                        payment_channel(str(payment_after.id)),
                        ChangeNotice(
                            str(payment_after.id), payment_after.status.value, payment_after.version
                        ),
                    )
                return refund_after
            refund = await _reload(refund)
        raise InvalidState("the refund is changing too fast; try again")

    async def _write_settlement(
        self,
        refund: Refund,
        changes: dict[str, Any],
        entry: RefundTimelineEntry,
        to: RefundStatus,
        source: TransitionSource,
    ) -> tuple[Refund, Payment | None] | None:
        amount = refund.amount.amount_minor
        outcome: list[Payment | None] = [None]

        async def write(session: AsyncClientSession | None) -> None:
            result = await Refund.get_pymongo_collection().update_one(
                {"_id": refund.id, "version": refund.version},
                {
                    "$set": {key: _ENCODER.encode(value) for key, value in changes.items()},
                    "$inc": {"version": 1},
                    "$push": {"timeline": _ENCODER.encode(entry)},
                },
                session=session,
            )
            if result.modified_count != 1:
                raise _LostRace
            if to is RefundStatus.FAILED:
                await Payment.get_pymongo_collection().update_one(
                    {"_id": refund.payment_id},
                    {
                        "$inc": {"refund_committed_minor": -amount, "version": 1},
                        "$set": {"updated_at": entry.at},
                    },
                    session=session,
                )
            elif to is RefundStatus.COMPLETED:
                assert session is not None
                outcome[0] = await _move_money(refund, amount, entry.at, source, session)

        try:
            if to in TERMINAL_REFUND_STATUSES:
                await in_transaction(write)
            else:  # only the refund changes (sent, not final): one document, no transaction
                await write(None)
        except _LostRace:
            return None
        local = refund.model_copy(
            update={**changes, "version": refund.version + 1, "timeline": [*refund.timeline, entry]}
        )
        return local, outcome[0]

    async def _publish(self, refund: Refund) -> None:
        await self._events.publish(
            refund_channel(str(refund.payment_id)),
            ChangeNotice(str(refund.id), refund.status.value, refund.version),
        )


async def _move_money(
    refund: Refund, amount: int, at: datetime, source: TransitionSource, session: AsyncClientSession
) -> Payment:
    """Reserved -> refunded on the payment (the commitment stays), and its status through the
    state machine."""
    raw = await Payment.get_pymongo_collection().find_one(
        {"_id": refund.payment_id}, session=session
    )
    if raw is None:
        raise InvalidState("the refunded payment is gone")
    payment = Payment.model_validate(raw)
    refunded = payment.refunded_minor + amount
    event = (
        PaymentEvent.REFUNDED
        if refunded >= payment.amount.amount_minor
        else PaymentEvent.PARTIALLY_REFUNDED
    )
    decision = decide(payment.status, event)
    status = decision.to if isinstance(decision, Apply) else payment.status
    entry = TimelineEntry(
        at=at,
        from_status=payment.status,
        to_status=status,
        event=event,
        source=source,
        note=f"refund {refund.id} of {refund.amount.to_decimal_string()} {refund.amount.currency} completed",
    )
    update: dict[str, Any] = {
        "$inc": {"refunded_minor": amount, "version": 1},
        "$set": {"status": status.value, "updated_at": at},
        "$push": {"timeline": _ENCODER.encode(entry)},
    }
    await Payment.get_pymongo_collection().update_one({"_id": payment.id}, update, session=session)
    return cast(
        Payment,
        payment.model_copy(
            update={
                "refunded_minor": refunded,
                "status": status,
                "version": payment.version + 1,
            }
        ),
    )


class _NotEnough(Exception):
    pass


class _LostRace(Exception):
    pass


async def _unmatched_refund_for(event: GatewayEvent) -> Refund | None:
    """A refund whose gateway call never answered (a timeout) learns its gateway id from the
    webhook: the one refund of that payment, of that amount, still without a gateway id."""
    if not event.payment_id or event.amount_minor is None:
        return None
    payment = await Payment.find_one(
        {"gateway": event.gateway.value, "gateway_payment_id": event.payment_id}
    )
    if payment is None:
        return None
    candidates = await Refund.find(
        {
            "payment_id": payment.id,
            "gateway_refund_id": None,
            "status": {"$in": [RefundStatus.PENDING.value, RefundStatus.PROCESSING.value]},
            "amount.amount_minor": event.amount_minor,
        }
    ).to_list()
    return candidates[0] if len(candidates) == 1 else None


async def _set_gateway_refund_id(refund: Refund, gateway_refund_id: str) -> Refund | None:
    result = await Refund.get_pymongo_collection().update_one(
        {"_id": refund.id, "version": refund.version},
        {
            "$set": {"gateway_refund_id": gateway_refund_id, "updated_at": utcnow()},
            "$inc": {"version": 1},
        },
    )
    if result.modified_count != 1:
        return None
    return cast(
        Refund,
        refund.model_copy(
            update={"gateway_refund_id": gateway_refund_id, "version": refund.version + 1}
        ),
    )


async def _reload(refund: Refund) -> Refund:
    fresh = await Refund.get(refund.id)
    if fresh is None:
        raise RefundNotFound("refund not found")
    return fresh


async def _visible_payment(principal: Principal, payment_id: str) -> Payment:
    payment = await Payment.get(
        object_id(payment_id, otherwise=PaymentNotFound("not found", field="id"))
    )
    if payment is None or not may_see(principal, payment.customer_id):
        raise PaymentNotFound("payment not found", field="paymentId")
    return payment


def _completed_at(payment: Payment) -> datetime:
    for entry in payment.timeline:
        if entry.to_status is PaymentStatus.COMPLETED:
            return entry.at
    return payment.created_at


def idempotency_key(refund: Refund) -> str:
    """The gateway idempotency key of a refund: derived from our refund id, never reused."""
    return f"paygraph-refund-{refund.id}"


def _fingerprint(command: RefundCommand) -> str:
    canonical = json.dumps(
        {
            "payment_id": command.payment_id,
            "amount": command.amount,
            "reason": command.reason.value,
            "notes": command.notes,
        },
        sort_keys=True,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()
