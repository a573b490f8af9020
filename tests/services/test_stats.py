"""paymentStats' aggregation on hand-made payments: exact money, rates, timing and grouping."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from models.common import TimelineEntry
from models.enums import Gateway, PaymentMethodType, PaymentStatus, TransitionSource
from models.errors import ValidationFailed
from models.money import Money
from models.payment import Payment
from models.stats import StatsGroupBy
from models.transitions import PaymentEvent
from services.stats import StatsService

DAY1 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
DAY2 = datetime(2026, 3, 2, 23, 59, tzinfo=UTC)
_ids = itertools.count()


async def payment(
    *,
    created: datetime,
    status: PaymentStatus,
    minor: int = 10_000,
    currency: str = "INR",
    gateway: Gateway | None = Gateway.RAZORPAY,
    method: PaymentMethodType = PaymentMethodType.CARD,
    refunded: int = 0,
    failed_attempts: int = 0,
    completed_after: timedelta | None = None,
) -> Payment:
    timeline = [
        TimelineEntry(
            at=created,
            from_status=None,
            to_status=PaymentStatus.PENDING,
            source=TransitionSource.API,
        )
    ]
    for _ in range(failed_attempts):
        timeline.append(
            TimelineEntry(at=created, from_status=PaymentStatus.INITIATED, to_status=PaymentStatus.FAILED,
                          event=PaymentEvent.FAILED, source=TransitionSource.API)
        )  # fmt: skip
    if completed_after is not None:
        timeline.append(
            TimelineEntry(at=created + completed_after, from_status=PaymentStatus.AUTHORIZED,
                          to_status=PaymentStatus.COMPLETED, event=PaymentEvent.CAPTURED, source=TransitionSource.API)
        )  # fmt: skip
    doc = Payment(
        order_id=f"ST-{next(_ids)}",
        customer_id="cust-stats",
        amount=Money(amount_minor=minor, currency=currency),
        refunded_minor=refunded,
        refund_committed_minor=refunded,
        gateway=gateway,
        method_type=method,
        status=status,
        attempt_count=failed_attempts,
        request_fingerprint="x",
        created_at=created,
        updated_at=created,
        expires_at=created + timedelta(hours=1),
        timeline=timeline,
    )
    await doc.insert()
    return doc


@pytest.fixture
async def scenario(mongo_db) -> None:
    await payment(
        created=DAY1,
        status=PaymentStatus.COMPLETED,
        minor=10_000,
        completed_after=timedelta(seconds=10),
    )
    await payment(created=DAY1, status=PaymentStatus.PARTIALLY_REFUNDED, minor=20_001, refunded=5_000,
                  failed_attempts=1, completed_after=timedelta(seconds=20))  # fmt: skip
    await payment(created=DAY2, status=PaymentStatus.REFUNDED, minor=30_000, refunded=30_000,
                  completed_after=timedelta(seconds=30), method=PaymentMethodType.UPI)  # fmt: skip
    await payment(created=DAY2, status=PaymentStatus.FAILED, failed_attempts=2)
    await payment(created=DAY2, status=PaymentStatus.PENDING, gateway=None)
    await payment(created=DAY2, status=PaymentStatus.COMPLETED, minor=1_999, currency="USD",
                  gateway=Gateway.PAYPAL, method=PaymentMethodType.PAYPAL, completed_after=timedelta(seconds=60))  # fmt: skip
    # Outside the range: must not count.
    await payment(
        created=DAY1 - timedelta(days=10),
        status=PaymentStatus.COMPLETED,
        completed_after=timedelta(seconds=1),
    )


RANGE = {"start": DAY1 - timedelta(hours=1), "end": DAY2 + timedelta(hours=1)}


class TestTotals:
    async def test_counts_rates_revenue_and_timing(self, scenario):
        stats = await StatsService().payment_stats(**RANGE)
        total = stats.total
        assert (total.payments, total.succeeded, total.failed, total.failed_attempts) == (
            6,
            4,
            1,
            3,
        )
        assert total.success_rate == round(4 / 6, 4)
        assert total.error_rate == round(3 / 7, 4)
        assert total.average_seconds_to_complete == 30.0  # (10 + 20 + 30 + 60) / 4
        inr, usd = total.revenue
        assert (inr.currency, inr.payments) == ("INR", 3)
        assert (inr.captured.amount_minor, inr.refunded.amount_minor, inr.net.amount_minor) == (
            60_001,
            35_000,
            25_001,
        )
        assert inr.net.to_decimal_string() == "250.01"
        assert inr.average.amount_minor == 20_000  # 60001 / 3 = 20000.33 -> 20000
        assert (usd.captured.amount_minor, usd.net.amount_minor, usd.average.amount_minor) == (
            1_999,
            1_999,
            1_999,
        )
        assert stats.groups == []

    async def test_average_rounds_half_up_in_minor_units(self, mongo_db):
        for minor in (100, 101):
            await payment(created=DAY1, status=PaymentStatus.COMPLETED, minor=minor)
        [inr] = (await StatsService().payment_stats(**RANGE)).total.revenue
        assert inr.average.amount_minor == 101  # 100.5 -> 101

    async def test_empty_range(self, mongo_db):
        total = (await StatsService().payment_stats(**RANGE)).total
        assert (total.payments, total.success_rate, total.error_rate, total.revenue) == (
            0,
            None,
            None,
            [],
        )


class TestGroups:
    async def test_by_gateway(self, scenario):
        groups = {
            g.key: g
            for g in (
                await StatsService().payment_stats(**RANGE, group_by=StatsGroupBy.GATEWAY)
            ).groups
        }
        assert {k: g.payments for k, g in groups.items()} == {"RAZORPAY": 4, "PAYPAL": 1, "NONE": 1}
        assert groups["PAYPAL"].revenue[0].currency == "USD"

    async def test_by_day_in_utc(self, scenario):
        groups = (await StatsService().payment_stats(**RANGE, group_by=StatsGroupBy.DAY)).groups
        assert [(g.key, g.payments, g.succeeded) for g in groups] == [
            ("2026-03-01", 2, 2),
            ("2026-03-02", 4, 2),
        ]

    async def test_by_status_and_method(self, scenario):
        by_status = (
            await StatsService().payment_stats(**RANGE, group_by=StatsGroupBy.STATUS)
        ).groups
        assert {g.key: g.payments for g in by_status} == {
            "COMPLETED": 2, "PARTIALLY_REFUNDED": 1, "REFUNDED": 1, "FAILED": 1, "PENDING": 1,
        }  # fmt: skip
        by_method = (
            await StatsService().payment_stats(**RANGE, group_by=StatsGroupBy.METHOD)
        ).groups
        assert {g.key: g.payments for g in by_method} == {"CARD": 4, "UPI": 1, "PAYPAL": 1}

    async def test_group_totals_add_up(self, scenario):
        stats = await StatsService().payment_stats(**RANGE, group_by=StatsGroupBy.DAY)
        assert sum(g.payments for g in stats.groups) == stats.total.payments
        assert sum(g.failed_attempts for g in stats.groups) == stats.total.failed_attempts


class TestAttemptOutcomes:
    async def test_counts_what_happened_in_the_window(self, scenario):
        outcomes = await StatsService().attempt_outcomes(
            DAY1 - timedelta(minutes=1), DAY2 + timedelta(hours=1)
        )
        assert {k: (v.failed, v.completed) for k, v in outcomes.items()} == {
            "RAZORPAY": (3, 3),
            "PAYPAL": (0, 1),
        }


class TestValidation:
    async def test_from_after_to(self, mongo_db):
        with pytest.raises(ValidationFailed):
            await StatsService().payment_stats(start=DAY2, end=DAY1)

    async def test_range_too_long(self, mongo_db):
        with pytest.raises(ValidationFailed):
            await StatsService().payment_stats(start=DAY1 - timedelta(days=400), end=DAY1)
