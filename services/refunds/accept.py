"""Accepting a refund: the request checked against the payment, the amount reserved and the
PENDING refund inserted in one transaction, the client's idempotency key honoured, and the
refund handed to a worker (again by the sweep, when that hand-off was lost)."""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime, timedelta
from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from domain.gateways import MIN_AMOUNT_MINOR
from models.clock import utcnow
from models.common import RefundTimelineEntry
from models.enums import PaymentStatus, RefundReason, RefundSource, RefundStatus, TransitionSource
from models.errors import (
    Forbidden,
    IdempotencyConflict,
    InvalidState,
    RefundExceedsCaptured,
    RefundWindowExpired,
    ValidationFailed,
)
from models.money import Money
from models.payment import LatePayment, Payment
from models.refund import Refund
from models.transitions import REFUNDABLE_PAYMENT_STATUSES
from services.auth import Principal
from services.catalog import NOTES_MAX_LENGTH
from services.handoff import hand_off
from services.kit import in_transaction
from services.refunds.commands import RefundCommand, RefundPolicy, RefundQueue
from services.refunds.queries import visible_payment
from services.refunds.store import RefundStore

log = logging.getLogger("paygraph.refunds")

# Razorpay refuses refunds of payments captured more than 180 days ago; PayPal allows 180 too.
REFUND_WINDOW = timedelta(days=180)


async def accept_refund(
    store: RefundStore,
    queue: RefundQueue,
    policy: RefundPolicy,
    principal: Principal,
    command: RefundCommand,
) -> Refund:
    payment = await visible_payment(principal, command.payment_id)
    if not principal.is_admin:
        raise Forbidden("refunds need the admin role")
    fingerprint = _fingerprint(command)
    try:
        amount = _validate(payment, command)
        refund, created = await _reserve(
            store,
            payment,
            _new_refund(payment, amount, command, fingerprint, principal),
            statuses=REFUNDABLE_PAYMENT_STATUSES,
        )
    except (InvalidState, RefundExceedsCaptured, RefundWindowExpired):
        # A repeat of an accepted request gets its refund back even when that refund
        # took what was left. The key is looked up only here and on a unique-key clash in
        # the reservation: a new refund pays for no extra read.
        existing = await _by_key(payment, command.idempotency_key, fingerprint)
        if existing is not None:
            return existing
        raise
    if created:
        await _enqueue(queue, policy, refund)
    return refund  # else the first request with this key made (and queued) it


async def sweep_pending(queue: RefundQueue, policy: RefundPolicy, now: datetime) -> int:
    stale = (
        await Refund.find(
            {
                "status": RefundStatus.PENDING.value,
                "updated_at": {
                    "$lte": now - policy.resend_after,
                    "$gt": now - timedelta(hours=policy.timeout_hours),
                },
            }
        )
        .sort("updated_at")
        .limit(policy.sweep_batch)
        .to_list()
    )
    return sum([await _enqueue(queue, policy, refund, again=True) for refund in stale])


async def _enqueue(
    queue: RefundQueue, policy: RefundPolicy, refund: Refund, *, again: bool = False
) -> bool:
    """Hand the refund to a worker. Redis being down loses nothing: the refund stays
    PENDING and the sweep queues it (`again`: even when an earlier job gave up)."""
    return await hand_off(
        queue.enqueue_refund(str(refund.id), again=again),
        within=policy.enqueue_timeout,
        what=f"refund {refund.id}",
        log=log,
    )


async def _by_key(payment: Payment, key: str, fingerprint: str) -> Refund | None:
    existing = await Refund.find_one({"payment_id": payment.id, "idempotency_key": key})
    if existing is None:
        return None
    if existing.request_fingerprint != fingerprint:
        raise IdempotencyConflict(
            "this idempotencyKey was used for a refund with other parameters",
            field="idempotencyKey",
        )
    return existing


