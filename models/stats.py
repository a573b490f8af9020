"""The shapes of payment statistics (`paymentStats`); how they are computed and what each figure
means: services/stats.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from models.enums import PaymentStatus
from models.money import Money


class StatsGroupBy(StrEnum):
    GATEWAY = "GATEWAY"
    METHOD = "METHOD"
    STATUS = "STATUS"
    DAY = "DAY"


@dataclass(frozen=True, slots=True)
class CurrencyRevenue:
    currency: str
    payments: int  # succeeded payments in this currency
    captured: Money
    refunded: Money
    net: Money
    average: Money


@dataclass(frozen=True, slots=True)
class StatsBucket:
    key: str | None  # None for the totals
    payments: int
    succeeded: int
    failed: int  # payments whose status is FAILED now
    failed_attempts: int
    success_rate: float | None
    error_rate: float | None
    average_seconds_to_complete: float | None
    revenue: list[CurrencyRevenue]
    by_status: dict[PaymentStatus, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PaymentStats:
    start: datetime
    end: datetime
    group_by: StatsGroupBy | None
    total: StatsBucket
    groups: list[StatsBucket]
