"""Subscription root: the current state first, then every change (via Redis pub/sub)."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from resolvers.context import Info
from schema.payments import PaymentType
from schema.permissions import IsAuthenticated


@strawberry.type
class PaymentSubscription:
    @strawberry.subscription(
        permission_classes=[IsAuthenticated],
        description="The payment now, then each status change; ends after a final status.",
    )
    async def payment_status_changed(
        self, info: Info, payment_id: strawberry.ID
    ) -> AsyncGenerator[PaymentType, None]:
        principal = info.context.require_principal()
        async for payment in info.context.services.payments.watch(principal, str(payment_id)):
            yield PaymentType.from_document(payment)
