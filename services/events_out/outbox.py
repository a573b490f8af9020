"""The outbox's far side: relaying entries from the changed documents into `events`, and fanning
each event out into one delivery per subscribed endpoint.

Writers put an event into the changed document's `outbox` array in the very write that makes
the change (`push_update`), so the change and its event are one write: both or neither. Right
after the write, `OutboxNudge` (a change observer) queues a relay job for that document, off
the request path; `sweep` relays whatever a lost job or a crashed process left behind.

Relaying is safe to repeat at any step: the event is inserted under its own id (a second insert
is a duplicate, ignored), each delivery under "<event id>:<endpoint id>" (likewise), the first
attempt's job id is fixed, and the entries are pulled from the document last, by id.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from beanie import Document, PydanticObjectId
from pymongo.errors import BulkWriteError

from models.clock import as_utc, utcnow
from models.enums import PaymentStatus, RefundStatus
from models.events_out import Delivery, Event, OutboxEntry, OutboxSource, WebhookEndpoint
from models.payment import LatePayment, Payment
from models.reconciliation import ReconciliationReport
from models.refund import Refund
from services.events_out.payloads import PAYMENT_EVENT_TYPES, REFUND_EVENT_TYPES
from services.events_out.ports import EventsQueue, EventsRecorder, NullEventsRecorder
from services.handoff import hand_off
from services.kit import Coalesced

log = logging.getLogger("paygraph.events_out")

SOURCES: dict[OutboxSource, type[Document]] = {
    OutboxSource.PAYMENT: Payment,
    OutboxSource.REFUND: Refund,
    OutboxSource.RECONCILIATION: ReconciliationReport,
}
_DUPLICATE_KEY = 11000
ENQUEUE_WITHIN = 1.0  # seconds; a slower queue is the sweep's business
NUDGE_WINDOW_SECONDS = 0.05  # writes of one document within this share one relay job


def push_update(entries: Sequence[OutboxEntry]) -> dict[str, Any]:
    """The `$push` that puts `entries` into a document's outbox, for the change's own update."""
    return {"outbox": {"$each": [entry.model_dump(mode="python") for entry in entries]}}


async def insert_new(model: type[Document], documents: Sequence[Document]) -> None:
    """Insert, skipping the ones already there (their ids are deterministic)."""
    if not documents:
        return
    try:
        await model.insert_many(list(documents), ordered=False)
    except BulkWriteError as exc:
        other = [e for e in exc.details.get("writeErrors", []) if e.get("code") != _DUPLICATE_KEY]
        if other or exc.details.get("writeConcernErrors"):
            raise


class OutboxRelay:
    def __init__(self, queue: EventsQueue, recorder: EventsRecorder | None = None) -> None:
        self._queue = queue
        self._recorder = recorder or NullEventsRecorder()

    async def relay(self, source: OutboxSource, document_ids: Sequence[str]) -> int:
        """Move the documents' outboxes into `events` and deliveries: one read and one insert
        however many documents, then each document's pull; the number of events moved."""
        model = SOURCES[source]
        collection = model.get_pymongo_collection()
        oids = [PydanticObjectId(document_id) for document_id in document_ids]
        rows = await collection.find(
            {"_id": {"$in": oids}, "outbox.0": {"$exists": True}}, {"outbox": 1}
        ).to_list(None)
        if not rows:
            return 0
        entries = [OutboxEntry.model_validate(entry) for row in rows for entry in row["outbox"]]
        await self.publish(entries)
        # One update per document, as each writer's own: a multi-document update_many here
        # could wait on a payment or refund transaction in flight (seen on the MongoDB-wire
        # test server as a deadlock with a refund's settlement).
        for row in rows:
            await collection.update_one(
                {"_id": row["_id"]},
                {"$pull": {"outbox": {"id": {"$in": [e["id"] for e in row["outbox"]]}}}},
            )
        return len(entries)

    async def publish(self, entries: Sequence[OutboxEntry]) -> None:
        """Store the events and one delivery per endpoint that wants each (endpoints registered
        after the change are not told of it), then queue each delivery's first attempt."""
        events = [Event.from_entry(entry) for entry in entries]
        await insert_new(Event, events)
        endpoints = await WebhookEndpoint.find({"enabled": True}).to_list()
        deliveries = [
            _delivery(event, endpoint)
            for event in events
            for endpoint in endpoints
            if endpoint.wants(event.type) and as_utc(endpoint.created_at) <= event.timestamp
        ]
        await insert_new(Delivery, deliveries)
        await asyncio.gather(*(self.queue_first_attempt(d.id) for d in deliveries))

    async def queue_first_attempt(self, delivery_id: str) -> None:
        await hand_off(
            self._queue.enqueue_delivery(delivery_id, 1),
            within=ENQUEUE_WITHIN,
            what=f"delivery {delivery_id}",
            log=log,
        )

    async def sweep(
        self, *, now: datetime | None = None, older_than: timedelta = timedelta(seconds=10)
    ) -> int:
        """Relay every outbox entry older than `older_than` (its job was lost, or its process
        died); also reports the oldest entry's age. The number of events relayed."""
        now = now or utcnow()
        relayed = 0
        oldest = now
        for source, model in SOURCES.items():
            pending = await (
                model.get_pymongo_collection()
                .find(
                    {"outbox.timestamp": {"$lte": now - older_than}},
                    {"_id": 1, "outbox.timestamp": 1},
                )
                .limit(500)
                .to_list(None)
            )
            for row in pending:
                oldest = min([oldest, *(as_utc(e["timestamp"]) for e in row["outbox"])])
            if pending:
                relayed += await self.relay(source, [str(row["_id"]) for row in pending])
        self._recorder.events_backlog("outbox", (now - oldest).total_seconds())
        return relayed


