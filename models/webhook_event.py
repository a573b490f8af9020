"""The webhook inbox: one row per (gateway, event id), inserted before anything is applied."""

from __future__ import annotations

from typing import Any

from beanie import Document, PydanticObjectId
from pydantic import BaseModel, ConfigDict, Field
from pymongo import ASCENDING, DESCENDING, IndexModel

from models.clock import UtcDateTime, utcnow
from models.enums import Gateway, WebhookEventStatus


class NormalizedEvent(BaseModel):
    """What the event means, as the gateway adapter read it at intake (gateway-neutral)."""

    model_config = ConfigDict(frozen=True)

    kind: str
    order_id: str | None = None
    payment_id: str | None = None
    refund_id: str | None = None
    reference: str | None = None
    refund_reference: str | None = None
    amount_minor: int | None = None
    currency: str | None = None
    error_code: str | None = None
    error_reason: str | None = None
    created_at: int | None = None


class WebhookEvent(Document):
    gateway: Gateway
    gateway_event_id: str = Field(min_length=1)
    event_type: str  # the gateway's own name, e.g. "payment.captured"
    # The verified body as the gateway sent it, redacted before the insert (services/redaction.py):
    # the one dict[str, Any] allowed across layers. None once pruned after the retention period.
    payload: dict[str, Any] | None
    payload_pruned_at: UtcDateTime | None = None
    event: NormalizedEvent
    received_at: UtcDateTime = Field(default_factory=utcnow)
    status: WebhookEventStatus = WebhookEventStatus.RECEIVED
    attempts: int = Field(default=0, ge=0)
    last_error: str | None = None
    processed_at: UtcDateTime | None = None
    payment_id: PydanticObjectId | None = None
    refund_id: PydanticObjectId | None = None

    class Settings:
        name = "webhook_events"
        indexes = [
            IndexModel(
                [("gateway", ASCENDING), ("gateway_event_id", ASCENDING)],
                name="gateway_event_unique",
                unique=True,
            ),
            IndexModel(
                [("gateway", ASCENDING), ("received_at", DESCENDING)],
                name="gateway_received",
            ),
            # The sweep finds rows left RECEIVED or FAILED, oldest first.
            IndexModel([("status", ASCENDING), ("received_at", ASCENDING)], name="status_received"),
        ]
