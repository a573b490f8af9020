"""Admin GraphQL of events out: webhook endpoints, their deliveries, relayed events."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, cast

import strawberry
from strawberry.scalars import JSON

from models.events_out import Delivery, DeliveryStatus, Event, WebhookEndpoint
from schema.errors import ForbiddenError, InvalidStateError, NotFoundError, ValidationError
from schema.types import PageInfo

strawberry.enum(DeliveryStatus, name="WebhookDeliveryStatus")


@strawberry.type(
    name="WebhookEndpoint",
    description="Where the shop's backend receives signed events (Standard Webhooks).",
)
class WebhookEndpointType:
    id: strawberry.ID
    url: str
    description: str | None
    events: list[str] = strawberry.field(
        description="Event types it receives (docs/events.md); empty: every type."
    )
    enabled: bool
    disabled_reason: str | None = strawberry.field(
        description="Why it was disabled (five days of failed deliveries), if it was."
    )
    failing_since: datetime | None = strawberry.field(
        description="Every delivery has failed since then (none has succeeded)."
    )
    secret_expires_at: datetime | None = strawberry.field(
        description="After a rotation: when the previous secret stops signing."
    )
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_document(cls, endpoint: WebhookEndpoint) -> WebhookEndpointType:
        previous = [s.expires_at for s in endpoint.secrets[1:] if s.expires_at is not None]
        return cls(
            id=strawberry.ID(str(endpoint.id)),
            url=endpoint.url,
            description=endpoint.description,
            events=[t.value for t in endpoint.events],
            enabled=endpoint.enabled,
            disabled_reason=endpoint.disabled_reason,
            failing_since=endpoint.failing_since,
            secret_expires_at=max(previous) if previous else None,
            created_at=endpoint.created_at,
            updated_at=endpoint.updated_at,
        )


@strawberry.type(name="WebhookDelivery", description="One event to one endpoint.")
class WebhookDeliveryType:
    id: strawberry.ID
    event_id: strawberry.ID = strawberry.field(description="Also its webhook-id header.")
    event_type: str
    endpoint_id: strawberry.ID
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_response_code: int | None
    last_response_excerpt: str | None = strawberry.field(
        description="The start of the endpoint's last answer (a few hundred characters at most)."
    )
    last_error: str | None = strawberry.field(description="No answer: why (timeout, refused...).")
    last_duration_ms: int | None
    delivered_at: datetime | None
    created_at: datetime

    @classmethod
    def from_document(cls, delivery: Delivery) -> WebhookDeliveryType:
        return cls(
            id=strawberry.ID(delivery.id),
            event_id=strawberry.ID(delivery.event_id),
            event_type=delivery.event_type.value,
            endpoint_id=strawberry.ID(str(delivery.endpoint_id)),
            status=delivery.status,
            attempts=delivery.attempts,
            next_attempt_at=delivery.next_attempt_at,
            last_attempt_at=delivery.last_attempt_at,
            last_response_code=delivery.last_response_code,
            last_response_excerpt=delivery.last_response_excerpt,
            last_error=delivery.last_error,
            last_duration_ms=delivery.last_duration_ms,
            delivered_at=delivery.delivered_at,
            created_at=delivery.created_at,
        )


@strawberry.type(name="OutboundEvent", description="An event as it is delivered (docs/events.md).")
class OutboundEventType:
    id: strawberry.ID = strawberry.field(description="evt_...: the webhook-id of its deliveries.")
    type: str
    timestamp: datetime = strawberry.field(description="When the change happened.")
    resource_id: strawberry.ID
    version: int = strawberry.field(description="The resource's version after the change.")
    data: JSON

    @classmethod
    def from_document(cls, event: Event) -> OutboundEventType:
        return cls(
            id=strawberry.ID(event.id),
            type=event.type.value,
            timestamp=event.timestamp,
            resource_id=strawberry.ID(event.resource_id),
            version=event.version,
            data=cast(JSON, event.data),
        )


@strawberry.type
class WebhookDeliveryEdge:
    cursor: str
    node: WebhookDeliveryType


@strawberry.type
class WebhookDeliveryConnection:
    edges: list[WebhookDeliveryEdge]
    page_info: PageInfo


@strawberry.type
class OutboundEventEdge:
    cursor: str
    node: OutboundEventType


@strawberry.type
class OutboundEventConnection:
    edges: list[OutboundEventEdge]
    page_info: PageInfo


@strawberry.input
class CreateWebhookEndpointInput:
    url: str = strawberry.field(description="https (any http(s) outside production).")
    events: list[str] = strawberry.field(
        default_factory=list, description="Event types to receive; empty: every type."
    )
    description: str | None = None


@strawberry.input
class UpdateWebhookEndpointInput:
    id: strawberry.ID
    url: str | None = None
    events: list[str] | None = None
    description: str | None = None
    enabled: bool | None = strawberry.field(
        default=None, description="true re-enables a disabled endpoint; what waited is sent."
    )


@strawberry.type
class WebhookEndpointSecretSuccess:
    endpoint: WebhookEndpointType
    secret: str = strawberry.field(
        description="whsec_...: verify deliveries with it. Shown only here, never again."
    )


@strawberry.type
class WebhookEndpointSuccess:
    endpoint: WebhookEndpointType


@strawberry.type
class DeleteWebhookEndpointSuccess:
    deleted_id: strawberry.ID


@strawberry.type
class RedeliverEventSuccess:
    delivery: WebhookDeliveryType


CreateWebhookEndpointResult = Annotated[
    WebhookEndpointSecretSuccess | ValidationError | ForbiddenError,
    strawberry.union("CreateWebhookEndpointResult"),
]
UpdateWebhookEndpointResult = Annotated[
    WebhookEndpointSuccess | ValidationError | NotFoundError | ForbiddenError,
    strawberry.union("UpdateWebhookEndpointResult"),
]
DeleteWebhookEndpointResult = Annotated[
    DeleteWebhookEndpointSuccess | NotFoundError | ForbiddenError,
    strawberry.union("DeleteWebhookEndpointResult"),
]
RotateWebhookEndpointSecretResult = Annotated[
    WebhookEndpointSecretSuccess | NotFoundError | ForbiddenError,
    strawberry.union("RotateWebhookEndpointSecretResult"),
]
RedeliverEventResult = Annotated[
    RedeliverEventSuccess | NotFoundError | InvalidStateError | ForbiddenError,
    strawberry.union("RedeliverEventResult"),
]