def _delivery(event: Event, endpoint: WebhookEndpoint) -> Delivery:
    assert endpoint.id is not None
    return Delivery(
        id=Delivery.key(event.id, endpoint.id),
        event_id=event.id,
        event_type=event.type,
        endpoint_id=endpoint.id,
        next_attempt_at=utcnow(),
    )


class OutboxNudge:
    """A change observer that queues the relay of each written event right after its write,
    in the background: the writer never waits for the queue (the sweep covers a lost one).
    Nudges are batched: a relay moves the document's whole outbox, so one job per document per
    short window (keyed by the latest write) relays every write of that window."""

    def __init__(self, queue: EventsQueue, window: float = NUDGE_WINDOW_SECONDS) -> None:
        self._queue = queue
        self._batch: Coalesced[tuple[OutboxSource, str], tuple[OutboxSource, str, int]] = Coalesced(
            self._enqueue, window
        )

    def payment_transitioned(self, payment: Payment, status: PaymentStatus, at: datetime) -> None:
        if status in PAYMENT_EVENT_TYPES:
            self._nudge(OutboxSource.PAYMENT, payment.id, payment.version)

    def payment_attempt_failed(self, payment: Payment) -> None:
        return None  # a status change comes with its own call

    def refund_transitioned(self, refund: Refund, status: RefundStatus) -> None:
        if status in REFUND_EVENT_TYPES:
            self._nudge(OutboxSource.REFUND, refund.id, refund.version)

    def late_payment(self, payment: Payment, late: LatePayment) -> None:
        self._nudge(OutboxSource.PAYMENT, payment.id, payment.version)  # payment.late_payment

    def _nudge(self, source: OutboxSource, document_id: Any, version: int) -> None:
        key = (source, str(document_id))
        try:
            self._batch.add(key, version, (*key, version))
        except RuntimeError:  # no loop, no job: the sweep relays it
            return

    async def _enqueue(self, nudges: list[tuple[OutboxSource, str, int]]) -> None:
        """One relay job per source for the whole window's writes, named by them (so the same
        writes queued twice are one job)."""
        writes: dict[OutboxSource, list[tuple[str, int]]] = {}
        for source, document_id, version in nudges:
            writes.setdefault(source, []).append((document_id, version))
        jobs = []
        for source, of_source in writes.items():
            of_source.sort()
            named = ",".join(f"{document_id}:{version}" for document_id, version in of_source)
            key = hashlib.sha256(named.encode()).hexdigest()[:24]
            jobs.append((source.value, [document_id for document_id, _ in of_source], key))
        await hand_off(
            self._queue.enqueue_relays(jobs),
            within=ENQUEUE_WITHIN,
            what=f"relay of {len(nudges)} outboxes",
            log=log,
        )

    async def aclose(self) -> None:
        await self._batch.aclose()
