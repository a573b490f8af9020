"""Delivering one event to one endpoint: one attempt per worker job, the retry schedule, the
endpoint's health, redelivery and the sweep of deliveries whose job was lost.

An attempt claims the delivery (a lease on its record, compare-and-set on the attempt count),
takes one of the endpoint's slots (services/events_out/slots.py), posts, and records the outcome
with the next attempt's time; the next attempt is its own job, deferred to that time. A job
that runs twice, or late, finds the attempt count moved on and does nothing. A worker killed
mid-send leaves a lease that lapses; the job (still queued in arq) or the sweep tries again, so
nothing is lost, and the receiver may see that event twice (the same webhook-id: at least once).

Schedule: immediately, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h after each failure;
after the eighth failure the delivery is FAILED (redeliverEvent starts the schedule again). An
endpoint that has failed every attempt for five days is disabled and an alert is raised.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from models.clock import as_utc, utcnow
from models.errors import EventNotFound, InvalidState
from models.events_out import Delivery, DeliveryStatus, Event, WebhookEndpoint
from services.alerts import WEBHOOK_ENDPOINT_DISABLED, AlertService
from services.crypto import UndecryptableToken
from services.events_out.endpoints import Endpoints
from services.events_out.ports import EventsQueue, EventsRecorder, NullEventsRecorder
from services.events_out.signing import signed_headers
from services.events_out.slots import EndpointSlots
from services.events_out.transport import Sent, WebhookSender
from services.handoff import hand_off

log = logging.getLogger("paygraph.events_out")

RETRY_SCHEDULE: tuple[timedelta, ...] = tuple(
    timedelta(seconds=s) for s in (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
)
"""schedule[0]: the first attempt, at once; schedule[i]: the wait after the i-th failure."""


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    schedule: tuple[timedelta, ...] = RETRY_SCHEDULE
    timeout: float = 15.0  # seconds for a whole attempt
    endpoint_concurrency: int = 8  # attempts in flight to one endpoint, across workers
    disable_after: timedelta = timedelta(days=5)
    busy_retry: float = 0.25  # seconds before a job without a slot looks again
    overdue_after: timedelta = timedelta(seconds=30)  # the sweep re-queues later attempts
    enqueue_within: float = 1.0

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.timeout + 5)


class Outcome(StrEnum):
    DELIVERED = "delivered"
    RETRYING = "retrying"  # failed; the next attempt is scheduled
    FAILED = "failed"  # the schedule's last attempt failed
    BUSY = "busy"  # no slot, or another worker holds the attempt: look again shortly
    SKIPPED = "skipped"  # nothing to do (done, moved on, or the endpoint is gone or disabled)


@dataclass(frozen=True, slots=True)
class Attempted:
    outcome: Outcome
    retry_in: float = 0.0  # BUSY: seconds to wait before looking again


class Deliverer:
    def __init__(
        self,
        endpoints: Endpoints,
        sender: WebhookSender,
        slots: EndpointSlots,
        queue: EventsQueue,
        policy: DeliveryPolicy,
        *,
        alerts: AlertService | None = None,
        recorder: EventsRecorder | None = None,
    ) -> None:
        self._endpoints = endpoints
        self._sender = sender
        self._slots = slots
        self._queue = queue
        self._policy = policy
        self._alerts = alerts
        self._recorder = recorder or NullEventsRecorder()

    async def deliver(self, delivery_id: str, attempt: int) -> Attempted:
        delivery = await Delivery.get(delivery_id)
        if not _due(delivery, attempt):
            return Attempted(Outcome.SKIPPED)
        assert delivery is not None
        endpoint = await WebhookEndpoint.get(delivery.endpoint_id)
        if endpoint is None or not endpoint.enabled:
            return Attempted(Outcome.SKIPPED)  # a re-enabled endpoint's sweep sends it
        slot = await self._slots.take(str(endpoint.id))
        if slot is None:
            return Attempted(Outcome.BUSY, self._policy.busy_retry)
        try:
            now = utcnow()
            claimed = await Delivery.get_pymongo_collection().update_one(
                {
                    "_id": delivery.id,
                    "status": DeliveryStatus.PENDING.value,
                    "attempts": attempt - 1,
                    "$or": [{"lease_until": None}, {"lease_until": {"$lte": now}}],
                },
                {"$set": {"lease_until": now + self._policy.lease}},
            )
            if claimed.modified_count != 1:
                return await self._not_claimed(delivery_id, attempt)
            event = await Event.get(delivery.event_id)
            if event is None:  # never: deliveries are made from stored events
                log.error("delivery %s has no event", delivery_id)
                return Attempted(Outcome.SKIPPED)
            sent = await self._send(endpoint, event)
            return await self._record(delivery, endpoint, event, attempt, sent)
        finally:
            await self._slots.give_back(str(endpoint.id), slot)

    async def _not_claimed(self, delivery_id: str, attempt: int) -> Attempted:
        current = await Delivery.get(delivery_id)
        if _due(current, attempt) and current is not None and current.lease_until is not None:
            left = (as_utc(current.lease_until) - utcnow()).total_seconds()
            return Attempted(Outcome.BUSY, max(left, self._policy.busy_retry))
        return Attempted(Outcome.SKIPPED)

    async def _send(self, endpoint: WebhookEndpoint, event: Event) -> Sent:
        body = json.dumps(event.body(), separators=(",", ":"))
        sent_at = utcnow()
        try:
            secrets = self._endpoints.signing_secrets(endpoint, sent_at)
        except UndecryptableToken:
            return Sent(None, None, "the endpoint's secret cannot be decrypted", 0)
        headers = signed_headers(secrets, event.id, sent_at, body)
        return await self._sender.post(endpoint.url, body.encode(), headers)

    async def _record(
        self, delivery: Delivery, endpoint: WebhookEndpoint, event: Event, attempt: int, sent: Sent
    ) -> Attempted:
        now = utcnow()
        fields: dict[str, object] = {
            "attempts": attempt,
            "lease_until": None,
            "last_attempt_at": now,
            "last_response_code": sent.status_code,
            "last_response_excerpt": sent.excerpt,
            "last_error": sent.error,
            "last_duration_ms": sent.duration_ms,
        }
        made = attempt - delivery.schedule_start  # attempts of the current schedule
        next_at: datetime | None = None
        if sent.ok:
            outcome = Outcome.DELIVERED
            fields |= {"status": DeliveryStatus.DELIVERED.value, "delivered_at": now}
        elif made < len(self._policy.schedule):
            outcome = Outcome.RETRYING
            next_at = now + self._policy.schedule[made]
        else:
            outcome = Outcome.FAILED
            fields["status"] = DeliveryStatus.FAILED.value
        fields["next_attempt_at"] = next_at
        await Delivery.get_pymongo_collection().update_one(
            {"_id": delivery.id, "attempts": attempt - 1}, {"$set": fields}
        )
        refused = sent.error is not None and sent.error.startswith("refused")
        self._recorder.webhook_attempt(
            "refused" if refused else outcome.value, sent.duration_ms / 1000
        )
        if sent.ok:
            self._recorder.webhook_delivered((now - event.timestamp).total_seconds())
        if next_at is not None:
            await hand_off(
                self._queue.enqueue_delivery(delivery.id, attempt + 1, at=next_at),
                within=self._policy.enqueue_within,
                what=f"delivery {delivery.id} attempt {attempt + 1}",
                log=log,
            )
        await self._health(endpoint, sent.ok, now)
        return Attempted(outcome)

    async def _health(self, endpoint: WebhookEndpoint, ok: bool, now: datetime) -> None:
        """Any success clears the failing streak; five days of failures disable the endpoint."""
        collection = WebhookEndpoint.get_pymongo_collection()
        if ok:
            if endpoint.failing_since is not None:
                await collection.update_one({"_id": endpoint.id}, {"$set": {"failing_since": None}})
            return
        if endpoint.failing_since is None:
            await collection.update_one(
                {"_id": endpoint.id, "failing_since": None}, {"$set": {"failing_since": now}}
            )
            return
        since = as_utc(endpoint.failing_since)
        if now - since < self._policy.disable_after:
            return
        reason = f"every delivery failed since {since.isoformat()}"
        disabled = await collection.update_one(
            {"_id": endpoint.id, "enabled": True},
            {"$set": {"enabled": False, "disabled_reason": reason, "updated_at": now}},
        )
        if disabled.modified_count == 1:
            log.warning("webhook endpoint %s disabled: %s", endpoint.id, reason)
            if self._alerts is not None:
                await self._alerts.raise_alert(
                    WEBHOOK_ENDPOINT_DISABLED,
                    str(endpoint.id),
                    {"endpoint_id": str(endpoint.id), "url": endpoint.url, "reason": reason},
                )

    async def redeliver(self, event_id: str, endpoint_id: str) -> Delivery:
        """Send the event to the endpoint again, with the same webhook-id, on a fresh schedule
        (a delivery is made when the endpoint never had one for it)."""
        endpoint = await self._endpoints.get(endpoint_id)
        if not endpoint.enabled:
            raise InvalidState("the endpoint is disabled: enable it first")
        event = await Event.get(event_id)
        if event is None:
            raise EventNotFound(field="eventId")
        assert endpoint.id is not None
        key = Delivery.key(event.id, endpoint.id)
        delivery = await Delivery.get(key)
        if delivery is None:
            delivery = Delivery(
                id=key, event_id=event.id, event_type=event.type, endpoint_id=endpoint.id
            )
            await delivery.insert()
        elif not (delivery.lease_until and as_utc(delivery.lease_until) > utcnow()):
            restarted = await Delivery.get_pymongo_collection().update_one(
                {"_id": key, "attempts": delivery.attempts},
                {
                    "$set": {
                        "status": DeliveryStatus.PENDING.value,
                        "schedule_start": delivery.attempts,
                        "next_attempt_at": utcnow(),
                    }
                },
            )
            if restarted.modified_count != 1:
                raise InvalidState("the delivery is being attempted; try again")
        # else: an attempt is in flight right now; it is the redelivery.
        await hand_off(
            self._queue.enqueue_delivery(key, delivery.attempts + 1, tag="redeliver"),
            within=self._policy.enqueue_within,
            what=f"redelivery {key}",
            log=log,
        )
        found = await Delivery.get(key)
        assert found is not None
        return found

    async def sweep(self, *, now: datetime | None = None) -> int:
        """Queue again the deliveries of enabled endpoints whose attempt is overdue (its job
        was lost, or its worker died); reports how long the oldest due one has waited."""
        now = now or utcnow()
        enabled = [e.id for e in await WebhookEndpoint.find({"enabled": True}).to_list()]
        due = {
            "status": DeliveryStatus.PENDING.value,
            "endpoint_id": {"$in": enabled},
            "next_attempt_at": {"$lte": now},
        }
        oldest = await Delivery.find(due).sort("next_attempt_at").limit(1).to_list()
        due_at = oldest[0].next_attempt_at if oldest else None
        waited = (now - as_utc(due_at)).total_seconds() if due_at is not None else 0.0
        self._recorder.events_backlog("deliveries", max(waited, 0.0))
        overdue = {
            **due,
            "next_attempt_at": {"$lte": now - self._policy.overdue_after},
            "$or": [{"lease_until": None}, {"lease_until": {"$lte": now}}],
        }
        late = await Delivery.find(overdue).limit(500).to_list()
        for delivery in late:
            # A job of its own: the attempt's job may be held by a dead worker's arq marker
            # (until arq's in-progress timeout); whichever runs first claims the attempt.
            await hand_off(
                self._queue.enqueue_delivery(delivery.id, delivery.attempts + 1, tag="sweep"),
                within=self._policy.enqueue_within,
                what=f"delivery {delivery.id}",
                log=log,
            )
        return len(late)


def _due(delivery: Delivery | None, attempt: int) -> bool:
    return (
        delivery is not None
        and delivery.status is DeliveryStatus.PENDING
        and delivery.attempts == attempt - 1
    )
