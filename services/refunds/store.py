"""The one write path of a refund after its acceptance: a compare-and-set on its version with a
timeline entry, the payment's money moved in the same transaction when the refund ends, and
every change published (and told to the observer) once it is written."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from beanie.odm.utils.encoder import Encoder
from pymongo.asynchronous.client_session import AsyncClientSession

from models.clock import utcnow
from models.common import RefundTimelineEntry, TimelineEntry
from models.enums import RefundStatus, TransitionSource
from models.errors import InvalidState, RefundNotFound
from models.payment import Payment
from models.refund import Refund
from models.transitions import (
    TERMINAL_REFUND_STATUSES,
    Apply,
    Noop,
    PaymentEvent,
    RefundEvent,
    decide,
    decide_refund,
)
from services.events import ChangeNotice, EventBus, payment_channel, refund_channel
from services.kit import in_transaction
from services.observers import ChangeObserver

_ENCODER = Encoder()
_CAS_ATTEMPTS = 8


class RefundStore:
    def __init__(self, events: EventBus, observer: ChangeObserver) -> None:
        self._events = events
        self._observer = observer  # metrics; told after each applied write

    async def created(self, refund: Refund) -> None:
        """A refund was just inserted PENDING (with its reservation)."""
        self._observer.refund_transitioned(refund, RefundStatus.PENDING)
        await self._publish(refund)

    async def settle(
        self,
        refund: Refund,
        event: RefundEvent,
        source: TransitionSource,
        *,
        gateway_event_id: str | None = None,
        gateway_refund_id: str | None = None,
        error: tuple[str | None, str] | None = None,
    ) -> Refund:
        """Move the refund and, when it ends, the payment's money in one transaction. A lost
        race re-reads the refund and decides again; the gateway's refund id is stored with the
        change (or alone when the state machine changes nothing)."""
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
            outcome = await _write(refund, changes, entry, to, source)
            if outcome is not None:
                await self._written(*outcome, to, entry.at)
                return outcome[0]
            refund = await _reload(refund)
        raise InvalidState("the refund is changing too fast; try again")

    async def _written(
        self, refund: Refund, payment: Payment | None, to: RefundStatus, at: datetime
    ) -> None:
        self._observer.refund_transitioned(refund, to)
        if payment is not None:
            self._observer.payment_transitioned(payment, payment.status, at)
        await self._publish(refund)
        if payment is not None:
            await self._events.publish(
                payment_channel(str(payment.id)),
                ChangeNotice(str(payment.id), payment.status.value, payment.version),
            )

    async def _publish(self, refund: Refund) -> None:
        await self._events.publish(
            refund_channel(str(refund.payment_id)),
            ChangeNotice(str(refund.id), refund.status.value, refund.version),
        )


class _LostRace(Exception):
    pass


async def _write(
    refund: Refund,
    changes: dict[str, Any],
    entry: RefundTimelineEntry,
    to: RefundStatus,
    source: TransitionSource,
) -> tuple[Refund, Payment | None] | None:
    """The refund's change (and the payment's, when it ends); None: the refund moved meanwhile."""
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
        if refunded >= payment.captured_minor
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
