"""The webhook inbox: intake stores each verified gateway event once and enqueues it; the
processor applies it through the same service methods as GraphQL.

Intake is four steps (verify, insert under a unique index, enqueue only if new, answer) and never
calls a gateway or decides anything. Processing is safe to run any number of times: duplicates
and stale events are no-ops for the state machine, and the row's status records the outcome.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from beanie import PydanticObjectId
from pymongo.errors import DuplicateKeyError, PyMongoError

from gateways.base import Gateway, GatewayError, GatewayEvent, GatewayEventKind
from gateways.registry import GatewayRegistry
from models.clock import utcnow
from models.enums import WebhookEventStatus
from models.errors import (
    DomainError,
    InboxUnavailable,
    InvalidState,
    NotFound,
    TargetNotFound,
    ValidationFailed,
)
from models.webhook_event import NormalizedEvent, WebhookEvent
from services.handoff import hand_off
from services.kit import object_id
from services.redaction import redact_payload

log = logging.getLogger("paygraph.webhooks")

PAYMENT_KINDS = frozenset(
    {
        GatewayEventKind.PAYMENT_AUTHORIZED,
        GatewayEventKind.PAYMENT_CAPTURED,
        GatewayEventKind.PAYMENT_PENDING,
        GatewayEventKind.PAYMENT_FAILED,
        GatewayEventKind.PAYMENT_VOIDED,
        GatewayEventKind.ORDER_PAID,
        GatewayEventKind.ORDER_APPROVED,
    }
)
REFUND_KINDS = frozenset(
    {
        GatewayEventKind.REFUND_CREATED,
        GatewayEventKind.REFUND_PROCESSED,
        GatewayEventKind.REFUND_FAILED,
        GatewayEventKind.PAYMENT_REVERSED,
    }
)


class JobQueue(Protocol):
    """Where intake hands events to the workers (arq in workers/)."""

    async def enqueue_webhook(
        self, gateway: Gateway, event_id: str, *, replay: int = 0, again: bool = False
    ) -> None: ...


class PaymentEventHandler(Protocol):
    async def apply_gateway_event(self, event: GatewayEvent) -> PydanticObjectId: ...


class RefundEventHandler(Protocol):
    async def apply_gateway_event(
        self, event: GatewayEvent
    ) -> tuple[PydanticObjectId, PydanticObjectId | None]: ...


class Intake(StrEnum):
    NEW = "new"
    DUPLICATE = "duplicate"


@dataclass(frozen=True, slots=True)
class EventPage:
    items: list[WebhookEvent]
    has_next_page: bool
    end_cursor: str | None


@dataclass
class WebhookPolicy:
    max_attempts: int = 8  # of a job whose payment is not found yet, before it is FAILED
    enqueue_timeout: float = 1.0
    sweep_after: timedelta = field(default_factory=lambda: timedelta(seconds=30))
    sweep_batch: int = 500
    # How long a processed event keeps its (redacted) payload; the row itself stays.
    payload_retention: timedelta = field(default_factory=lambda: timedelta(days=30))


class WebhookInbox:
    def __init__(self, queue: JobQueue, policy: WebhookPolicy | None = None) -> None:
        self._queue = queue
        self._policy = policy or WebhookPolicy()

    async def receive(self, event: GatewayEvent, payload: Mapping[str, Any]) -> Intake:
        """Store a verified event once; enqueue it only when it is new. Redis being down loses
        nothing: the row stays RECEIVED and the sweep enqueues it later."""
        row = WebhookEvent(
            gateway=event.gateway,
            gateway_event_id=event.event_id,
            event_type=event.raw_type,
            payload=redact_payload(payload),
            event=normalize(event),
        )
        try:
            await row.insert()
        except DuplicateKeyError:
            return Intake.DUPLICATE
        except PyMongoError as exc:
            raise InboxUnavailable(str(exc)) from exc
        await self._enqueue(event.gateway, event.event_id)
        return Intake.NEW

    async def _enqueue(
        self, gateway: Gateway, event_id: str, *, replay: int = 0, again: bool = False
    ) -> bool:
        return await hand_off(
            self._queue.enqueue_webhook(gateway, event_id, replay=replay, again=again),
            within=self._policy.enqueue_timeout,
            what=f"event {gateway}:{event_id}",
            log=log,
        )

    async def sweep(self, *, now: datetime | None = None) -> int:
        """Re-enqueue rows still RECEIVED after the threshold (stored while Redis was down, or
        whose worker died). The deterministic job id keeps a queued job from doubling."""
        cutoff = (now or utcnow()) - self._policy.sweep_after
        stale = (
            await WebhookEvent.find(
                {"status": WebhookEventStatus.RECEIVED.value, "received_at": {"$lte": cutoff}}
            )
            .sort("received_at")
            .limit(self._policy.sweep_batch)
            .to_list()
        )
        enqueued = 0
        for row in stale:
            enqueued += await self._enqueue(row.gateway, row.gateway_event_id, again=True)
        return enqueued

    async def prune_payloads(self, *, now: datetime | None = None) -> int:
        """Drop the payloads of events processed or ignored more than WEBHOOK_PAYLOAD_RETENTION_DAYS
        ago; the row (ids, type, status, outcome) stays. Returns how many were pruned."""
        now = now or utcnow()
        result = await WebhookEvent.get_pymongo_collection().update_many(
            {
                "status": {"$in": [s.value for s in _DONE]},
                "received_at": {"$lt": now - self._policy.payload_retention},
                "payload": {"$ne": None},
            },
            {"$set": {"payload": None, "payload_pruned_at": now}},
        )
        return result.modified_count

    async def replay(self, event_row_id: str) -> WebhookEvent:
        """Admin: process an event again (its effects stay idempotent)."""
        row = await WebhookEvent.get(
            object_id(event_row_id, otherwise=NotFound("webhook event not found", field="id"))
        )
        if row is None:
            raise NotFound("webhook event not found", field="id")
        await WebhookEvent.get_pymongo_collection().update_one(
            {"_id": row.id},
            {"$set": {"status": WebhookEventStatus.RECEIVED.value, "last_error": None}},
        )
        if not await self._enqueue(row.gateway, row.gateway_event_id, replay=row.attempts + 1):
            raise InvalidState("the job queue is unavailable; the sweep will process it")
        reread = await WebhookEvent.get(row.id)
        assert reread is not None
        return reread

    async def list_events(
        self,
        *,
        gateway: Gateway | None = None,
        status: WebhookEventStatus | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> EventPage:
        if not 1 <= first <= 100:
            raise ValidationFailed("first must be between 1 and 100", field="first")
        query: dict[str, Any] = {}
        if gateway is not None:
            query["gateway"] = gateway.value
        if status is not None:
            query["status"] = status.value
        if after:
            query["_id"] = {
                "$lt": object_id(
                    after, otherwise=NotFound("webhook event not found", field="after")
                )
            }
        found = await WebhookEvent.find(query).sort("-_id").limit(first + 1).to_list()
        items = found[:first]
        return EventPage(items, len(found) > first, str(items[-1].id) if items else None)


class Outcome(StrEnum):
    PROCESSED = "processed"
    IGNORED = "ignored"
    RETRY = "retry"
    FAILED = "failed"
    SKIPPED = "skipped"  # already done, or no such row


class WebhookProcessor:
    """Applies one stored event. Returns what happened; RETRY means "call again later"."""

    def __init__(
        self,
        payments: PaymentEventHandler,
        refunds: RefundEventHandler | None,
        policy: WebhookPolicy | None = None,
    ) -> None:
        self._payments = payments
        self._refunds = refunds
        self._policy = policy or WebhookPolicy()

    async def process(self, gateway: Gateway, event_id: str) -> Outcome:
        row = await WebhookEvent.find_one({"gateway": gateway.value, "gateway_event_id": event_id})
        if row is None or row.status in (WebhookEventStatus.PROCESSED, WebhookEventStatus.IGNORED):
            return Outcome.SKIPPED
        attempts = row.attempts + 1
        event = denormalize(row)
        if event.kind is GatewayEventKind.UNKNOWN or (
            event.kind in REFUND_KINDS and self._refunds is None
        ):
            await _finish(row, WebhookEventStatus.IGNORED, attempts, None)
            return Outcome.IGNORED
        try:
            if event.kind in REFUND_KINDS:
                assert self._refunds is not None
                payment_id, refund_id = await self._refunds.apply_gateway_event(event)
            else:
                payment_id, refund_id = await self._payments.apply_gateway_event(event), None
        except TargetNotFound as exc:
            if attempts < self._policy.max_attempts:
                await _finish(row, WebhookEventStatus.RECEIVED, attempts, f"not found yet: {exc}")
                return Outcome.RETRY
            await _finish(row, WebhookEventStatus.FAILED, attempts, f"gave up: {exc}")
            return Outcome.FAILED
        except GatewayError as exc:
            # A gateway call made while applying (a capture) failed: try again later, and give
            # up visibly (FAILED, which the sweep leaves alone) after the last attempt.
            final = attempts >= self._policy.max_attempts
            status = WebhookEventStatus.FAILED if final else WebhookEventStatus.RECEIVED
            await _finish(row, status, attempts, f"{exc.code}: {exc.message}")
            return Outcome.FAILED if final else Outcome.RETRY
        except (InvalidState, DomainError) as exc:
            # A real contradiction with what we hold: keep it visible for an operator.
            await _finish(row, WebhookEventStatus.FAILED, attempts, f"{exc.code}: {exc.message}")
            return Outcome.FAILED
        await _finish(row, WebhookEventStatus.PROCESSED, attempts, None, payment_id, refund_id)
        return Outcome.PROCESSED

    async def give_up(self, gateway: Gateway, event_id: str, reason: str) -> None:
        """The event's job failed unexpectedly on its last try: the row becomes FAILED with the
        reason (the sweep leaves FAILED rows alone; an admin may replay it)."""
        await WebhookEvent.get_pymongo_collection().update_one(
            {
                "gateway": gateway.value,
                "gateway_event_id": event_id,
                "status": {"$nin": [s.value for s in _DONE]},
            },
            {"$set": {"status": WebhookEventStatus.FAILED.value, "last_error": reason[:500]}},
        )


_DONE = (WebhookEventStatus.PROCESSED, WebhookEventStatus.IGNORED)


async def _finish(
    row: WebhookEvent,
    status: WebhookEventStatus,
    attempts: int,
    error: str | None,
    payment_id: PydanticObjectId | None = None,
    refund_id: PydanticObjectId | None = None,
) -> None:
    fields: dict[str, Any] = {"status": status.value, "attempts": attempts, "last_error": error}
    if status in (WebhookEventStatus.PROCESSED, WebhookEventStatus.IGNORED):
        fields["processed_at"] = utcnow()
    if payment_id is not None:
        fields["payment_id"] = payment_id
    if refund_id is not None:
        fields["refund_id"] = refund_id
    await WebhookEvent.get_pymongo_collection().update_one({"_id": row.id}, {"$set": fields})


def normalize(event: GatewayEvent) -> NormalizedEvent:
    return NormalizedEvent(
        kind=event.kind.value,
        order_id=event.order_id,
        payment_id=event.payment_id,
        refund_id=event.refund_id,
        reference=event.reference,
        refund_reference=event.refund_reference,
        amount_minor=event.amount_minor,
        currency=event.currency,
        error_code=event.error_code,
        error_reason=event.error_reason,
        created_at=event.created_at,
    )


def denormalize(row: WebhookEvent) -> GatewayEvent:
    stored = row.event
    try:
        kind = GatewayEventKind(stored.kind)
    except ValueError:
        kind = GatewayEventKind.UNKNOWN
    return GatewayEvent(
        gateway=row.gateway,
        event_id=row.gateway_event_id,
        kind=kind,
        raw_type=row.event_type,
        order_id=stored.order_id,
        payment_id=stored.payment_id,
        refund_id=stored.refund_id,
        reference=stored.reference,
        refund_reference=stored.refund_reference,
        amount_minor=stored.amount_minor,
        currency=stored.currency,
        error_code=stored.error_code,
        error_reason=stored.error_reason,
        created_at=stored.created_at,
    )


__all__ = [
    "GatewayRegistry",
    "InboxUnavailable",
    "Intake",
    "TargetNotFound",
    "WebhookInbox",
    "WebhookProcessor",
]
