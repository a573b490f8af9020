"""Reconciliation: ask the gateways about what webhooks and browsers left unsettled, and feed
their answers through the same state machine (source RECONCILIATION).

What a run checks (selected from the database when it starts):
- payments still open (PENDING, INITIATED, AUTHORIZED, or FAILED with attempts left) whose last
  change is older than RECONCILE_PENDING_AFTER_SECONDS;
- refunds PENDING or PROCESSING older than the same threshold;
- payments completed (or refunded) within the drift window (24 h, or `since`), for drift.

What it fixes, through PaymentService and RefundService only:
- captured at the gateway, open here -> COMPLETED (an authorized Razorpay payment or an approved
  PayPal order is captured first, with the gateway idempotency the services already use);
- a failed attempt we never heard of -> recorded (FAILED while attempts remain);
- nothing paid and past PAYMENT_TIMEOUT_MINUTES -> EXPIRED;
- a refund processed or failed there -> COMPLETED or FAILED here; a refund whose gateway call
  never answered is sent again (same idempotency key: the gateway replays, never refunds twice).

What it only reports, never overwrites (the issues): amount or currency differing, a second
captured gateway payment on our order (a double charge to refund), a payment completed here that
the gateway calls failed or does not list, refunds at the gateway beyond what we know of, a
refund's amount differing, refunds still pending there past REFUND_TIMEOUT_HOURS, any transition
the state machine refuses, and records the gateway could not be asked about. Each stored run
counts in the reconciliation metrics and raises a RECONCILIATION_ISSUE alert per issue.

Runs never overlap: a Redis lock with an expiry (kept alive while the run works, so a crashed
run's lock lapses on its own). Gateway reads go through a semaphore (bounded concurrency) and
the gateways' call policy (backoff on 429 and 5xx). A dry run takes the same lock, reads the
same things and writes nothing - not even its report, which it only returns - and neither
counts nor alerts.

Modules: run (the run), payments and refunds (the checks), findings (the report being built),
announce (metrics and alerts), lock, duration (`--since`), service (the facade).
"""

from services.reconciliation.duration import parse_duration
from services.reconciliation.lock import LOCK_KEY, RunLock
from services.reconciliation.run import ReconciliationPolicy
from services.reconciliation.service import ReconciliationService, ReportPage

__all__ = [
    "LOCK_KEY",
    "ReconciliationPolicy",
    "ReconciliationService",
    "ReportPage",
    "RunLock",
    "parse_duration",
]
