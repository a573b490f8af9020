"""What a stored run tells the outside: one RECONCILIATION_ISSUE alert per issue (none again for
the same issue within the alert window), and the reconciliation metrics counted once per run,
fix and issue. A dry run tells nothing. The services are the ones build_core wires (the cron
job's), so the alerts and counters read here are the process's own."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from gateways.policy import CallPolicy
from models.enums import ReconciliationTrigger
from models.reconciliation import FindingKind, ReconciliationReport
from services.alerts import DEDUPE_PREFIX, RECONCILIATION_ISSUE
from services.reconciliation import ReconciliationService
from tests.support.reconciliation import (
    age,
    gateway_auth,
    paid_without_verify,
    razorpay,
    reading_through,
    verified,
)
from workers import jobs

CRON = ReconciliationTrigger.CRON


def alert_keys(caplog: pytest.LogCaptureFixture) -> list[str]:
    return sorted(
        r.alert_key
        for r in caplog.records
        if r.name == "paygraph.alerts" and getattr(r, "alert_kind", None) == RECONCILIATION_ISSUE
    )


def metric(core: Any, name: str, **labels: str) -> float:
    return core.metrics.registry.get_sample_value(name, labels) or 0.0


class TestIssuesAlertAndCount:
    async def test_one_alert_per_issue_and_none_again_within_the_window(
        self, client, settings, core, shopper, caplog
    ):
        drifted, drifted_at_gateway = await verified(shopper)
        await razorpay(client, action="alter_payment", payment_id=drifted_at_gateway, amount=99900)
        refunded, refunded_at_gateway = await verified(shopper)
        await client.post(
            f"/sandbox/razorpay/v1/payments/{refunded_at_gateway}/refund",
            json={"amount": 10000},
            auth=gateway_auth(settings),
        )
        recovered, _ = await paid_without_verify(shopper)
        await age(recovered, 10)

        with caplog.at_level(logging.ERROR, logger="paygraph.alerts"):
            first = await jobs.reconcile({"core": core})  # the cron job
            second = await core.reconciliation.reconcile(CRON)

        assert first.endswith("3 checked, 2 issues")
        assert {f.kind for f in second.mismatches} == {
            FindingKind.AMOUNT_MISMATCH,
            FindingKind.UNKNOWN_REFUND,
        }  # still there, and already alerted in this window
        assert alert_keys(caplog) == sorted(
            [
                f"AMOUNT_MISMATCH:{drifted}:{drifted_at_gateway}",
                f"UNKNOWN_REFUND:{refunded}:{refunded_at_gateway}",
            ]
        )
        assert metric(core, "paygraph_alerts_total", kind=RECONCILIATION_ISSUE) == 2
        issues = "paygraph_reconciliation_issues_total"
        assert metric(core, issues, kind="AMOUNT_MISMATCH") == 2  # once per run
        assert metric(core, issues, kind="UNKNOWN_REFUND") == 2
        assert metric(core, "paygraph_reconciliation_recoveries_total", kind="RECOVERED") == 1
        runs = "paygraph_reconciliation_runs_total"
        assert metric(core, runs, trigger="CRON", outcome="issues") == 2
        assert metric(core, runs, trigger="CRON", outcome="ok") == 0

    async def test_the_alert_carries_the_finding_and_its_report(
        self, client, core, shopper, redis, caplog
    ):
        drifted, at_gateway = await verified(shopper)
        await razorpay(client, action="alter_payment", payment_id=at_gateway, currency="USD")
        with caplog.at_level(logging.ERROR, logger="paygraph.alerts"):
            report = await core.reconciliation.reconcile(ReconciliationTrigger.ADMIN)
        [record] = [r for r in caplog.records if r.name == "paygraph.alerts"]
        key = f"AMOUNT_MISMATCH:{drifted}:{at_gateway}"
        assert record.alert_key == key
        for fact in (str(report.id), '"trigger": "ADMIN"', '"expected": "499.00 USD"', drifted):
            assert fact in record.getMessage()
        assert await redis.exists(f"{DEDUPE_PREFIX}{RECONCILIATION_ISSUE}:{key}")

    async def test_a_clean_run_counts_as_ok_and_alerts_nothing(self, core, shopper, caplog):
        pid, _ = await paid_without_verify(shopper)
        await age(pid, 10)
        with caplog.at_level(logging.ERROR, logger="paygraph.alerts"):
            report = await core.reconciliation.reconcile(ReconciliationTrigger.CLI)
        assert report.recovered == 1 and report.mismatches == []
        assert alert_keys(caplog) == []
        runs = "paygraph_reconciliation_runs_total"
        assert metric(core, runs, trigger="CLI", outcome="ok") == 1
        assert metric(core, "paygraph_reconciliation_recoveries_total", kind="RECOVERED") == 1


class TestDryRun:
    async def test_counts_nothing_and_alerts_nothing(self, client, core, shopper, redis, caplog):
        _, at_gateway = await verified(shopper)
        await razorpay(client, action="alter_payment", payment_id=at_gateway, amount=99900)
        pid, _ = await paid_without_verify(shopper)
        await age(pid, 10)
        with caplog.at_level(logging.ERROR, logger="paygraph.alerts"):
            report = await core.reconciliation.reconcile(CRON, dry_run=True)
        assert len(report.mismatches) == 1 and report.recovered == 1
        assert alert_keys(caplog) == []
        assert not await redis.keys(f"{DEDUPE_PREFIX}*")
        registry = core.metrics.registry
        for name, labels in [
            ("paygraph_reconciliation_runs_total", {"trigger": "CRON", "outcome": "issues"}),
            ("paygraph_reconciliation_recoveries_total", {"kind": "RECOVERED"}),
            ("paygraph_reconciliation_issues_total", {"kind": "AMOUNT_MISMATCH"}),
            ("paygraph_alerts_total", {"kind": RECONCILIATION_ISSUE}),
        ]:
            assert registry.get_sample_value(name, labels) is None, name


class TestGatewayErrors:
    @pytest.fixture
    async def one_try(self, core) -> AsyncIterator[ReconciliationService]:
        """The cron's alerts and metrics, reading through gateways that try each call once."""
        wiring = {"alerts": core.alerts, "recorder": core.metrics}
        async with reading_through(core, CallPolicy(attempts=1), **wiring) as service:
            yield service

    async def test_count_each_and_alert_once_per_gateway(
        self, client, core, shopper, one_try, caplog
    ):
        for _ in range(2):
            pid, _ = await paid_without_verify(shopper)
            await age(pid, 10)
        await razorpay(client, action="fault", path="/v1/orders/*/payments", status=503, count=2)
        with caplog.at_level(logging.ERROR, logger="paygraph.alerts"):
            report = await one_try.reconcile(CRON)
        assert (report.gateway_errors, report.mismatches) == (2, [])
        assert alert_keys(caplog) == ["GATEWAY_ERROR:RAZORPAY"]
        assert metric(core, "paygraph_reconciliation_issues_total", kind="GATEWAY_ERROR") == 2
        runs = "paygraph_reconciliation_runs_total"
        assert metric(core, runs, trigger="CRON", outcome="issues") == 1


class TestFailedRun:
    async def test_counts_once_as_failed_and_keeps_its_report(self, core, shopper):
        # One record's unexpected error is that record's outcome (see test_run); what ends a
        # run is a failure around the records: here its progress reporter (a CLI whose
        # terminal went away) raises after the first record.
        def progress(done: int, total: int) -> None:
            if done:
                raise RuntimeError("the terminal went away")

        pid, _ = await paid_without_verify(shopper)
        await age(pid, 10)
        service = ReconciliationService(
            core.payments,
            core.refunds,
            core.gateways.registry,
            core.redis,
            alerts=core.alerts,
            recorder=core.metrics,
        )
        with pytest.raises(RuntimeError):
            await service.reconcile(CRON, progress=progress)
        runs = "paygraph_reconciliation_runs_total"
        assert metric(core, runs, trigger="CRON", outcome="failed") == 1
        [stored] = await ReconciliationReport.find_all().to_list()
        assert stored.finished_at is not None and stored.checked_payments == 1
