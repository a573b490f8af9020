"""arq jobs: thin wrappers, one service call each (STYLE.md 1). Every job is safe to run twice.

No job gives up silently. A job that raises unexpectedly or runs out of its time budget is
retried with backoff (`FAULT_RETRY_DELAYS`) while arq's tries last, then recorded as a failed job
(services/dead_letters.py: a `failed_jobs` row, an ERROR line, `paygraph_job_faults_total`) and
its work handed back to the database's own state (a webhook row FAILED, a refund left PENDING for
the sweep). Crons are not retried: their next run is the retry.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar

from arq import Retry
from arq.connections import ArqRedis

from gateways.base import Gateway
from models.enums import ReconciliationTrigger, RefundStatus
from models.errors import ReconciliationRunning
from services.dead_letters import record_failed_job
from services.events_out import Outcome as DeliveryOutcome
from services.health import record_heartbeat
from services.webhooks import Outcome
from settings import Settings
from workers.queue import EVENTS_QUEUE_NAME, JOB_TIMEOUT_SECONDS, QUEUE_NAME, REFUND_QUEUE_NAME

if TYPE_CHECKING:
    from core import Core

log = logging.getLogger("paygraph.worker")

# Backoff for an event whose payment we cannot find yet (the webhook beat our own write).
WEBHOOK_RETRY_DELAYS = (1, 2, 5, 10, 30, 60, 120, 300)
# Backoff for a refund the gateway did not answer (each try already retried the call itself).
REFUND_RETRY_DELAYS = (5, 30, 60, 120, 300, 600, 900, 1800)


# Backoff after an unexpected error or a blown time budget (a bug, or an outage of our own).
FAULT_RETRY_DELAYS = (2, 10, 60, 300, 900)
# A job's own time budget, inside arq's: a job out of time is retried here instead of being
# cancelled by arq, which does not retry it.
JOB_BUDGET_SECONDS = JOB_TIMEOUT_SECONDS - 3
# arq's tries per job (the worker settings use it); the longest retry schedule sets it.
MAX_TRIES = max(len(WEBHOOK_RETRY_DELAYS), len(REFUND_RETRY_DELAYS), len(FAULT_RETRY_DELAYS)) + 1


class WorkerContext(TypedDict):
    redis: ArqRedis
    settings: Settings
    core: Core
    job_id: str
    job_try: int


R = TypeVar("R")
Job = Callable[..., Awaitable[R]]
GiveUp = Callable[["WorkerContext", tuple[Any, ...], str], Awaitable[None]]


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return f"no result within {JOB_BUDGET_SECONDS}s"
    return f"{type(exc).__name__}: {exc}"


def resilient(
    *, retry: bool, budget: float | None = JOB_BUDGET_SECONDS, give_up: GiveUp | None = None
) -> Callable[[Job[R]], Job[R | str]]:
    """Retry a job's unexpected failure with backoff, then record it (see the module docstring).
    `retry=False` for crons. `give_up` hands the work back to the database after the last try."""

    def wrap(job: Job[R]) -> Job[R | str]:
        name = job.__name__

        @functools.wraps(job)
        async def run(ctx: WorkerContext, *args: Any) -> R | str:
            try:
                if budget is None:
                    return await job(ctx, *args)
                async with asyncio.timeout(budget):
                    return await job(ctx, *args)
            except Retry:
                raise
            except Exception as exc:
                tries = ctx.get("job_try", 1)
                reason = _reason(exc)
                core = ctx.get("core")
                if retry and tries < MAX_TRIES:
                    delay = FAULT_RETRY_DELAYS[min(tries, len(FAULT_RETRY_DELAYS)) - 1]
                    log.warning(
                        "job %s try %d failed (%s); retrying in %ds",
                        name,
                        tries,
                        reason,
                        delay,
                        exc_info=exc,
                    )
                    if core is not None:
                        core.metrics.job_fault(name, "retried")
                    raise Retry(defer=delay) from exc
                log.error("job %s failed: %s", name, reason, exc_info=exc)
                if core is not None:
                    core.metrics.job_fault(name, "failed")
                await record_failed_job(
                    name, ctx.get("job_id", "?"), [str(a) for a in args], tries, reason
                )
                if give_up is not None:
                    await give_up(ctx, args, reason)
                return f"failed: {reason}"

        return run

    return wrap


async def _webhook_failed(ctx: WorkerContext, args: tuple[Any, ...], reason: str) -> None:
    gateway, event_id = args
    await ctx["core"].processor.give_up(Gateway(gateway), event_id, reason)
    ctx["core"].metrics.webhook_processed(Gateway(gateway), "failed")


@resilient(retry=False, budget=None)
async def heartbeat(ctx: WorkerContext) -> float:
    """Proves the worker runs: /readyz shows how long ago it last beat."""
    core = ctx.get("core")
    if core is not None:  # the queue-depth gauge of this worker's /metrics
        await core.metrics.refresh_queue_depth(
            ctx["redis"], QUEUE_NAME, REFUND_QUEUE_NAME, EVENTS_QUEUE_NAME
        )
    return await record_heartbeat(ctx["redis"])


@resilient(retry=True, give_up=_webhook_failed)
async def process_webhook(ctx: WorkerContext, gateway: str, event_id: str) -> str:
    outcome = await ctx["core"].processor.process(Gateway(gateway), event_id)
    ctx["core"].metrics.webhook_processed(Gateway(gateway), outcome.value)
    if outcome is Outcome.RETRY:
        try_number = ctx.get("job_try", 1)
        delay = WEBHOOK_RETRY_DELAYS[min(try_number, len(WEBHOOK_RETRY_DELAYS)) - 1]
        raise Retry(defer=delay)
    return outcome.value


@resilient(retry=True)  # after the last try the refund stays PENDING: the sweep sends it again
async def send_refund(ctx: WorkerContext, refund_id: str) -> str:
    """Send an accepted refund to its gateway and apply the answer (PENDING ones only). No
    answer from the gateway (it stays PENDING): try again later, same idempotency key."""
    refund = await ctx["core"].refunds.send(refund_id)
    if refund is not None and refund.status is RefundStatus.PENDING:
        try_number = ctx.get("job_try", 1)
        raise Retry(defer=REFUND_RETRY_DELAYS[min(try_number, len(REFUND_RETRY_DELAYS)) - 1])
    return refund.status.value if refund is not None else "not found"


@resilient(retry=True)  # given up: the events sweep relays it
async def relay_events(ctx: WorkerContext, source: str, document_ids: list[str]) -> int:
    """Move the documents' outboxes into events and deliveries (safe to repeat)."""
    return await ctx["core"].events_out.relay(source, document_ids)


