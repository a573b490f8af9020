"""Closing an unpaid payment: cancelled by its customer, expired by the expiry job or by
reconciliation. Money that still moves at the gateway afterwards applies (see sync)."""

from __future__ import annotations

from datetime import datetime

from models.clock import utcnow
from models.enums import PaymentStatus, TransitionSource
from models.errors import InvalidState
from models.payment import Payment
from models.transitions import PaymentEvent
from services.auth import Principal
from services.payments import queries
from services.payments.store import PaymentStore

_CANCELLABLE = (PaymentStatus.PENDING, PaymentStatus.INITIATED, PaymentStatus.CANCELLED)
# Unpaid: the expiry job closes these once past `expires_at`.
_EXPIRABLE = (PaymentStatus.PENDING, PaymentStatus.INITIATED, PaymentStatus.FAILED)


async def cancel(store: PaymentStore, principal: Principal, payment_id: str) -> Payment:
    payment = await queries.get(principal, payment_id)
    if payment.status not in _CANCELLABLE:
        raise InvalidState(
            f"only a pending or initiated payment can be cancelled; this one is {payment.status.value}"
        )
    return await store.transition(
        payment,
        PaymentEvent.CANCELLED,
        TransitionSource.API,
        actor=principal.customer_id,
        note="cancelled by the customer",
    )


async def expire(
    store: PaymentStore,
    payment: Payment,
    source: TransitionSource,
    *,
    actor: str | None = None,
    note: str,
) -> Payment:
    return await store.transition(payment, PaymentEvent.EXPIRED, source, actor=actor, note=note)


async def expire_stale(
    store: PaymentStore, timeout_minutes: int, *, now: datetime | None = None, limit: int = 500
) -> int:
    now = now or utcnow()
    stale = (
        await Payment.find(
            {
                "status": {"$in": [status.value for status in _EXPIRABLE]},
                "expires_at": {"$lte": now},
            }
        )
        .limit(limit)
        .to_list()
    )
    expired = 0
    for payment in stale:
        try:
            result = await expire(
                store,
                payment,
                TransitionSource.EXPIRY,
                actor="expiry",
                note=f"unpaid after {timeout_minutes} minutes",
            )
        except InvalidState:
            continue  # it moved on (paid) meanwhile
        expired += result.status is PaymentStatus.EXPIRED
    return expired
