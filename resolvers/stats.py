"""Admin statistics: one service call."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from models.stats import StatsGroupBy
from resolvers.context import Info
from schema.permissions import IsAdmin
from schema.stats import PaymentStatsType


@strawberry.type
class StatsQuery:
    @strawberry.field(
        permission_classes=[IsAdmin],
        description="Admin: payments created in [from, to) (default: the last 30 days), in total "
        "and grouped by gateway, method, status or UTC day.",
    )
    async def payment_stats(
        self,
        info: Info,
        from_: Annotated[datetime | None, strawberry.argument(name="from")] = None,
        to: datetime | None = None,
        group_by: StatsGroupBy | None = None,
    ) -> PaymentStatsType:
        stats = await info.context.services.stats.payment_stats(
            start=from_, end=to, group_by=group_by
        )
        return PaymentStatsType.from_stats(stats)
