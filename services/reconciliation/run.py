"""One reconciliation run: under the lock, select the stale records, check each of them with a
bounded number of gateway calls and database writes in flight, report progress, store the
report (not a dry run's) and announce it."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from gateways.base import GatewayError
from models.clock import utcnow
from models.enums import ReconciliationTrigger
from models.errors import InvalidState, ValidationFailed
from models.payment import Payment
from models.reconciliation import FindingKind, ReconciliationFinding, ReconciliationReport
from models.refund import Refund
from models.transitions import (
    CAPTURED_PAYMENT_STATUSES,
    OPEN_PAYMENT_STATUSES,
    OPEN_REFUND_STATUSES,
    UNPAID_CLOSED_STATUSES,
)
from services.reconciliation.announce import Announcer, RunOutcome
from services.reconciliation.findings import REVIEW, Progress, Run, about
from services.reconciliation.late import LateMoneyChecks
from services.reconciliation.lock import RunLock
from services.reconciliation.payments import PaymentChecks
from services.reconciliation.refunds import RefundChecks

log = logging.getLogger("paygraph.reconciliation")

_BATCH = 200

Check = Callable[[Run, Any], Awaitable[bool]]


@dataclass(frozen=True, slots=True)
class ReconciliationPolicy:
    pending_after: timedelta = timedelta(minutes=5)  # RECONCILE_PENDING_AFTER_SECONDS
    refund_timeout: timedelta = timedelta(hours=24)  # REFUND_TIMEOUT_HOURS
    drift_window: timedelta = timedelta(hours=24)
    # RECONCILE_CLOSED_LOOKBACK_HOURS: cancelled and expired payments are asked about this long
    # (Razorpay takes late authorizations for 5 days).
    closed_lookback: timedelta = timedelta(hours=120)
    concurrency: int = 8  # gateway calls in flight
    workers: int = 32  # records being worked on (database writes included)
    lock_ttl: timedelta = timedelta(minutes=5)  # renewed every third of it while running


class Reconciler:
    def __init__(
        self,
        policy: ReconciliationPolicy,
        lock: RunLock,
        payments: PaymentChecks,
        refunds: RefundChecks,
        late: LateMoneyChecks,
        announcer: Announcer,
    ) -> None:
        self._policy = policy
        self._lock = lock
        self._payments = payments
        self._refunds = refunds
        self._late = late
        self._announcer = announcer

    async def reconcile(
        self,
        trigger: ReconciliationTrigger,
        since: timedelta | None,
        dry_run: bool,
        progress: Progress | None,
    ) -> ReconciliationReport:
        if since is not None and since <= timedelta(0):
            raise ValidationFailed("since must be a positive duration", field="since")
        async with self._lock.hold():
            now = utcnow()
            report = ReconciliationReport(
                trigger=trigger,
                dry_run=dry_run,
                started_at=now,
                since=now - since if since is not None else None,
            )
            run = Run(report, now, dry_run, progress, asyncio.Semaphore(self._policy.concurrency))
            outcome = RunOutcome.FAILED
            try:
                await self._run(run)
                outcome = RunOutcome.of(report)
            finally:
                report.finished_at = utcnow()
                if not dry_run:
                    await report.insert()
                    await self._announcer.announce(run, outcome)
            log.info(
                "reconciliation (%s%s): %d checked, %d recovered, %d expired, %d issues, %d gateway errors",
                trigger.value,
                ", dry run" if dry_run else "",
                report.checked,
                report.recovered,
                report.expired,
                len(report.mismatches),
                report.gateway_errors,
            )
            return report

    async def _run(self, run: Run) -> None:
        policy = self._policy
        stale = run.now - policy.pending_after
        created: dict[str, Any] = {}
        if run.report.since is not None:
            created = {"created_at": {"$gte": run.report.since}}
        drift_from = run.report.since or run.now - policy.drift_window
        open_payments = {
            "status": {"$in": [s.value for s in OPEN_PAYMENT_STATUSES]},
            "updated_at": {"$lte": stale},
            **created,
        }
        settled_payments = {
            "status": {"$in": [s.value for s in CAPTURED_PAYMENT_STATUSES]},
            "updated_at": {"$gte": drift_from},
            "$or": [{"gateway_payment_id": {"$ne": None}}, {"late_payments.0": {"$exists": True}}],
            **created,
        }
        closed_payments = {
            "status": {"$in": [s.value for s in UNPAID_CLOSED_STATUSES]},
            "updated_at": {"$gte": run.now - policy.closed_lookback},
            "gateway_order_id": {"$ne": None},
            **created,
        }
        late_unreported = {"late_payments": {"$elemMatch": {"reported": False}}, **created}
        open_refunds = {
            "status": {"$in": [s.value for s in OPEN_REFUND_STATUSES]},
            "updated_at": {"$lte": stale},
            **created,
        }
        # The selection is fixed when the run starts: ids first, documents in batches that
        # re-apply the filter. A cursor left open while the run changes what it selects can
        # return a changed document twice; a batch skips whatever moved on meanwhile.
        selections: list[tuple[type[Payment] | type[Refund], dict[str, Any], Check]] = [
            (Payment, open_payments, self._payments.check_open),
            (Payment, settled_payments, self._payments.check_settled),
            (Payment, closed_payments, self._late.check_closed),
            (Payment, late_unreported, self._late.report_late),
            (Refund, open_refunds, self._refunds.check),
        ]
        chosen = [
            [row["_id"] async for row in model.get_pymongo_collection().find(query, {"_id": 1})]
            for model, query, _ in selections
        ]
        run.total = sum(len(ids) for ids in chosen)
        if run.progress is not None:
            run.progress(0, run.total)

        queue: asyncio.Queue[Callable[[], Awaitable[None]] | None] = asyncio.Queue(
            policy.workers * 2
        )

        async def produce() -> None:
            for (model, query, check), ids in zip(selections, chosen, strict=True):
                for start in range(0, len(ids), _BATCH):
                    batch = ids[start : start + _BATCH]
                    found = await model.find({"_id": {"$in": batch}, **query}).to_list()
                    for _ in range(len(batch) - len(found)):
                        run.step()  # changed since the run started: no longer ours to check
                    for item in found:
                        await queue.put(functools.partial(_guard, run, check, item))
            for _ in range(policy.workers):
                await queue.put(None)

        async def work() -> None:
            while (job := await queue.get()) is not None:
                await job()

        await asyncio.gather(produce(), *(work() for _ in range(policy.workers)))


async def _guard(run: Run, check: Check, item: Payment | Refund) -> None:
    """Run one record's check; count it. Gateway failures, state-machine refusals and even an
    unexpected error are this record's outcome (reported with it), not the run's end."""
    report = run.report
    if isinstance(item, Payment):
        report.checked_payments += 1
    else:
        report.checked_refunds += 1
    issues = len(report.mismatches)
    changed = False
    try:
        changed = await check(run, item)
    except (GatewayError, ValueError) as exc:
        # ValueError: an id the adapter refuses to put in a URL (corrupt record).
        run.error(item, str(getattr(exc, "message", None) or exc))
        changed = True  # not "unchanged": we could not tell
    except InvalidState as exc:
        refund = item if isinstance(item, Refund) else None
        target = await Payment.get(item.payment_id) if isinstance(item, Refund) else item
        run.issue(
            ReconciliationFinding(
                kind=FindingKind.STATE_CONFLICT,
                **(about(target) if target else {}),
                refund_id=refund.id if refund else None,
                detail=f"the state machine refused what the gateway says: {exc.message}",
                action=REVIEW,
            )
        )
    except Exception as exc:
        log.exception("reconciliation of %s %s failed unexpectedly", type(item).__name__, item.id)
        run.error(item, f"unexpected error: {type(exc).__name__}: {exc}")
        changed = True
    if not changed and len(report.mismatches) == issues:
        report.unchanged += 1
    run.step()
