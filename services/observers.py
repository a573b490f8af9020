"""What services tell the outside about applied changes (metrics today).

Services call an observer after a transition is written, never before and never instead of the
write; an observer does no I/O and cannot change the outcome. The Prometheus implementation is
infra/metrics.py, wired in app.py; `NullObserver` is the default so services stand alone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from models.enums import PaymentStatus, RefundStatus
from models.payment import LatePayment, Payment
from models.refund import Refund


class ChangeObserver(Protocol):
    def payment_transitioned(self, payment: Payment, status: PaymentStatus, at: datetime) -> None:
        """`payment` (as written) entered `status` at `at`."""
        ...

    def payment_attempt_failed(self, payment: Payment) -> None:
        """One more failed attempt was counted on `payment` (whether or not its status moved)."""
        ...

    def refund_transitioned(self, refund: Refund, status: RefundStatus) -> None:
        """`refund` was created (PENDING) or entered `status`."""
        ...

    def late_payment(self, payment: Payment, late: LatePayment) -> None:
        """Money for the closed `payment` was recorded as `late` (and acted on)."""
        ...


class NullObserver:
    def payment_transitioned(self, payment: Payment, status: PaymentStatus, at: datetime) -> None:
        return None

    def payment_attempt_failed(self, payment: Payment) -> None:
        return None

    def refund_transitioned(self, refund: Refund, status: RefundStatus) -> None:
        return None

    def late_payment(self, payment: Payment, late: LatePayment) -> None:
        return None


class ReconciliationRecorder(Protocol):
    """Reconciliation's counters (infra/metrics.py implements it), told once per stored run.
    `kind` is a short stable label (a finding kind such as "RECOVERED" or "AMOUNT_MISMATCH", or
    "GATEWAY_ERROR"); never an id, which would explode cardinality."""

    def reconciliation_run(self, trigger: str, outcome: str) -> None: ...

    def reconciliation_recovered(self, kind: str, count: int = 1) -> None: ...

    def reconciliation_issue(self, kind: str, count: int = 1) -> None: ...
