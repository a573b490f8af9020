"""The run itself: a dry run writes nothing, runs never overlap (and a crashed run's lock
lapses), and gateway errors are retried, then counted per record without ending the run."""

from __future__ import annotations

import asyncio

import pytest

from gateways.policy import CallPolicy
from models.enums import PaymentStatus, ReconciliationTrigger
from models.errors import ReconciliationRunning
from models.reconciliation import FindingKind, ReconciliationReport
from services.reconciliation import LOCK_KEY
from tests.resolvers.test_payments_api import order_id
from tests.support.reconciliation import (
    age,
    gateway_auth,
    paid_without_verify,
    razorpay,
    reading_through,
    snapshot,
    status,
)

CRON = ReconciliationTrigger.CRON


class TestDryRun:
    async def test_writes_nothing_and_says_what_it_would_do(
        self, client, settings, core, shopper, mongo_db
    ):
        await razorpay(client, action="configure", auto_capture=False)
        pid, paid = await paid_without_verify(shopper)
        unpaid = (await shopper.initiate(orderId=order_id()))["payment"]["id"]
        await age(pid, 10)
        await age(unpaid, 90)
        before = await snapshot(mongo_db)

        report = await core.reconciliation.reconcile(CRON, dry_run=True)

        assert report.dry_run and report.id is None
        assert (report.recovered, report.expired) == (1, 1)
        assert {f.kind for f in report.fixed} == {FindingKind.RECOVERED, FindingKind.EXPIRED}
        assert all(f.action.startswith("would ") for f in report.fixed)
        assert await snapshot(mongo_db) == before
        at_gateway = await client.get(
            f"/sandbox/razorpay/v1/payments/{paid['razorpay_payment_id']}",
            auth=gateway_auth(settings),
        )
        assert at_gateway.json()["status"] == "authorized"  # not captured by a dry run


class TestRunsNeverOverlap:
    async def test_two_concurrent_runs_one_runs_one_reports_the_lock(self, client, core, shopper):
        pid, _ = await paid_without_verify(shopper)
        await age(pid, 10)
        # Slow the gateway so the first run is certainly still going when the second starts.
        await razorpay(client, action="fault", path="/v1/orders/*/payments", delay=1.0, count=1)

        results = await asyncio.gather(
            core.reconciliation.reconcile(CRON),
            core.reconciliation.reconcile(ReconciliationTrigger.CLI),
            return_exceptions=True,
        )

        reports = [r for r in results if isinstance(r, ReconciliationReport)]
        refused = [r for r in results if isinstance(r, ReconciliationRunning)]
        assert len(reports) == 1 and len(refused) == 1
        assert reports[0].recovered == 1
        assert "already in progress" in refused[0].message
        assert await ReconciliationReport.find_all().count() == 1

    async def test_a_crashed_runs_lock_expires(self, core, redis, shopper):
        await redis.set(LOCK_KEY, "a-run-that-died", px=600)
        with pytest.raises(ReconciliationRunning) as refused:
            await core.reconciliation.reconcile(CRON)
        assert refused.value.retry_after_seconds <= 1
        await asyncio.sleep(0.7)
        report = await core.reconciliation.reconcile(CRON)
        assert report.finished_at is not None
        assert await redis.get(LOCK_KEY) is None  # released after the run


class TestGatewayErrors:
    @pytest.fixture
    async def quick(self, core):
        """The service reading through gateways with a short backoff, one call at a time."""
        policy = CallPolicy(attempts=3, base_delay=0.01, max_delay=0.1)
        async with reading_through(core, policy) as service:
            yield service

    async def test_rate_limited_gateway_is_retried_with_backoff(self, client, quick, shopper):
        pid, _ = await paid_without_verify(shopper)
        await age(pid, 10)
        await razorpay(client, action="fault", path="/v1/orders/*/payments", status=429, count=2)
        report = await quick.reconcile(CRON)
        assert (report.recovered, report.gateway_errors) == (1, 0)
        assert await status(pid) is PaymentStatus.COMPLETED

    async def test_a_gateway_that_stays_down_is_counted_not_fatal(self, client, quick, shopper):
        for _ in range(2):
            pid, _ = await paid_without_verify(shopper)
            await age(pid, 10)
        # All three tries of one payment's read fail; the other payment's read succeeds.
        await razorpay(client, action="fault", path="/v1/orders/*/payments", status=503, count=3)
        report = await quick.reconcile(CRON)
        assert (report.gateway_errors, report.recovered, report.checked_payments) == (1, 1, 2)
        assert report.errors[0].startswith("RAZORPAY payment ")


class TestOneRecordsFailure:
    async def test_an_unexpected_error_is_reported_and_the_run_goes_on(self, client, core, shopper):
        # PayPal's keys were removed while a PayPal payment was still open: asking about it
        # fails in a way no check expects. That payment is reported; the Razorpay one beside
        # it is still recovered, and the report is stored.
        from gateways.registry import GatewayRegistry
        from models.enums import Gateway
        from services.reconciliation import ReconciliationPolicy, ReconciliationService

        paid, _ = await paid_without_verify(shopper)
        usd = await shopper.initiate(
            orderId=order_id(), amount="20.00", currency="USD", paymentMethod="PAYPAL"
        )
        stranded = usd["payment"]["id"]
        await age(paid, 10)
        await age(stranded, 10)
        only_razorpay = GatewayRegistry([core.gateways.registry.get(Gateway.RAZORPAY)])
        service = ReconciliationService(
            core.payments,
            core.refunds,
            only_razorpay,
            core.redis,
            ReconciliationPolicy(concurrency=1),
        )

        report = await service.reconcile(CRON)

        assert await status(paid) is PaymentStatus.COMPLETED
        assert report.checked_payments == 2
        assert len(report.errors) == 1
        assert stranded in report.errors[0] and "unexpected error" in report.errors[0]
        assert await ReconciliationReport.get(report.id) is not None
