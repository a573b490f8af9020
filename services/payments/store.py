"""The one writer of payment state.

Every write is a compare-and-set on the version it was decided on: a lost race re-reads the
payment and decides again. A status change appends its timeline entry (and its outbound event)
in the same write, then tells the observer (metrics) and queues a change notice for
subscribers. Notices leave off the request path, batched: the write they report is durable
already, and a subscriber re-reads the payment on any notice, so the latest notice of a payment
within a short window stands for the ones before it (`Notices`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from beanie.odm.utils.dump import get_dict
from beanie.odm.utils.encoder import Encoder

from models.clock import utcnow
from models.common import TimelineEntry
from models.enums import PaymentStatus, TransitionSource
from models.errors import InvalidState, PaymentNotFound
from models.events_out import OutboxEntry
from models.payment import Payment
from models.transitions import Apply, Noop, PaymentEvent, Reject, decide
from services.events import ChangeNotice, EventBus, payment_channel
from services.events_out import late_payment, payment_changed, push_update
from services.kit import Coalesced
from services.observers import ChangeObserver

_ENCODER = Encoder()
CAS_ATTEMPTS = 8
# How long a change notice may wait for a later one of the same payment (verify's AUTHORIZED
# and COMPLETED are written a capture apart): subscribers hear of a change at most this late.
NOTICE_WINDOW_SECONDS = 0.05


@dataclass(frozen=True, slots=True)
class Change:
    """One write decided on a payment as read: the timeline entry (its `to_status` becomes the
    status), other fields to set, and whether it counts one more failed attempt."""

    entry: TimelineEntry
    fields: Mapping[str, Any] = field(default_factory=dict)
    counts_attempt: bool = False


# Decides the change for the payment as read: None when there is nothing to write (a duplicate
# or stale event); raises a domain error for a change that must not happen.
Decide = Callable[[Payment], Change | None]


class Notices:
    """Change notices published in the background, at most one per payment per window (the
    latest version wins). Best effort like EventBus.publish: a lost notice delays a
    subscriber's update until its next heartbeat re-read, never shows it a wrong one."""

    def __init__(self, events: EventBus, window: float = NOTICE_WINDOW_SECONDS) -> None:
        self._events = events
        self._batch: Coalesced[str, ChangeNotice] = Coalesced(self._publish, window)

    def add(self, notice: ChangeNotice) -> None:
        self._batch.add(notice.id, notice.version, notice)

    async def _publish(self, notices: list[ChangeNotice]) -> None:
        await self._events.publish_many([(payment_channel(n.id), n) for n in notices])


