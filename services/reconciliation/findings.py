"""What a run finds, and the report it builds from it: fixes (applied through the state machine,
or, dry, that would be) and issues (reported for a person, never overwritten)."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from gateways.base import GatewayPayment
from models.money import Money
from models.payment import Payment
from models.reconciliation import FindingKind, ReconciliationFinding, ReconciliationReport
from models.refund import Refund

log = logging.getLogger("paygraph.reconciliation")

T = TypeVar("T")
Progress = Callable[[int, int], None]

# A report keeps every issue; fixes beyond this many are counted, not listed (BSON size).
MAX_LISTED_FIXES = 2000
MAX_LISTED_ERRORS = 200
# The issue a record is when its gateway could not be asked (not a finding of the report: it
# counts them in `gateway_errors` and lists them in `errors`).
GATEWAY_ERROR = "GATEWAY_ERROR"
REVIEW = "none: left for review"


@dataclass
class Run:
    """The report being built by one run, plus its bookkeeping: progress, the bound on gateway
    calls in flight, and what it fixed and could not ask, by kind and by gateway."""

    report: ReconciliationReport
    now: datetime
    dry_run: bool
    progress: Progress | None
    slots: asyncio.Semaphore
    total: int = 0
    done: int = 0
    fixes: Counter[str] = field(default_factory=Counter)
    unreachable: Counter[str] = field(default_factory=Counter)  # gateway errors by gateway

    def act(self, what: str) -> str:
        return f"would {what} (dry run)" if self.dry_run else what

    def fix(self, finding: ReconciliationFinding) -> None:
        self.fixes[finding.kind] += 1
        if len(self.report.fixed) < MAX_LISTED_FIXES:
            self.report.fixed.append(finding)
        else:
            self.report.fixed_not_listed += 1

    def issue(self, finding: ReconciliationFinding) -> None:
        log.warning("reconciliation %s: %s", finding.kind, finding.detail)
        self.report.mismatches.append(finding)

    def error(self, item: Payment | Refund, reason: str) -> None:
        self.report.gateway_errors += 1
        self.unreachable[str(item.gateway)] += 1
        if len(self.report.errors) < MAX_LISTED_ERRORS:
            self.report.errors.append(f"{describe(item)}: {reason}")

    def step(self) -> None:
        self.done += 1
        if self.progress is not None:
            self.progress(self.done, self.total)

    async def fetch(self, call: Callable[[], Awaitable[T]]) -> T:
        """One gateway read inside the run's concurrency bound (the gateway's call policy backs
        off on 429/5xx; the slot is held while it does, so a rate-limited gateway sees fewer
        calls, not more)."""
        async with self.slots:
            return await call()


def describe(item: Payment | Refund) -> str:
    if isinstance(item, Payment):
        return f"{item.gateway} payment {item.id} (order {item.gateway_order_id})"
    return f"{item.gateway} refund {item.id}"


def issue_key(finding: ReconciliationFinding) -> str:
    """`<KIND>:<record id>`: the refund's id, else the payment's and the gateway payment the
    finding is about (one order can hold several captures that each disagree)."""
    if finding.refund_id is not None:
        return f"{finding.kind}:{finding.refund_id}"
    key = f"{finding.kind}:{finding.payment_id}"
    return f"{key}:{finding.gateway_payment_id}" if finding.gateway_payment_id else key


def money(amount_minor: int, currency: str) -> str:
    try:
        return (
            f"{Money(amount_minor=amount_minor, currency=currency).to_decimal_string()} {currency}"
        )
    except ValueError:
        return f"{amount_minor} minor units {currency}"


def about(payment: Payment, **ids: Any) -> dict[str, Any]:
    return {
        "payment_id": payment.id,
        "order_id": payment.order_id,
        "gateway": payment.gateway,
        "gateway_order_id": payment.gateway_order_id,
        **ids,
    }


def amount_mismatch(payment: Payment, attempt: GatewayPayment) -> ReconciliationFinding:
    return ReconciliationFinding(
        kind=FindingKind.AMOUNT_MISMATCH,
        **about(payment, gateway_payment_id=attempt.id),
        detail=f"the gateway {attempt.status.value.lower()} another amount than ours; not applied",
        expected=money(attempt.amount_minor, attempt.currency),
        actual=money(payment.amount.amount_minor, payment.currency),
        action=REVIEW,
    )


def double_charge(
    payment: Payment, kept: str | None, extra: GatewayPayment
) -> ReconciliationFinding:
    return ReconciliationFinding(
        kind=FindingKind.DOUBLE_CHARGE,
        **about(payment, gateway_payment_id=extra.id),
        detail=f"a second captured payment on the order (ours is {kept}): refund one of them",
        expected=f"{extra.status.value} {money(extra.amount_minor, extra.currency)}",
        actual=f"one payment ({kept})",
        action="none: refund the duplicate",
    )
