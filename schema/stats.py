"""Admin payment statistics (`paymentStats`); definitions in services/stats.py."""

from __future__ import annotations

from datetime import datetime

import strawberry

from models.enums import PaymentStatus
from models.stats import CurrencyRevenue, PaymentStats, StatsBucket, StatsGroupBy
from schema.payments import money
from schema.types import MoneyType

strawberry.enum(StatsGroupBy, name="PaymentStatsGroupBy")


@strawberry.type(
    name="CurrencyRevenue",
    description="Captured, refunded and net revenue of succeeded payments in one currency.",
)
class CurrencyRevenueType:
    currency: str
    payments: int = strawberry.field(description="Succeeded payments in this currency.")
    captured: MoneyType
    refunded: MoneyType
    net: MoneyType = strawberry.field(description="Captured minus refunded.")
    average_transaction: MoneyType = strawberry.field(
        description="Captured / succeeded payments, rounded half up to the minor unit."
    )

    @classmethod
    def from_revenue(cls, revenue: CurrencyRevenue) -> CurrencyRevenueType:
        return cls(
            currency=revenue.currency,
            payments=revenue.payments,
            captured=money(revenue.captured),
            refunded=money(revenue.refunded),
            net=money(revenue.net),
            average_transaction=money(revenue.average),
        )


@strawberry.type
class StatusCount:
    status: PaymentStatus
    count: int


@strawberry.type(description="Statistics of a set of payments (one group, or all of them).")
class PaymentStatsGroup:
    key: str | None = strawberry.field(
        description="The group's gateway, method, status or UTC day (YYYY-MM-DD); null for totals."
    )
    payments: int
    succeeded: int = strawberry.field(description="COMPLETED, PARTIALLY_REFUNDED or REFUNDED.")
    failed: int = strawberry.field(description="Payments whose status is FAILED.")
    failed_attempts: int
    success_rate: float | None = strawberry.field(description="succeeded / payments.")
    error_rate: float | None = strawberry.field(
        description="failedAttempts / (failedAttempts + succeeded)."
    )
    average_seconds_to_complete: float | None = strawberry.field(
        description="From creation to the first COMPLETED timeline entry."
    )
    revenue: list[CurrencyRevenueType]
    by_status: list[StatusCount]

    @classmethod
    def from_bucket(cls, bucket: StatsBucket) -> PaymentStatsGroup:
        return cls(
            key=bucket.key,
            payments=bucket.payments,
            succeeded=bucket.succeeded,
            failed=bucket.failed,
            failed_attempts=bucket.failed_attempts,
            success_rate=bucket.success_rate,
            error_rate=bucket.error_rate,
            average_seconds_to_complete=bucket.average_seconds_to_complete,
            revenue=[CurrencyRevenueType.from_revenue(r) for r in bucket.revenue],
            by_status=[
                StatusCount(status=status, count=count)
                for status, count in sorted(bucket.by_status.items())
            ],
        )


@strawberry.type(
    name="PaymentStats", description="Payments created in [from, to), in total and per group."
)
class PaymentStatsType:
    from_: datetime = strawberry.field(name="from")
    to: datetime
    group_by: StatsGroupBy | None
    total: PaymentStatsGroup
    groups: list[PaymentStatsGroup]

    @classmethod
    def from_stats(cls, stats: PaymentStats) -> PaymentStatsType:
        return cls(
            from_=stats.start,
            to=stats.end,
            group_by=stats.group_by,
            total=PaymentStatsGroup.from_bucket(stats.total),
            groups=[PaymentStatsGroup.from_bucket(g) for g in stats.groups],
        )