class PaymentStore:
    def __init__(self, events: EventBus, observer: ChangeObserver) -> None:
        self._events = events
        self._observer = observer
        self.notices = Notices(events)

    async def write(self, payment: Payment, decide_change: Decide) -> Payment:
        """Decide on `payment` and write the change compare-and-set, deciding again on the
        re-read payment after a lost race. Returns the payment as written (as read if there
        was nothing to write); InvalidState when it keeps changing under us."""
        for _ in range(CAS_ATTEMPTS):
            change = decide_change(payment)
            if change is None:
                return payment
            fields = {**change.fields, "status": change.entry.to_status}
            updated = await self.cas(
                payment, fields, entry=change.entry, inc_attempts=change.counts_attempt
            )
            if updated is not None:
                if change.entry.to_status is not change.entry.from_status:
                    self._observer.payment_transitioned(
                        updated, change.entry.to_status, change.entry.at
                    )
                if change.counts_attempt:
                    self._observer.payment_attempt_failed(updated)
                self.publish(updated)
                return updated
            payment = await self.reload(payment)
        raise InvalidState("the payment is changing too fast; try again")

    async def transition(
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
        refuse_if: Callable[[Payment], bool] | None = None,
    ) -> Payment:
        """Apply `event` as the state machine decides: Noop returns the payment as it is,
        Reject raises InvalidState, Apply writes the new status with `set_fields`.
        `refuse_if`: InvalidState when the payment, as each try reads it, is so (money for a
        payment closed meanwhile is not its own)."""

        def decide_change(current: Payment) -> Change | None:
            if refuse_if is not None and refuse_if(current):
                raise InvalidState("the payment was closed meanwhile")
            decision = decide(current.status, event)
            if isinstance(decision, Noop):
                return None
            if isinstance(decision, Reject):
                raise InvalidState(decision.reason)
            entry = TimelineEntry(
                from_status=current.status,
                to_status=decision.to,
                event=event,
                source=source,
                gateway_event_id=gateway_event_id,
                gateway_payment_id=gateway_payment_id,
                actor=actor,
                note=note,
            )
            return Change(entry, set_fields or {})

        return await self.write(payment, decide_change)

    async def failed_attempt(
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
        """Count one more failed attempt; the payment is FAILED (retryable until max attempts).
        The same gateway event or gateway payment is counted once."""

        def decide_change(current: Payment) -> Change | None:
            if any(
                e.event is PaymentEvent.FAILED
                and (
                    (gateway_event_id and e.gateway_event_id == gateway_event_id)
                    or (gateway_payment_id and e.gateway_payment_id == gateway_payment_id)
                )
                for e in current.timeline
            ):
                return None  # this failed attempt was already counted
            decision = decide(current.status, PaymentEvent.FAILED)
            if isinstance(decision, Reject):
                raise InvalidState(decision.reason)
            # A failed attempt is counted whenever its event arrives, even after a later
            # attempt succeeded, so the count does not depend on delivery order; only the
            # status follows the state machine.
            to = decision.to if isinstance(decision, Apply) else current.status
            fields: dict[str, Any] = {}
            if to is PaymentStatus.FAILED:
                fields = {"error_code": code, "error_message": reason}
                if gateway_payment_id:
                    fields["gateway_payment_id"] = gateway_payment_id
            entry = TimelineEntry(
                from_status=current.status,
                to_status=to,
                event=PaymentEvent.FAILED,
                source=source,
                gateway_event_id=gateway_event_id,
                gateway_payment_id=gateway_payment_id,
                actor=actor,
                note=f"attempt {current.attempt_count + 1} failed: {reason}",
            )
            return Change(entry, fields, counts_attempt=True)

        return await self.write(payment, decide_change)

    async def cas(
        self,
        payment: Payment,
        fields: Mapping[str, Any],
        *,
        entry: TimelineEntry | None = None,
        inc_attempts: bool = False,
    ) -> Payment | None:
        """Set `fields` (and push `entry`) if the payment is still at the version we read; the
        payment as written, or None when we lost the race. Status changes go through `write`;
        their outbound event goes into the payment's outbox in this same update."""
        now = utcnow()
        changes = {**fields, "updated_at": now}
        local: dict[str, Any] = {
            **changes,
            "version": payment.version + 1,
            "attempt_count": payment.attempt_count + (1 if inc_attempts else 0),
        }
        if entry is not None:
            local["timeline"] = [*payment.timeline, entry]
        written = cast(Payment, payment.model_copy(update=local))
        update: dict[str, Any] = {
            "$set": {key: _ENCODER.encode(value) for key, value in changes.items()},
            "$inc": {"version": 1, **({"attempt_count": 1} if inc_attempts else {})},
        }
        if entry is not None:
            events = payment_changed(written, entry.from_status, entry.at)
            events += _late_payment_events(written, entry)
            update["$push"] = {"timeline": _ENCODER.encode(entry), **push_update(events)}
        result = await Payment.get_pymongo_collection().update_one(
            {"_id": payment.id, "version": payment.version}, update
        )
        if result.modified_count != 1:
            return None
        return written

    async def insert(self, payment: Payment) -> None:
        """Insert a new payment (built, and so validated, just now: no second validation as
        Beanie's insert would do); DuplicateKeyError for a (customer, order) already there."""
        document = get_dict(payment, to_db=True, keep_nulls=Payment.get_settings().keep_nulls)
        result = await Payment.get_pymongo_collection().insert_one(document)
        payment.id = result.inserted_id

    async def reload(self, payment: Payment) -> Payment:
        fresh = await Payment.get(payment.id)
        if fresh is None:
            raise PaymentNotFound("payment not found")
        return fresh

    def publish(self, payment: Payment) -> None:
        """Queue the change notice of `payment` as written (sent within the notice window)."""
        self.notices.add(ChangeNotice(str(payment.id), payment.status.value, payment.version))


_LATE_EVENTS = frozenset(
    {PaymentEvent.LATE_AUTHORIZATION, PaymentEvent.LATE_PAYMENT, PaymentEvent.LATE_PAYMENT_ACCEPTED}
)


def _late_payment_events(written: Payment, entry: TimelineEntry) -> list[OutboxEntry]:
    """payment.late_payment, in the write that records the late money."""
    if entry.event not in _LATE_EVENTS:
        return []
    late = next(
        (x for x in written.late_payments if x.gateway_payment_id == entry.gateway_payment_id),
        None,
    )
    if late is None:
        return []
    return [
        late_payment(
            written,
            at=entry.at,
            amount=late.amount,
            gateway_payment_id=late.gateway_payment_id,
            action=late.action.value,
        )
    ]
