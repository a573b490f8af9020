"""ReconciliationService: runs (cron, CLI, admin mutation) and their stored reports, a facade
over the package's modules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from redis.asyncio import Redis

from gateways.registry import GatewayRegistry
from models.enums import ReconciliationTrigger
from models.errors import ValidationFailed
from models.reconciliation import ReconciliationReport
from services.alerts import AlertService
from services.kit import object_id
from services.observers import ReconciliationRecorder
from services.payments import PaymentService
from services.reconciliation.announce import Announcer
from services.reconciliation.findings import Progress
from services.reconciliation.late import LateMoneyChecks
from services.reconciliation.lock import RunLock
from services.reconciliation.payments import PaymentChecks
from services.reconciliation.refunds import RefundChecks
from services.reconciliation.run import Reconciler, ReconciliationPolicy
from services.refunds import RefundService

MAX_PAGE = 100


@dataclass(frozen=True, slots=True)
class ReportPage:
    items: list[ReconciliationReport]
    has_next_page: bool

    @property
    def end_cursor(self) -> str | None:
        return str(self.items[-1].id) if self.items else None


class ReconciliationService:
    def __init__(
        self,
        payments: PaymentService,
        refunds: RefundService,
        gateways: GatewayRegistry,
        redis: Redis,
        policy: ReconciliationPolicy | None = None,
        *,
        alerts: AlertService | None = None,
        recorder: ReconciliationRecorder | None = None,
    ) -> None:
        policy = policy or ReconciliationPolicy()
        late = LateMoneyChecks(payments, gateways)
        self._reconciler = Reconciler(
            policy,
            RunLock(redis, policy.lock_ttl),
            PaymentChecks(payments, gateways, late),
            RefundChecks(refunds, gateways, policy.refund_timeout),
            late,
            Announcer(alerts, recorder),
        )

    async def reports(self, *, first: int = 20, after: str | None = None) -> ReportPage:
        """Stored runs, newest first (dry runs are not stored)."""
        if not 1 <= first <= MAX_PAGE:
            raise ValidationFailed(f"first must be between 1 and {MAX_PAGE}", field="first")
        query: dict[str, Any] = {}
        if after:
            query["_id"] = {
                "$lt": object_id(
                    after,
                    otherwise=ValidationFailed(
                        "after is not a cursor from this API", field="after"
                    ),
                )
            }
        found = await ReconciliationReport.find(query).sort("-_id").limit(first + 1).to_list()
        return ReportPage(found[:first], len(found) > first)

    async def reconcile(
        self,
        trigger: ReconciliationTrigger,
        *,
        since: timedelta | None = None,
        dry_run: bool = False,
        progress: Progress | None = None,
    ) -> ReconciliationReport:
        """One run. Raises ReconciliationRunning while another run holds the lock. `since`
        limits the run to records created within it (and is the drift window); a dry run
        changes nothing and returns, unsaved, the report of what it would do. A stored run
        counts in the reconciliation metrics (run, fixes, issues) and raises one
        RECONCILIATION_ISSUE alert per issue (deduplicated per key within the alert window)."""
        return await self._reconciler.reconcile(trigger, since, dry_run, progress)
