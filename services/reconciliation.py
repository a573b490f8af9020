"""Reconciliation: ask the gateways about what webhooks and browsers left unsettled, and feed
their answers through the same state machine (source RECONCILIATION).

What a run checks (selected from the database when it starts):
- payments still open (PENDING, INITIATED, AUTHORIZED, or FAILED with attempts left) whose last
  change is older than RECONCILE_PENDING_AFTER_SECONDS;
- refunds PENDING or PROCESSING older than the same threshold;
- payments completed (or refunded) within the drift window (24 h, or `since`), for drift.

What it fixes, through services/payments.py and services/refunds.py only:
- captured at the gateway, open here -> COMPLETED (an authorized Razorpay payment or an approved
  PayPal order is captured first, with the gateway idempotency the services already use);
- a failed attempt we never heard of -> recorded (FAILED while attempts remain);
- nothing paid and past PAYMENT_TIMEOUT_MINUTES -> EXPIRED;
- a refund processed or failed there -> COMPLETED or FAILED here; a refund whose gateway call
  never answered is sent again (same idempotency key: the gateway replays, never refunds twice).

What it only reports, never overwrites: amount or currency differing, a second captured gateway
payment on our order (a double charge to refund), a payment completed here that the gateway
calls failed or does not list, refunds at the gateway beyond what we know of, a refund's amount
differing, refunds still pending there past REFUND_TIMEOUT_HOURS, and any transition the state
machine refuses.

Runs never overlap: a Redis lock with an expiry (kept alive while the run works, so a crashed
run's lock lapses on its own). Gateway reads go through a semaphore (bounded concurrency) and
gateways.retry (exponential backoff on 429 and 5xx). A dry run takes the same lock, reads the
same things and writes nothing - not even its report, which it only returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from redis.asyncio import Redis

from gateways.base import (
    Gateway,
    GatewayError,
    GatewayOrderStatus,
    GatewayPayment,
    GatewayPaymentStatus,
    GatewayRefundStatus,
)
from gateways.registry import GatewayRegistry
from models.clock import utcnow
from models.enums import PaymentStatus, ReconciliationTrigger, RefundStatus, TransitionSource
from models.errors import InvalidState, ReconciliationRunning, ValidationFailed
from models.money import Money
from models.payment import Payment
from models.reconciliation import FindingKind, ReconciliationFinding, ReconciliationReport
from models.refund import Refund
from models.transitions import (
    CAPTURED_PAYMENT_STATUSES,
    OPEN_PAYMENT_STATUSES,
    OPEN_REFUND_STATUSES,
    PaymentEvent,
)
from services.kit import object_id
from services.payments import PaymentService
from services.refunds import RefundService

log = logging.getLogger("paygraph.reconciliation")

T = TypeVar("T")
ACTOR = "reconciliation"
LOCK_KEY = "paygraph:reconciliation:lock"
MAX_PAGE = 100
# A report keeps every issue; fixes beyond this many are counted, not listed (BSON size).
MAX_LISTED_FIXES = 2000
MAX_LISTED_ERRORS = 200
_BATCH = 200

_PAID = (GatewayPaymentStatus.CAPTURED, GatewayPaymentStatus.REFUNDED)
_HELD = (*_PAID, GatewayPaymentStatus.AUTHORIZED)


Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class ReconciliationPolicy:
    pending_after: timedelta = timedelta(minutes=5)  # RECONCILE_PENDING_AFTER_SECONDS
    refund_timeout: timedelta = timedelta(hours=24)  # REFUND_TIMEOUT_HOURS
    drift_window: timedelta = timedelta(hours=24)
    concurrency: int = 8  # gateway calls in flight
    workers: int = 32  # records being worked on (database writes included)
    lock_ttl: timedelta = timedelta(minutes=5)  # renewed every third of it while running


@dataclass(frozen=True, slots=True)
class ReportPage:
    items: list[ReconciliationReport]
    has_next_page: bool

    @property
    def end_cursor(self) -> str | None:
        return str(self.items[-1].id) if self.items else None


class RunLock:
    """One holder at a time across every process; the holder renews the expiry while it
    lives, so a crashed holder's lock lapses after `ttl`."""

    _RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"
    _RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"

    def __init__(self, redis: Redis, ttl: timedelta, key: str = LOCK_KEY) -> None:
        self._redis = redis
        self._ttl_ms = int(ttl.total_seconds() * 1000)
        self._key = key

    @contextlib.asynccontextmanager
    async def hold(self) -> AsyncIterator[None]:
        token = secrets.token_hex(16)
        if not await self._redis.set(self._key, token, nx=True, px=self._ttl_ms):
            remaining = await self._redis.pttl(self._key)
            seconds = max(int(remaining) // 1000, 0) if remaining and remaining > 0 else 0
            raise ReconciliationRunning(
                "a reconciliation run is already in progress; its lock expires within "
                f"{seconds} s if that run has died",
                retry_after_seconds=seconds,
            )
        renewer = asyncio.create_task(self._renew(token))
        try:
            yield
        finally:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer
            await self._redis.eval(self._RELEASE, 1, self._key, token)  # type: ignore[misc]

    async def _renew(self, token: str) -> None:
        while True:
            await asyncio.sleep(self._ttl_ms / 3000)
            kept = await self._redis.eval(self._RENEW, 1, self._key, token, str(self._ttl_ms))  # type: ignore[misc]
            if not kept:
                log.error("reconciliation lock lost (expired while this run was stalled)")
                return


@dataclass
class _Run:
    """The report being built by one run, plus per-record bookkeeping."""

    report: ReconciliationReport
    now: datetime
    dry_run: bool
    progress: Progress | None
    total: int = 0
    done: int = 0
    issues_before: dict[int, int] = field(default_factory=dict)

    def act(self, what: str) -> str:
        return f"would {what} (dry run)" if self.dry_run else what

    def fix(self, finding: ReconciliationFinding) -> None:
        if len(self.report.fixed) < MAX_LISTED_FIXES:
            self.report.fixed.append(finding)
        else:
            self.report.fixed_not_listed += 1

    def issue(self, finding: ReconciliationFinding) -> None:
        log.warning("reconciliation %s: %s", finding.kind, finding.detail)
        self.report.mismatches.append(finding)

    def error(self, what: str, exc: Exception) -> None:
        self.report.gateway_errors += 1
        if len(self.report.errors) < MAX_LISTED_ERRORS:
            self.report.errors.append(f"{what}: {getattr(exc, 'message', None) or exc}")

    def step(self) -> None:
        self.done += 1
        if self.progress is not None:
            self.progress(self.done, self.total)


def _money(amount_minor: int, currency: str) -> str:
    try:
        return (
            f"{Money(amount_minor=amount_minor, currency=currency).to_decimal_string()} {currency}"
        )
    except ValueError:
        return f"{amount_minor} minor units {currency}"


def _about(payment: Payment, **ids: Any) -> dict[str, Any]:
    return {
        "payment_id": payment.id,
        "order_id": payment.order_id,
        "gateway": payment.gateway,
        "gateway_order_id": payment.gateway_order_id,
        **ids,
    }


class ReconciliationService:
    def __init__(
        self,
        payments: PaymentService,
        refunds: RefundService,
        gateways: GatewayRegistry,
        redis: Redis,
        policy: ReconciliationPolicy | None = None,
    ) -> None:
        self._payments = payments
        self._refunds = refunds
        self._gateways = gateways
        self._policy = policy or ReconciliationPolicy()
        self._lock = RunLock(redis, self._policy.lock_ttl)

    # -- reads ---------------------------------------------------------------------------

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

    # -- the run -------------------------------------------------------------------------

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
        changes nothing and returns, unsaved, the report of what it would do."""
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
            run = _Run(report, now, dry_run, progress)
            try:
                await self._run(run)
            finally:
                report.finished_at = utcnow()
                if not dry_run:
                    await report.insert()
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

    async def _run(self, run: _Run) -> None:
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
            "gateway_payment_id": {"$ne": None},
            **created,
        }
        open_refunds = {
            "status": {"$in": [s.value for s in OPEN_REFUND_STATUSES]},
            "updated_at": {"$lte": stale},
            **created,
        }
        # The selection is fixed when the run starts: ids first, documents in batches that
        # re-apply the filter. A cursor left open while the run changes what it selects can
        # return a changed document twice; a batch skips whatever moved on meanwhile.
        selections: list[tuple[type[Payment] | type[Refund], dict[str, Any], Any]] = [
            (Payment, open_payments, self._check_open),
            (Payment, settled_payments, self._check_settled),
            (Refund, open_refunds, self._check_refund),
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
        slots = asyncio.Semaphore(policy.concurrency)

        async def produce() -> None:
            for (model, query, check), ids in zip(selections, chosen, strict=True):
                for start in range(0, len(ids), _BATCH):
                    batch = ids[start : start + _BATCH]
                    found = await model.find({"_id": {"$in": batch}, **query}).to_list()
                    for _ in range(len(batch) - len(found)):
                        run.step()  # changed since the run started: no longer ours to check
                    for item in found:
                        await queue.put(
                            functools.partial(self._guard_check, run, slots, check, item)
                        )
            for _ in range(policy.workers):
                await queue.put(None)

        async def work() -> None:
            while (job := await queue.get()) is not None:
                await job()

        await asyncio.gather(produce(), *(work() for _ in range(policy.workers)))

    async def _guard_check(
        self, run: _Run, slots: asyncio.Semaphore, check: Any, item: Payment | Refund
    ) -> None:
        await self._guard(run, item, check(run, slots, item))

    async def _guard(self, run: _Run, item: Payment | Refund, check: Awaitable[bool]) -> None:
        """Run one record's check; count it. Gateway failures and state-machine refusals are
        this record's outcome, not the run's end."""
        payment = item if isinstance(item, Payment) else None
        refund = item if isinstance(item, Refund) else None
        report = run.report
        if payment is not None:
            report.checked_payments += 1
        else:
            report.checked_refunds += 1
        issues = len(report.mismatches)
        changed = False
        try:
            changed = await check
        except (GatewayError, ValueError) as exc:
            # ValueError: an id the adapter refuses to put in a URL (corrupt record).
            run.error(_describe(payment, refund), exc)
            changed = True  # not "unchanged": we could not tell
        except InvalidState as exc:
            target = payment or (await Payment.get(refund.payment_id) if refund else None)
            run.issue(
                ReconciliationFinding(
                    kind=FindingKind.STATE_CONFLICT,
                    **(_about(target) if target else {}),
                    refund_id=refund.id if refund else None,
                    detail=f"the state machine refused what the gateway says: {exc.message}",
                    action="none: left for review",
                )
            )
        if not changed and len(report.mismatches) == issues:
            report.unchanged += 1
        run.step()

    async def _fetch(self, slots: asyncio.Semaphore, call: Callable[[], Awaitable[T]]) -> T:
        """One gateway read inside the run's concurrency bound (the gateway's call policy backs
        off on 429/5xx; the slot is held while it does, so a rate-limited gateway sees fewer
        calls, not more)."""
        async with slots:
            return await call()

    # -- open payments ---------------------------------------------------------------------

    async def _check_open(self, run: _Run, slots: asyncio.Semaphore, payment: Payment) -> bool:
        """True when something was changed (or, dry, would be)."""
        if payment.gateway is None or payment.gateway_order_id is None:
            return await self._expire(run, payment, "no gateway order was ever created")
        adapter = self._gateways.get(payment.gateway)
        order_id = payment.gateway_order_id
        attempts = await self._fetch(slots, lambda: adapter.list_order_payments(order_id))
        attempts.sort(key=lambda a: a.created_at or 0)
        ours = (payment.amount.amount_minor, payment.currency)
        changed = False

        if any(a.status is GatewayPaymentStatus.PENDING for a in attempts):
            return False  # a capture under review at the gateway: money may still move
        held = [a for a in attempts if a.status in _HELD]
        wrong = [a for a in held if (a.amount_minor, a.currency) != ours]
        for attempt in wrong:
            run.issue(self._amount_mismatch(payment, attempt))
        for attempt in attempts:
            if attempt.status is GatewayPaymentStatus.FAILED and not _failure_recorded(
                payment, attempt.id
            ):
                changed = True
                run.report.failed_attempts += 1
                run.fix(
                    ReconciliationFinding(
                        kind=FindingKind.FAILED_ATTEMPT,
                        **_about(payment, gateway_payment_id=attempt.id),
                        detail=f"attempt failed at the gateway: {attempt.error_description or attempt.error_reason or attempt.error_code or 'no reason given'}",
                        expected="FAILED",
                        actual=payment.status.value,
                        action=run.act("record the failed attempt"),
                    )
                )
                if not run.dry_run:
                    payment = await self._payments.apply_gateway_payment(
                        payment, attempt, TransitionSource.RECONCILIATION, actor=ACTOR
                    )

        good = [a for a in held if a not in wrong]
        if good:
            return await self._recover(run, payment, good) or changed
        if wrong:
            return changed  # money moved at a different amount: a person decides
        if payment.gateway is Gateway.PAYPAL:
            order = await self._fetch(slots, lambda: adapter.fetch_order(order_id))
            if order.status is GatewayOrderStatus.APPROVED:
                return (
                    await self._capture_approved(run, payment, order.amount_minor, order.currency)
                    or changed
                )
        if payment.status is PaymentStatus.AUTHORIZED:
            run.issue(
                ReconciliationFinding(
                    kind=FindingKind.STATUS_MISMATCH,
                    **_about(payment, gateway_payment_id=payment.gateway_payment_id),
                    detail="authorized here, but the gateway holds no authorized or captured payment on the order",
                    expected="nothing held",
                    actual="AUTHORIZED",
                    action="none: left for review",
                )
            )
            return changed
        return await self._expire(run, payment, "nothing was paid at the gateway") or changed

    async def _recover(self, run: _Run, payment: Payment, held: list[GatewayPayment]) -> bool:
        """Complete the payment from the gateway payment that holds the money; any other
        captured payment on the same order is a double charge to report."""
        chosen = next((a for a in held if a.id == payment.gateway_payment_id), None)
        chosen = chosen or next((a for a in held if a.status in _PAID), held[0])
        for extra in held:
            if extra is not chosen and extra.status in _PAID:
                run.issue(self._double_charge(payment, chosen.id, extra))
        action = (
            "capture and complete"
            if chosen.status is GatewayPaymentStatus.AUTHORIZED
            else "complete"
        )
        finding = ReconciliationFinding(
            kind=FindingKind.RECOVERED,
            **_about(payment, gateway_payment_id=chosen.id),
            detail=f"{chosen.status.value.lower()} at the gateway while {payment.status.value} here",
            expected=chosen.status.value,
            actual=payment.status.value,
            action=run.act(action),
        )
        if run.dry_run:
            run.report.recovered += 1
            run.fix(finding)
            return True
        updated = await self._payments.apply_gateway_payment(
            payment, chosen, TransitionSource.RECONCILIATION, actor=ACTOR, capture=True
        )
        if updated.status is PaymentStatus.COMPLETED:
            run.report.recovered += 1
            run.fix(finding)
            return True
        # Authorized, and our capture did not go through: the next run tries again.
        return updated.version != payment.version

    async def _capture_approved(
        self, run: _Run, payment: Payment, amount_minor: int, currency: str
    ) -> bool:
        if (amount_minor, currency) != (payment.amount.amount_minor, payment.currency):
            run.issue(
                ReconciliationFinding(
                    kind=FindingKind.AMOUNT_MISMATCH,
                    **_about(payment),
                    detail="the approved PayPal order is for another amount; not captured",
                    expected=_money(amount_minor, currency),
                    actual=_money(payment.amount.amount_minor, payment.currency),
                    action="none: left for review",
                )
            )
            return False
        finding = ReconciliationFinding(
            kind=FindingKind.RECOVERED,
            **_about(payment),
            detail=f"the buyer approved the PayPal order while {payment.status.value} here",
            expected="APPROVED",
            actual=payment.status.value,
            action=run.act("capture and complete"),
        )
        if not run.dry_run:
            updated = await self._payments.capture_approved(
                payment, TransitionSource.RECONCILIATION, actor=ACTOR
            )
            if updated.status is not PaymentStatus.COMPLETED:
                return updated.version != payment.version
            finding.gateway_payment_id = updated.gateway_payment_id
        run.report.recovered += 1
        run.fix(finding)
        return True

    async def _expire(self, run: _Run, payment: Payment, why: str) -> bool:
        if payment.expires_at > run.now:
            return False  # still inside PAYMENT_TIMEOUT_MINUTES: the customer may yet pay
        finding = ReconciliationFinding(
            kind=FindingKind.EXPIRED,
            **_about(payment),
            detail=f"{why}; unpaid past its expiry",
            expected="nothing paid",
            actual=payment.status.value,
            action=run.act("expire"),
        )
        if not run.dry_run:
            try:
                updated = await self._payments.expire(
                    payment,
                    TransitionSource.RECONCILIATION,
                    actor=ACTOR,
                    note=f"reconciliation: {why}",
                )
            except InvalidState:
                return False  # it moved on (paid) meanwhile
            if updated.status is not PaymentStatus.EXPIRED:
                return False
        run.report.expired += 1
        run.fix(finding)
        return True

    # -- settled payments (drift) ----------------------------------------------------------

    async def _check_settled(self, run: _Run, slots: asyncio.Semaphore, payment: Payment) -> bool:
        """Report drift on a completed payment; never changes it."""
        assert payment.gateway is not None
        if payment.gateway_order_id is None:
            return False
        adapter = self._gateways.get(payment.gateway)
        order_id = payment.gateway_order_id
        attempts = await self._fetch(slots, lambda: adapter.list_order_payments(order_id))
        ours = next((a for a in attempts if a.id == payment.gateway_payment_id), None)
        for extra in attempts:
            if extra is not ours and extra.status in _PAID:
                run.issue(self._double_charge(payment, payment.gateway_payment_id, extra))
        if ours is None:
            run.issue(
                ReconciliationFinding(
                    kind=FindingKind.STATUS_MISMATCH,
                    **_about(payment, gateway_payment_id=payment.gateway_payment_id),
                    detail="completed here, but the gateway does not list this payment on the order",
                    expected="not found",
                    actual=payment.status.value,
                    action="none: left for review",
                )
            )
            return False
        if ours.status not in _PAID:
            run.issue(
                ReconciliationFinding(
                    kind=FindingKind.STATUS_MISMATCH,
                    **_about(payment, gateway_payment_id=ours.id),
                    detail=f"{payment.status.value} here, {ours.status.value} at the gateway",
                    expected=ours.status.value,
                    actual=payment.status.value,
                    action="none: left for review",
                )
            )
            return False
        if (ours.amount_minor, ours.currency) != (payment.amount.amount_minor, payment.currency):
            run.issue(self._amount_mismatch(payment, ours))
        known = payment.refund_committed_minor  # refunded and in flight
        if ours.amount_refunded_minor > known:
            run.issue(
                ReconciliationFinding(
                    kind=FindingKind.UNKNOWN_REFUND,
                    **_about(payment, gateway_payment_id=ours.id),
                    detail="the gateway refunded more than the refunds we know of"
                    + (
                        " (fully refunded there)"
                        if ours.status is GatewayPaymentStatus.REFUNDED
                        else ""
                    ),
                    expected=f"{_money(ours.amount_refunded_minor, ours.currency)} refunded",
                    actual=f"{_money(known, payment.currency)} refunded or in flight",
                    action="none: left for review",
                )
            )
        return False

    # -- refunds ---------------------------------------------------------------------------

    async def _check_refund(self, run: _Run, slots: asyncio.Semaphore, refund: Refund) -> bool:
        payment = await Payment.get(refund.payment_id)
        if payment is None or payment.gateway_payment_id is None:
            raise InvalidState("the refund's payment has no gateway payment")
        about = {
            **_about(payment, gateway_payment_id=payment.gateway_payment_id),
            "refund_id": refund.id,
        }
        if refund.gateway_refund_id is None:
            # The refund call never answered: send it again; its idempotency key makes the
            # gateway replay the first refund (or make it, if the first never arrived).
            finding = ReconciliationFinding(
                kind=FindingKind.REFUND_SUBMITTED,
                **about,
                detail="the refund call never answered; sent again with the same idempotency key",
                actual=refund.status.value,
                action=run.act("re-send the refund"),
            )
            if run.dry_run:
                run.fix(finding)
                return True
            async with slots:
                updated = await self._refunds.submit(refund, source=TransitionSource.RECONCILIATION)
            if updated.gateway_refund_id is None and updated.status is refund.status:
                run.error(
                    f"{refund.gateway} refund {refund.id}",
                    _NoAnswer("still no answer from the gateway"),
                )
                return True
            return self._refund_moved(run, refund, updated, finding)

        gateway_refund_id = refund.gateway_refund_id
        adapter = self._gateways.get(refund.gateway)
        answer = await self._fetch(
            slots, lambda: adapter.fetch_refund(payment.gateway_payment_id or "", gateway_refund_id)
        )
        about["gateway_refund_id"] = answer.id
        if (answer.amount_minor, answer.currency) != (
            refund.amount.amount_minor,
            refund.amount.currency,
        ):
            run.issue(
                ReconciliationFinding(
                    kind=FindingKind.REFUND_MISMATCH,
                    **about,
                    detail="the gateway's refund is for another amount; not applied",
                    expected=_money(answer.amount_minor, answer.currency),
                    actual=_money(refund.amount.amount_minor, refund.amount.currency),
                    action="none: left for review",
                )
            )
            return False
        if answer.status is GatewayRefundStatus.PENDING:
            if refund.created_at <= run.now - self._policy.refund_timeout:
                run.issue(
                    ReconciliationFinding(
                        kind=FindingKind.REFUND_OVERDUE,
                        **about,
                        detail=f"still pending at the gateway {self._policy.refund_timeout} after it was requested",
                        expected="pending",
                        actual=refund.status.value,
                        action="none: ask the gateway",
                    )
                )
            return False
        finding = ReconciliationFinding(
            kind=FindingKind.REFUND_SETTLED,
            **about,
            detail=f"{answer.status.value.lower()} at the gateway while {refund.status.value} here",
            expected=answer.status.value,
            actual=refund.status.value,
            action=run.act(
                "complete the refund"
                if answer.status is GatewayRefundStatus.PROCESSED
                else "fail the refund"
            ),
        )
        if run.dry_run:
            run.report.refunds_settled += 1
            run.fix(finding)
            return True
        updated = await self._refunds.apply_gateway_refund(
            refund, answer, TransitionSource.RECONCILIATION
        )
        return self._refund_moved(run, refund, updated, finding)

    @staticmethod
    def _refund_moved(
        run: _Run, before: Refund, after: Refund, finding: ReconciliationFinding
    ) -> bool:
        if after.status in (RefundStatus.COMPLETED, RefundStatus.FAILED):
            run.report.refunds_settled += 1
            finding.kind = FindingKind.REFUND_SETTLED
            finding.expected = after.status.value
        finding.gateway_refund_id = after.gateway_refund_id
        if after.version == before.version:
            return False
        run.fix(finding)
        return True

    # -- findings ----------------------------------------------------------------------------

    @staticmethod
    def _amount_mismatch(payment: Payment, attempt: GatewayPayment) -> ReconciliationFinding:
        return ReconciliationFinding(
            kind=FindingKind.AMOUNT_MISMATCH,
            **_about(payment, gateway_payment_id=attempt.id),
            detail=f"the gateway {attempt.status.value.lower()} another amount than ours; not applied",
            expected=_money(attempt.amount_minor, attempt.currency),
            actual=_money(payment.amount.amount_minor, payment.currency),
            action="none: left for review",
        )

    @staticmethod
    def _double_charge(
        payment: Payment, kept: str | None, extra: GatewayPayment
    ) -> ReconciliationFinding:
        return ReconciliationFinding(
            kind=FindingKind.DOUBLE_CHARGE,
            **_about(payment, gateway_payment_id=extra.id),
            detail=f"a second captured payment on the order (ours is {kept}): refund one of them",
            expected=f"{extra.status.value} {_money(extra.amount_minor, extra.currency)}",
            actual=f"one payment ({kept})",
            action="none: refund the duplicate",
        )


class _NoAnswer(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _describe(payment: Payment | None, refund: Refund | None) -> str:
    if payment is not None:
        return f"{payment.gateway} payment {payment.id} (order {payment.gateway_order_id})"
    assert refund is not None
    return f"{refund.gateway} refund {refund.id}"


def _failure_recorded(payment: Payment, gateway_payment_id: str) -> bool:
    return any(
        entry.event is PaymentEvent.FAILED and entry.gateway_payment_id == gateway_payment_id
        for entry in payment.timeline
    )


def parse_duration(text: str) -> timedelta:
    """`90s`, `30m`, `6h`, `2d` (or a bare number of seconds) -> a positive timedelta."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    value = text.strip().lower()
    unit = value[-1:] if value[-1:] in units else "s"
    number = value[:-1] if value[-1:] in units else value
    try:
        amount = float(number)
    except ValueError:
        raise ValidationFailed(
            f"{text!r} is not a duration like 30m, 6h or 2d", field="since"
        ) from None
    if amount <= 0:
        raise ValidationFailed("since must be a positive duration", field="since")
    return timedelta(seconds=amount * units[unit])