@resilient(retry=True)  # given up: the delivery stays PENDING and the sweep queues it again
async def deliver_event(ctx: WorkerContext, delivery_id: str, attempt: int) -> str:
    """One attempt of one delivery. Without a slot of its endpoint (or while another worker
    holds the attempt) it steps aside and looks again shortly."""
    attempted = await ctx["core"].events_out.deliver(delivery_id, attempt)
    if attempted.outcome is DeliveryOutcome.BUSY:
        raise Retry(defer=attempted.retry_in * (0.75 + random.random() / 2))  # noqa: S311
    return attempted.outcome.value


@resilient(retry=False)
async def sweep_events(ctx: WorkerContext) -> str:
    """Relay outbox entries left behind and queue overdue delivery attempts again."""
    relayed, queued = await ctx["core"].events_out.sweep()
    if relayed or queued:
        log.info("relayed %d events and re-queued %d deliveries left behind", relayed, queued)
    return f"{relayed} relayed, {queued} re-queued"


@resilient(retry=False)
async def sweep_refunds(ctx: WorkerContext) -> int:
    """Queue again the refunds left PENDING (the queue was down at acceptance, or a worker
    died); a refund whose job is still retrying keeps that job."""
    queued = await ctx["core"].refunds.sweep()
    if queued:
        log.info("re-queued %d pending refunds", queued)
    return queued


@resilient(retry=False)
async def sweep_webhooks(ctx: WorkerContext) -> int:
    """Re-enqueue inbox rows left unprocessed (Redis was down, or a worker died)."""
    queued = await ctx["core"].inbox.sweep()
    if queued:
        log.info("re-enqueued %d webhook events", queued)
    return queued


@resilient(retry=False)
async def prune_webhook_payloads(ctx: WorkerContext) -> int:
    """Drop the payloads of events processed before WEBHOOK_PAYLOAD_RETENTION_DAYS (rows stay)."""
    pruned = await ctx["core"].inbox.prune_payloads()
    if pruned:
        log.info("pruned the payloads of %d processed webhook events", pruned)
    return pruned


@resilient(retry=False)
async def check_alerts(ctx: WorkerContext) -> int:
    """The payment error-rate alert over the last ALERT_WINDOW_SECONDS; returns alerts raised."""
    checks = await ctx["core"].alerts.check_error_rate()
    return sum(check.raised for check in checks)


@resilient(retry=False)
async def expire_payments(ctx: WorkerContext) -> int:
    """Mark EXPIRED the payments unpaid past PAYMENT_TIMEOUT_MINUTES."""
    expired = await ctx["core"].payments.expire_stale()
    if expired:
        log.info("expired %d payments", expired)
    return expired


@resilient(retry=False, budget=None)  # the next interval is the retry; arq bounds its time
async def reconcile(ctx: WorkerContext) -> str:
    """Every RECONCILIATION_INTERVAL_HOURS: check stale payments and refunds with the gateways.
    Another run holding the lock (a CLI or admin run) makes this one a no-op."""
    try:
        report = await ctx["core"].reconciliation.reconcile(ReconciliationTrigger.CRON)
    except ReconciliationRunning as running:
        return f"skipped: {running.message}"
    return f"report {report.id}: {report.checked} checked, {len(report.mismatches)} issues"