def _validate(payment: Payment, command: RefundCommand) -> Money:
    if not command.idempotency_key.strip() or len(command.idempotency_key) > 128:
        raise ValidationFailed("idempotencyKey must be 1-128 characters", field="idempotencyKey")
    if command.notes is not None and len(command.notes) > NOTES_MAX_LENGTH:
        raise ValidationFailed(
            f"notes may hold at most {NOTES_MAX_LENGTH} characters", field="notes"
        )
    if payment.status not in REFUNDABLE_PAYMENT_STATUSES:
        raise InvalidState(
            f"only a completed payment can be refunded; this one is {payment.status.value}"
        )
    assert payment.gateway is not None
    if utcnow() - _completed_at(payment) > REFUND_WINDOW:
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


async def accept_late_refund(
    store: RefundStore,
    queue: RefundQueue,
    policy: RefundPolicy,
    payment: Payment,
    late: LatePayment,
) -> Refund:
    """Return late captured money in full: the refund of `late` (its id chosen when the late
    payment was recorded, its key derived from the gateway payment), reserved against what the
    gateway captured and sent like any refund. Safe to call again: the first refund is
    returned."""
    assert payment.id is not None and payment.gateway is not None
    assert late.refund_id is not None
    existing = await Refund.get(late.refund_id)
    if existing is not None:
        return existing
    now = utcnow()
    refund = Refund(
        id=late.refund_id,
        payment_id=payment.id,
        order_id=payment.order_id,
        customer_id=payment.customer_id,
        amount=late.amount,
        reason=RefundReason.LATE_PAYMENT,
        source=RefundSource.LATE_PAYMENT,
        gateway=payment.gateway,
        gateway_payment_id=late.gateway_payment_id,
        idempotency_key=f"late:{late.gateway_payment_id}",
        request_fingerprint=late.gateway_payment_id,
        created_at=now,
        updated_at=now,
        timeline=[
            RefundTimelineEntry(
                at=now,
                from_status=None,
                to_status=RefundStatus.PENDING,
                source=TransitionSource.API,
                actor="late-payment",
                note=(
                    f"returning {late.amount.to_decimal_string()} {late.amount.currency} "
                    f"captured late ({late.gateway_payment_id}) on a closed payment"
                ),
            )
        ],
    )
    try:
        refund, created = await _reserve(store, payment, refund, statuses=None)
    except RefundExceedsCaptured:
        # Read before its late capture was written: read again, once.
        fresh = await Payment.get(payment.id)
        if fresh is None:
            raise
        refund, created = await _reserve(store, fresh, refund, statuses=None)
    if created:
        await _enqueue(queue, policy, refund)
    return refund


def _new_refund(
    payment: Payment,
    amount: Money,
    command: RefundCommand,
    fingerprint: str,
    principal: Principal,
) -> Refund:
    assert payment.id is not None and payment.gateway is not None
    assert payment.gateway_payment_id is not None  # checked by _validate
    now = utcnow()
    return Refund(
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


async def _reserve(
    store: RefundStore,
    payment: Payment,
    refund: Refund,
    *,
    statuses: frozenset[PaymentStatus] | None,
) -> tuple[Refund, bool]:
    """Reserve the refund's amount and insert it PENDING atomically. The flag says whether
    this call created it (False: a concurrent request with the same key did). `statuses`: the
    payment statuses a refund may start from (None: any, for late money)."""
    amount = refund.amount
    query: dict[str, Any] = {
        "_id": payment.id,
        # The captured figure as read bounds the reservation: if it changed, nothing matches
        # and the caller reads again.
        "captured_minor": payment.captured_minor,
        "refund_committed_minor": {"$lte": payment.captured_minor - amount.amount_minor},
    }
    if statuses is not None:
        query["status"] = {"$in": [s.value for s in statuses]}

    async def reserve(session: AsyncClientSession) -> None:
        result = await Payment.get_pymongo_collection().update_one(
            query,
            {
                "$inc": {"refund_committed_minor": amount.amount_minor, "version": 1},
                "$set": {"updated_at": refund.created_at},
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
        existing = await _by_key(payment, refund.idempotency_key, refund.request_fingerprint)
        if existing is None:
            raise InvalidState("the refund is being created; try again") from None
        return existing, False
    await store.created(refund)
    return refund, True


class _NotEnough(Exception):
    pass


def _completed_at(payment: Payment) -> datetime:
    for entry in payment.timeline:
        if entry.to_status is PaymentStatus.COMPLETED:
            return entry.at
    return payment.created_at


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
