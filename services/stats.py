"""Payment statistics for operators, computed by MongoDB aggregation (read-only).

Definitions (the admin `paymentStats` query and the error-rate alert share them):
- a payment belongs to the range by its creation time: `from` inclusive, `to` exclusive (UTC);
- succeeded: status COMPLETED, PARTIALLY_REFUNDED or REFUNDED (the money was captured);
- success rate: succeeded / payments;
- failed attempts: the payment's `attempt_count` (each declined or failed gateway attempt);
- error rate: failed attempts / (failed attempts + succeeded), i.e. the share of payment attempts
  that reached an outcome and failed (pending and abandoned ones are not attempts yet);
- revenue per currency: captured amount of succeeded payments, refunded amount, and net =
  captured - refunded, all integer minor units; average transaction = captured / succeeded,
  rounded half up to the minor unit;
- time to complete: from creation to the first COMPLETED entry of the timeline.
Money never becomes a float: the pipeline sums integers and Python divides integers.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from models.clock import as_utc, utcnow
from models.enums import PaymentStatus
from models.errors import ValidationFailed
from models.money import Money
from models.payment import Payment
from models.stats import CurrencyRevenue, PaymentStats, StatsBucket, StatsGroupBy
from models.transitions import CAPTURED_PAYMENT_STATUSES, PaymentEvent

SUCCEEDED = CAPTURED_PAYMENT_STATUSES
NO_GATEWAY = "NONE"
DEFAULT_RANGE = timedelta(days=30)
MAX_RANGE = timedelta(days=366)


@dataclass(frozen=True, slots=True)
class AttemptOutcomes:
    """Outcomes of payment attempts applied in a time window (for the error-rate alert)."""

    failed: int
    completed: int

    @property
    def attempts(self) -> int:
        return self.failed + self.completed

    @property
    def error_rate(self) -> float | None:
        return self.failed / self.attempts if self.attempts else None


@dataclass
class _Acc:
    payments: int = 0
    succeeded: int = 0
    failed: int = 0
    failed_attempts: int = 0
    completion_ms: int = 0
    timed: int = 0
    by_status: dict[PaymentStatus, int] = field(default_factory=lambda: defaultdict(int))
    captured: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    refunded: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    paid: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, row: dict[str, Any]) -> None:
        currency = row["_id"]["currency"]
        status = PaymentStatus(row["_id"]["status"])
        self.payments += row["payments"]
        self.by_status[status] += row["payments"]
        self.failed_attempts += row["failed_attempts"]
        self.completion_ms += int(row["completion_ms"])
        self.timed += row["timed"]
        if status is PaymentStatus.FAILED:
            self.failed += row["payments"]
        if status in SUCCEEDED:
            self.succeeded += row["payments"]
            self.paid[currency] += row["payments"]
            self.captured[currency] += row["captured"]
            self.refunded[currency] += row["refunded"]

    def bucket(self, key: str | None) -> StatsBucket:
        attempts = self.failed_attempts + self.succeeded
        revenue = [
            CurrencyRevenue(
                currency=currency,
                payments=self.paid[currency],
                captured=Money(amount_minor=self.captured[currency], currency=currency),
                refunded=Money(amount_minor=self.refunded[currency], currency=currency),
                net=Money(
                    amount_minor=self.captured[currency] - self.refunded[currency],
                    currency=currency,
                ),
                average=Money(
                    amount_minor=_divide_half_up(self.captured[currency], self.paid[currency]),
                    currency=currency,
                ),
            )
            for currency in sorted(self.paid)
        ]
        return StatsBucket(
            key=key,
            payments=self.payments,
            succeeded=self.succeeded,
            failed=self.failed,
            failed_attempts=self.failed_attempts,
            success_rate=_ratio(self.succeeded, self.payments),
            error_rate=_ratio(self.failed_attempts, attempts),
            average_seconds_to_complete=(
                round(self.completion_ms / self.timed / 1000, 3) if self.timed else None
            ),
            revenue=revenue,
            by_status=dict(self.by_status),
        )


class StatsService:
    async def payment_stats(
        self,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        group_by: StatsGroupBy | None = None,
    ) -> PaymentStats:
        """Counts, rates, revenue and timing of the payments created in [start, end)."""
        end = as_utc(end) if end is not None else utcnow()
        start = as_utc(start) if start is not None else end - DEFAULT_RANGE
        if start >= end:
            raise ValidationFailed("from must be before to", field="from")
        if end - start > MAX_RANGE:
            raise ValidationFailed(
                f"the range may span at most {MAX_RANGE.days} days", field="from"
            )
        rows = await Payment.get_pymongo_collection().aggregate(_pipeline(start, end, group_by))
        total = _Acc()
        groups: dict[str, _Acc] = defaultdict(_Acc)
        async for row in rows:
            total.add(row)
            if group_by is not None:
                groups[str(row["_id"]["key"])].add(row)
        return PaymentStats(
            start=start,
            end=end,
            group_by=group_by,
            total=total.bucket(None),
            groups=[groups[key].bucket(key) for key in sorted(groups)],
        )

    async def attempt_outcomes(
        self, since: datetime, until: datetime | None = None
    ) -> dict[str, AttemptOutcomes]:
        """Failed attempts and completions applied in [since, until), per gateway, read from
        the timelines (what happened in the window, whenever the payment was created)."""
        at: dict[str, datetime] = {"$gte": since}
        if until is not None:
            at["$lt"] = until
        pipeline: list[dict[str, Any]] = [
            # Any payment with a timeline entry in the window was updated in it.
            {"$match": {"updated_at": {"$gte": since}}},
            {"$project": {"gateway": 1, "timeline": 1}},
            {"$unwind": "$timeline"},
            {
                "$match": {
                    "timeline.at": at,
                    "$or": [
                        {"timeline.event": PaymentEvent.FAILED.value},
                        {"timeline.to_status": PaymentStatus.COMPLETED.value},
                    ],
                }
            },
            {
                "$group": {
                    "_id": {"$ifNull": ["$gateway", NO_GATEWAY]},
                    "failed": _count_if({"$eq": ["$timeline.event", PaymentEvent.FAILED.value]}),
                    "completed": _count_if(
                        {"$eq": ["$timeline.to_status", PaymentStatus.COMPLETED.value]}
                    ),
                }
            },
        ]
        rows = await Payment.get_pymongo_collection().aggregate(pipeline)
        return {
            str(row["_id"]): AttemptOutcomes(failed=row["failed"], completed=row["completed"])
            async for row in rows
        }


def _pipeline(
    start: datetime, end: datetime, group_by: StatsGroupBy | None
) -> list[dict[str, Any]]:
    key: Any = {
        None: None,
        StatsGroupBy.GATEWAY: {"$ifNull": ["$gateway", NO_GATEWAY]},
        StatsGroupBy.METHOD: "$method_type",
        StatsGroupBy.STATUS: "$status",
        StatsGroupBy.DAY: {"$dateToString": {"format": "%Y-%m-%d", "date": "$created_at"}},
    }[group_by]
    completed = {
        "$arrayElemAt": [
            {
                "$filter": {
                    "input": "$timeline",
                    "as": "entry",
                    "cond": {"$eq": ["$$entry.to_status", PaymentStatus.COMPLETED.value]},
                }
            },
            0,
        ]
    }
    return [
        {"$match": {"created_at": {"$gte": start, "$lt": end}}},
        {
            "$project": {
                "key": key,
                "status": 1,
                "currency": "$amount.currency",
                "amount": "$amount.amount_minor",
                "refunded": "$refunded_minor",
                "attempts": "$attempt_count",
                "created_at": 1,
                "completed": completed,
            }
        },
        {
            "$project": {
                "key": 1,
                "status": 1,
                "currency": 1,
                "amount": 1,
                "refunded": 1,
                "attempts": 1,
                "completion_ms": {
                    "$cond": [
                        {"$ifNull": ["$completed", False]},
                        {"$subtract": ["$completed.at", "$created_at"]},
                        None,
                    ]
                },
            }
        },
        # One row per (key, status, currency): Python folds statuses and currencies together.
        {
            "$group": {
                "_id": {"key": "$key", "status": "$status", "currency": "$currency"},
                "payments": {"$sum": 1},
                "captured": {"$sum": "$amount"},
                "refunded": {"$sum": "$refunded"},
                "failed_attempts": {"$sum": "$attempts"},
                "completion_ms": {"$sum": {"$ifNull": ["$completion_ms", 0]}},
                "timed": _count_if({"$ne": [{"$ifNull": ["$completion_ms", None]}, None]}),
            }
        },
    ]


def _count_if(condition: dict[str, Any]) -> dict[str, Any]:
    return {"$sum": {"$cond": [condition, 1, 0]}}


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _divide_half_up(total: int, count: int) -> int:
    if count == 0:
        return 0
    return (2 * total + count) // (2 * count)
