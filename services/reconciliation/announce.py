"""What a stored run tells the outside (a dry run tells nothing): its outcome, fixes and issues
to the metrics, once per run whatever started it, and each issue as a RECONCILIATION_ISSUE alert.
AlertService lets one (kind, key) fire once per ALERT_WINDOW_SECONDS across processes, so a
drift that a later run finds again inside the window is not alerted twice."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from models.reconciliation import ReconciliationReport
from services.alerts import RECONCILIATION_ISSUE, AlertService
from services.observers import ReconciliationRecorder
from services.reconciliation.findings import GATEWAY_ERROR, Run, issue_key

ALERTS_IN_FLIGHT = 8  # deliveries retry with backoff: many issues must not queue behind one


class RunOutcome(StrEnum):
    OK = "ok"  # nothing needs a person
    ISSUES = "issues"  # issues or gateway errors to look at (`paygraph reconcile` exits 1)
    FAILED = "failed"  # the run stopped on an error; what it found so far is still reported

    @classmethod
    def of(cls, report: ReconciliationReport) -> RunOutcome:
        return cls.ISSUES if report.mismatches or report.gateway_errors else cls.OK


class Announcer:
    def __init__(
        self, alerts: AlertService | None, recorder: ReconciliationRecorder | None
    ) -> None:
        self._alerts = alerts
        self._recorder = recorder

    async def announce(self, run: Run, outcome: RunOutcome) -> None:
        report = run.report
        if self._recorder is not None:
            self._recorder.reconciliation_run(report.trigger.value, outcome.value)
            for kind, count in sorted(run.fixes.items()):
                self._recorder.reconciliation_recovered(kind, count)
            for kind, count in sorted(Counter(f.kind for f in report.mismatches).items()):
                self._recorder.reconciliation_issue(kind, count)
            if report.gateway_errors:
                self._recorder.reconciliation_issue(GATEWAY_ERROR, report.gateway_errors)
        if self._alerts is not None:
            await self._raise(self._alerts, _alerts_of(run))

    @staticmethod
    async def _raise(alerts: AlertService, raised: list[tuple[str, Mapping[str, Any]]]) -> None:
        slots = asyncio.Semaphore(ALERTS_IN_FLIGHT)

        async def one(key: str, details: Mapping[str, Any]) -> None:
            async with slots:
                await alerts.raise_alert(RECONCILIATION_ISSUE, key, details)

        await asyncio.gather(*(one(key, details) for key, details in raised))


def _alerts_of(run: Run) -> list[tuple[str, Mapping[str, Any]]]:
    """One alert per issue, keyed `<KIND>:<record id>`; gateway errors are one alert per
    gateway (an outage makes every record an error: one alert says it, the report lists them)."""
    report = run.report
    context = {"report_id": str(report.id), "trigger": report.trigger.value}
    raised: list[tuple[str, Mapping[str, Any]]] = [
        (
            issue_key(finding),
            {**context, **finding.model_dump(mode="json", exclude_none=True)},
        )
        for finding in report.mismatches
    ]
    for gateway, count in sorted(run.unreachable.items()):
        raised.append(
            (
                f"{GATEWAY_ERROR}:{gateway}",
                {
                    **context,
                    "kind": GATEWAY_ERROR,
                    "gateway": gateway,
                    "gateway_errors": count,
                    "detail": f"{count} record(s) could not be checked with {gateway}; "
                    "the report's errors list them",
                },
            )
        )
    return raised
