"""arq jobs: thin wrappers, one service call each (STYLE.md 1). Every job is safe to run twice."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, TypedDict

from arq import Retry
from arq.connections import ArqRedis

from gateways.base import Gateway
from models.enums import ReconciliationTrigger, RefundStatus
from models.errors import ReconciliationRunning
from services.health import record_heartbeat
from services.webhooks import Outcome
from settings import Settings
from workers.queue import QUEUE_NAME, REFUND_QUEUE_NAME

if TYPE_CHECKING:
    from core import Core

log = logging.getLogger("paygraph.worker")

# Backoff for an event whose payment we cannot find yet (the webhook beat our own write).
WEBHOOK_RETRY_DELAYS = (1, 2, 5, 10, 30, 60, 120, 300)
# Backoff for a refund the gateway did not answer (each try already retried the call itself).
REFUND_RETRY_DELAYS = (5, 30, 60, 120, 300, 600, 900, 1800)


class WorkerContext(TypedDict):
    redis: ArqRedis
    settings: Settings
    core: Core
    job_id: str
    job_try: int


async def heartbeat(ctx: WorkerContext) -> float:
    """Proves the worker runs: /readyz shows how long ago it last beat."""
    core = ctx.get("core")
    if core is not None:  # the queue-depth gauge of this worker's /metrics
        await core.metrics.refresh_queue_depth(ctx["redis"], QUEUE_NAME, REFUND_QUEUE_NAME)
    return await record_heartbeat(ctx["redis"])


async def process_webhook(ctx: WorkerContext, gateway: str, event_id: str) -> str:
    outcome = await ctx["core"].processor.process(Gateway(gateway), event_id)
    ctx["core"].metrics.webhook_processed(Gateway(gateway), outcome.value)
    if outcome is Outcome.RETRY:
        try_number = ctx.get("job_try", 1)
        delay = WEBHOOK_RETRY_DELAYS[min(try_number, len(WEBHOOK_RETRY_DELAYS)) - 1]
        raise Retry(defer=delay)
    return outcome.value


async def send_refund(ctx: WorkerContext, refund_id: str) -> str:
    """Send an accepted refund to its gateway and apply the answer (PENDING ones only). No
    answer from the gateway (it stays PENDING): try again later, same idempotency key."""
    refund = await ctx["core"].refunds.send(refund_id)
    if refund is not None and refund.status is RefundStatus.PENDING:
        try_number = ctx.get("job_try", 1)
        raise Retry(defer=REFUND_RETRY_DELAYS[min(try_number, len(REFUND_RETRY_DELAYS)) - 1])
    return refund.status.value if refund is not None else "not found"


async def sweep_refunds(ctx: WorkerContext) -> int:
    """Queue again the refunds left PENDING (the queue was down at acceptance, or a worker
    died); a refund whose job is still retrying keeps that job."""
    queued = await ctx["core"].refunds.sweep()
    if queued:
        log.info("re-queued %d pending refunds", queued)
    return queued


async def sweep_webhooks(ctx: WorkerContext) -> int:
    """Re-enqueue inbox rows left unprocessed (Redis was down, or a worker died)."""
    queued = await ctx["core"].inbox.sweep()
    if queued:
        log.info("re-enqueued %d webhook events", queued)
    return queued


async def check_alerts(ctx: WorkerContext) -> int:
    """The payment error-rate alert over the last ALERT_WINDOW_SECONDS; returns alerts raised."""
    checks = await ctx["core"].alerts.check_error_rate()
    return sum(check.raised for check in checks)


async def expire_payments(ctx: WorkerContext) -> int:
    """Mark EXPIRED the payments unpaid past PAYMENT_TIMEOUT_MINUTES."""
    expired = await ctx["core"].payments.expire_stale()
    if expired:
        log.info("expired %d payments", expired)
    return expired


async def reconcile(ctx: WorkerContext) -> str:
    """Every RECONCILIATION_INTERVAL_HOURS: check stale payments and refunds with the gateways.
    Another run holding the lock (a CLI or admin run) makes this one a no-op."""
    try:
        report = await ctx["core"].reconciliation.reconcile(ReconciliationTrigger.CRON)
    except ReconciliationRunning as running:
        return f"skipped: {running.message}"
    return f"report {report.id}: {report.checked} checked, {len(report.mismatches)} issues"
