"""Admin GraphQL of events out: endpoints, deliveries, events, redelivery. One service call
each; domain errors become schema data."""

from __future__ import annotations

import strawberry

from resolvers.context import Info
from resolvers.payments_mutation import or_user_error
from schema.events_out import (
    CreateWebhookEndpointInput,
    CreateWebhookEndpointResult,
    DeleteWebhookEndpointResult,
    DeleteWebhookEndpointSuccess,
    OutboundEventConnection,
    OutboundEventEdge,
    OutboundEventType,
    RedeliverEventResult,
    RedeliverEventSuccess,
    RotateWebhookEndpointSecretResult,
    UpdateWebhookEndpointInput,
    UpdateWebhookEndpointResult,
    WebhookDeliveryConnection,
    WebhookDeliveryEdge,
    WebhookDeliveryType,
    WebhookEndpointSecretSuccess,
    WebhookEndpointSuccess,
    WebhookEndpointType,
)
from schema.permissions import IsAdmin
from schema.types import PageInfo
from services.events_out import EndpointChange


@strawberry.type
class EventsOutQuery:
    @strawberry.field(permission_classes=[IsAdmin], description="Admin: webhook endpoints.")
    async def webhook_endpoints(self, info: Info) -> list[WebhookEndpointType]:
        endpoints = await info.context.services.events_out.endpoints()
        return [WebhookEndpointType.from_document(e) for e in endpoints]

    @strawberry.field(
        permission_classes=[IsAdmin],
        description="Admin: an endpoint's deliveries, newest event first.",
    )
    async def webhook_deliveries(
        self, info: Info, endpoint_id: strawberry.ID, first: int = 20, after: str | None = None
    ) -> WebhookDeliveryConnection:
        page = await info.context.services.events_out.deliveries(
            str(endpoint_id), first=first, after=after
        )
        return WebhookDeliveryConnection(
            edges=[
                WebhookDeliveryEdge(cursor=d.id, node=WebhookDeliveryType.from_document(d))
                for d in page.items
            ],
            page_info=PageInfo(has_next_page=page.has_next_page, end_cursor=page.end_cursor),
        )

    @strawberry.field(
        permission_classes=[IsAdmin],
        description="Admin: events as delivered to endpoints, newest first.",
    )
    async def outbound_events(
        self, info: Info, first: int = 20, after: str | None = None, type: str | None = None
    ) -> OutboundEventConnection:
        page = await info.context.services.events_out.events(first=first, after=after, type=type)
        return OutboundEventConnection(
            edges=[
                OutboundEventEdge(cursor=e.id, node=OutboundEventType.from_document(e))
                for e in page.items
            ],
            page_info=PageInfo(has_next_page=page.has_next_page, end_cursor=page.end_cursor),
        )


@strawberry.type
class EventsOutMutation:
    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Admin: register an endpoint; the answer holds its signing secret, once.",
    )
    async def create_webhook_endpoint(
        self, info: Info, input: CreateWebhookEndpointInput
    ) -> CreateWebhookEndpointResult:
        async def run() -> WebhookEndpointSecretSuccess:
            endpoint, secret = await info.context.services.events_out.create_endpoint(
                input.url, input.events, input.description
            )
            return WebhookEndpointSecretSuccess(
                endpoint=WebhookEndpointType.from_document(endpoint), secret=secret
            )

        return await or_user_error(run)  # type: ignore[return-value]

    @strawberry.mutation(permission_classes=[IsAdmin], description="Admin: change an endpoint.")
    async def update_webhook_endpoint(
        self, info: Info, input: UpdateWebhookEndpointInput
    ) -> UpdateWebhookEndpointResult:
        change = EndpointChange(
            url=input.url, events=input.events, description=input.description, enabled=input.enabled
        )

        async def run() -> WebhookEndpointSuccess:
            endpoint = await info.context.services.events_out.update_endpoint(str(input.id), change)
            return WebhookEndpointSuccess(endpoint=WebhookEndpointType.from_document(endpoint))

        return await or_user_error(run)  # type: ignore[return-value]

    @strawberry.mutation(
        permission_classes=[IsAdmin], description="Admin: remove an endpoint and its deliveries."
    )
    async def delete_webhook_endpoint(
        self, info: Info, id: strawberry.ID
    ) -> DeleteWebhookEndpointResult:
        async def run() -> DeleteWebhookEndpointSuccess:
            deleted = await info.context.services.events_out.delete_endpoint(str(id))
            return DeleteWebhookEndpointSuccess(deleted_id=strawberry.ID(str(deleted)))

        return await or_user_error(run)  # type: ignore[return-value]

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Admin: a new signing secret (shown once); the previous one keeps signing "
        "beside it for 24 hours.",
    )
    async def rotate_webhook_endpoint_secret(
        self, info: Info, id: strawberry.ID
    ) -> RotateWebhookEndpointSecretResult:
        async def run() -> WebhookEndpointSecretSuccess:
            endpoint, secret = await info.context.services.events_out.rotate_secret(str(id))
            return WebhookEndpointSecretSuccess(
                endpoint=WebhookEndpointType.from_document(endpoint), secret=secret
            )

        return await or_user_error(run)  # type: ignore[return-value]

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Admin: send an event to an endpoint again (the same webhook-id), with a "
        "fresh retry schedule.",
    )
    async def redeliver_event(
        self, info: Info, event_id: strawberry.ID, endpoint_id: strawberry.ID
    ) -> RedeliverEventResult:
        async def run() -> RedeliverEventSuccess:
            delivery = await info.context.services.events_out.redeliver(
                str(event_id), str(endpoint_id)
            )
            return RedeliverEventSuccess(delivery=WebhookDeliveryType.from_document(delivery))

        return await or_user_error(run)  # type: ignore[return-value]
