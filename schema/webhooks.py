"""Admin view of the webhook inbox."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, cast

import strawberry
from strawberry.scalars import JSON

from models.enums import Gateway, WebhookEventStatus
from models.webhook_event import WebhookEvent
from schema.errors import ForbiddenError, InvalidStateError, NotFoundError
from schema.types import PageInfo

strawberry.enum(WebhookEventStatus, name="WebhookEventStatus")


@strawberry.type(name="WebhookEvent")
class WebhookEventType:
    id: strawberry.ID
    gateway: Gateway
    gateway_event_id: str
    event_type: str
    status: WebhookEventStatus
    attempts: int
    last_error: str | None
    received_at: datetime
    processed_at: datetime | None
    payment_id: strawberry.ID | None
    refund_id: strawberry.ID | None
    payload: JSON | None = strawberry.field(
        description=(
            "The gateway's body as stored: personal data and tokens redacted; null once pruned "
            "(WEBHOOK_PAYLOAD_RETENTION_DAYS after it was processed)."
        )
    )

    @classmethod
    def from_document(cls, row: WebhookEvent) -> WebhookEventType:
        return cls(
            id=strawberry.ID(str(row.id)),
            gateway=row.gateway,
            gateway_event_id=row.gateway_event_id,
            event_type=row.event_type,
            status=row.status,
            attempts=row.attempts,
            last_error=row.last_error,
            received_at=row.received_at,
            processed_at=row.processed_at,
            payment_id=strawberry.ID(str(row.payment_id)) if row.payment_id else None,
            refund_id=strawberry.ID(str(row.refund_id)) if row.refund_id else None,
            payload=cast(JSON, row.payload) if row.payload is not None else None,
        )


@strawberry.type
class WebhookEventEdge:
    cursor: str
    node: WebhookEventType


@strawberry.type
class WebhookEventConnection:
    edges: list[WebhookEventEdge]
    page_info: PageInfo


@strawberry.type
class WebhookEventSuccess:
    event: WebhookEventType


ReplayWebhookEventResult = Annotated[
    WebhookEventSuccess | NotFoundError | ForbiddenError | InvalidStateError,
    strawberry.union("ReplayWebhookEventResult"),
]
