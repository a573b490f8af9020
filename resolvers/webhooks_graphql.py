"""Admin GraphQL over the webhook inbox: list events, replay one."""

from __future__ import annotations

import strawberry

from gateways.base import Gateway
from models.enums import WebhookEventStatus
from resolvers.context import Info
from resolvers.payments_mutation import or_user_error
from schema.permissions import IsAdmin
from schema.types import PageInfo
from schema.webhooks import (
    ReplayWebhookEventResult,
    WebhookEventConnection,
    WebhookEventEdge,
    WebhookEventSuccess,
    WebhookEventType,
)


@strawberry.type
class WebhookQuery:
    @strawberry.field(
        permission_classes=[IsAdmin], description="Admin: the webhook inbox, newest first."
    )
    async def webhook_events(
        self,
        info: Info,
        gateway: Gateway | None = None,
        status: WebhookEventStatus | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> WebhookEventConnection:
        page = await info.context.services.webhooks.list_events(
            gateway=gateway, status=status, first=first, after=after
        )
        return WebhookEventConnection(
            edges=[
                WebhookEventEdge(cursor=str(row.id), node=WebhookEventType.from_document(row))
                for row in page.items
            ],
            page_info=PageInfo(has_next_page=page.has_next_page, end_cursor=page.end_cursor),
        )


@strawberry.type
class WebhookMutation:
    @strawberry.mutation(permission_classes=[IsAdmin], description="Admin: process an event again.")
    async def replay_webhook_event(self, info: Info, id: strawberry.ID) -> ReplayWebhookEventResult:
        async def run() -> WebhookEventSuccess:
            row = await info.context.services.webhooks.replay(str(id))
            return WebhookEventSuccess(event=WebhookEventType.from_document(row))

        return await or_user_error(run)  # type: ignore[return-value]
