"""What a refund request carries, how the refund path is tuned, and where accepted refunds go."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from models.enums import RefundReason
from models.refund import Refund


@dataclass(frozen=True, slots=True)
class RefundCommand:
    payment_id: str
    # Required: a client that retries a refund whose answer it never got must get the first
    # refund back, never a second one.
    idempotency_key: str
    amount: str | None = None  # major units; None: the whole refundable remainder
    reason: RefundReason = RefundReason.CUSTOMER_REQUEST
    notes: str | None = None


@dataclass(frozen=True, slots=True)
class RefundPolicy:
    timeout_hours: int = 24
    enqueue_timeout: float = 1.0
    # A refund still PENDING this long after it was accepted is queued again by the sweep
    # (until REFUND_TIMEOUT_HOURS): its job was never queued (Redis was down) or its worker
    # died. A job that is still queued or retrying is not doubled (one job id per refund).
    resend_after: timedelta = timedelta(seconds=60)
    sweep_batch: int = 500


class RefundQueue(Protocol):
    """Where an accepted refund is handed to the workers (arq in workers/). One job per
    refund: queueing it again while it is queued or running does nothing."""

    async def enqueue_refund(self, refund_id: str, *, again: bool = False) -> None: ...


def idempotency_key(refund: Refund) -> str:
    """The gateway idempotency key of a refund: derived from our refund id, never reused."""
    return f"paygraph-refund-{refund.id}"
