"""Events out: what the shop's backend is told, where, and how each delivery went.

An `OutboxEntry` is written into the changed document itself (a payment, a refund, a
reconciliation report) by the same write as the change, so the change and its event exist
together or not at all. The relay copies entries into `events` (its id is the event's id, so a
repeat is a no-op), creates one `Delivery` per subscribed endpoint, and pulls them from the
document.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from beanie import Document, PydanticObjectId
from pydantic import BaseModel, ConfigDict, Field
from pymongo import ASCENDING, DESCENDING, IndexModel

from models.clock import UtcDateTime, as_utc, utcnow


class EventType(StrEnum):
    """The catalog (docs/events.md documents each with its JSON shape)."""

    PAYMENT_INITIATED = "payment.initiated"
    PAYMENT_AUTHORIZED = "payment.authorized"
    PAYMENT_COMPLETED = "payment.completed"
    PAYMENT_FAILED = "payment.failed"
    PAYMENT_CANCELLED = "payment.cancelled"
    PAYMENT_EXPIRED = "payment.expired"
    PAYMENT_PARTIALLY_REFUNDED = "payment.partially_refunded"
    PAYMENT_REFUNDED = "payment.refunded"
    PAYMENT_LATE_PAYMENT = "payment.late_payment"
    REFUND_CREATED = "refund.created"
    REFUND_COMPLETED = "refund.completed"
    REFUND_FAILED = "refund.failed"
    RECONCILIATION_ISSUE_FOUND = "reconciliation.issue_found"


class OutboxSource(StrEnum):
    """The collections whose documents carry an outbox, by the name relay jobs use."""

    PAYMENT = "payment"
    REFUND = "refund"
    RECONCILIATION = "reconciliation"


def body(event_type: EventType, timestamp: datetime, data: dict[str, Any]) -> dict[str, Any]:
    """What is posted: Standard Webhooks' `{"type", "timestamp", "data"}`."""
    return {"type": event_type.value, "timestamp": timestamp.isoformat(), "data": data}


class OutboxEntry(BaseModel):
    """An event not yet relayed, inside the document whose change it reports."""

    model_config = ConfigDict(frozen=True)

    id: str  # evt_<ULID>: unique, sortable by creation time, the webhook-id of every delivery
    type: EventType
    timestamp: UtcDateTime  # when the change happened
    resource_id: str  # the payment, refund or report the event is about
    version: int  # that resource's version after the change (0 for a report)
    # The payload's `data`, GraphQL field names: the wire format, built once at the change.
    data: dict[str, Any]

    def body(self) -> dict[str, Any]:
        return body(self.type, self.timestamp, self.data)


class Event(Document):
    """A relayed event; kept (no TTL) like every money record."""

    id: str  # type: ignore[assignment]  # evt_...: the same id the outbox entry had
    type: EventType
    timestamp: UtcDateTime
    resource_id: str
    version: int
    data: dict[str, Any]
    relayed_at: UtcDateTime = Field(default_factory=utcnow)

    class Settings:
        name = "events"
        indexes = [
            IndexModel([("type", ASCENDING), ("_id", DESCENDING)], name="type_id"),
            IndexModel([("resource_id", ASCENDING)], name="resource_id"),
        ]

    @classmethod
    def from_entry(cls, entry: OutboxEntry) -> Event:
        return cls(
            id=entry.id,
            type=entry.type,
            timestamp=entry.timestamp,
            resource_id=entry.resource_id,
            version=entry.version,
            data=entry.data,
        )

    def body(self) -> dict[str, Any]:
        return body(self.type, self.timestamp, self.data)


class EndpointSecret(BaseModel):
    model_config = ConfigDict(frozen=True)

    ciphertext: str  # the whsec_ secret, encrypted with the token vault
    created_at: UtcDateTime = Field(default_factory=utcnow)
    expires_at: UtcDateTime | None = None  # a rotated-out secret signs until then

    def in_force(self, now: datetime) -> bool:
        """Whether it still signs: never rotated out, or its overlap not over yet."""
        return self.expires_at is None or as_utc(self.expires_at) > now


class WebhookEndpoint(Document):
    url: str
    description: str | None = None
    # Event types it receives; empty means every type.
    events: list[EventType] = Field(default_factory=list)
    enabled: bool = True
    disabled_reason: str | None = None
    # Newest first: the first signs; older ones also sign until they expire (rotation).
    secrets: list[EndpointSecret]
    # First failure of the current run of failures; cleared by any success. Five days of
    # failures disable the endpoint.
    failing_since: UtcDateTime | None = None
    created_at: UtcDateTime = Field(default_factory=utcnow)
    updated_at: UtcDateTime = Field(default_factory=utcnow)

    class Settings:
        name = "webhook_endpoints"
        indexes = [IndexModel([("enabled", ASCENDING)], name="enabled")]

    def wants(self, event_type: EventType) -> bool:
        return not self.events or event_type in self.events


class DeliveryStatus(StrEnum):
    PENDING = "PENDING"  # waiting for its next attempt
    DELIVERED = "DELIVERED"  # a 2xx answer
    FAILED = "FAILED"  # every scheduled attempt failed; redeliverEvent tries again


class Delivery(Document):
    """One event to one endpoint: its status and the last attempt's outcome."""

    id: str  # type: ignore[assignment]  # "<event id>:<endpoint id>": one per pair by construction
    event_id: str
    event_type: EventType
    endpoint_id: PydanticObjectId
    status: DeliveryStatus = DeliveryStatus.PENDING
    attempts: int = Field(default=0, ge=0)
    # The attempt count when the current retry schedule started (0, or where a redelivery
    # started it again).
    schedule_start: int = Field(default=0, ge=0)
    next_attempt_at: UtcDateTime | None = Field(default_factory=utcnow)
    # A worker is sending it until then (a worker killed mid-send leaves it to lapse).
    lease_until: UtcDateTime | None = None
    last_attempt_at: UtcDateTime | None = None
    last_response_code: int | None = None
    last_response_excerpt: str | None = None  # the first few hundred characters, never more
    last_error: str | None = None  # transport errors and refusals (no answer to show)
    last_duration_ms: int | None = None
    delivered_at: UtcDateTime | None = None
    created_at: UtcDateTime = Field(default_factory=utcnow)

    class Settings:
        name = "webhook_deliveries"
        indexes = [
            IndexModel([("endpoint_id", ASCENDING), ("_id", DESCENDING)], name="endpoint_id"),
            IndexModel([("status", ASCENDING), ("next_attempt_at", ASCENDING)], name="due"),
            IndexModel([("event_id", ASCENDING)], name="event_id"),
        ]

    @staticmethod
    def key(event_id: str, endpoint_id: PydanticObjectId | str) -> str:
        return f"{event_id}:{endpoint_id}"


OUTBOX_INDEX = IndexModel(
    [("outbox.timestamp", ASCENDING)],
    name="outbox_pending",
    partialFilterExpression={"outbox.timestamp": {"$exists": True}},
)
"""On each outbox-carrying collection: the sweep finds documents with events left unrelayed
without reading the others."""
