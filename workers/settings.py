"""arq worker settings, built from Settings over the Core that core.py builds.

Everything arq-specific lives in workers/, so the queue could be replaced here alone.

A worker process runs three arq workers on one Core: the main one (webhooks, crons; up to 20
jobs) and, started and stopped by the main one's startup and shutdown, two lanes with queues of
their own: refunds (refund sends, REFUND_JOBS_PER_WORKER at a time) and events (outbox relays
and webhook delivery attempts, EVENT_JOBS_PER_WORKER at a time). Whoever builds
`Worker(**build_worker_settings(settings))` gets all three.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from arq import cron
from arq.connections import RedisSettings
from arq.worker import Worker
from prometheus_client import start_http_server

from core import build_core
from infra.db import init_models
from settings import Settings
from workers import jobs
from workers.queue import (
    EVENTS_QUEUE_NAME,
    JOB_TIMEOUT_SECONDS,
    QUEUE_NAME,
    RECONCILE_TIMEOUT_SECONDS,
    REFUND_QUEUE_NAME,
    in_progress_timeout_seconds,
)
from workers.serialization import deserialize, serialize

log = logging.getLogger("paygraph.worker")

HEALTH_CHECK_KEY = "paygraph:worker:health-check"
REFUND_HEALTH_CHECK_KEY = "paygraph:worker:refunds:health-check"
EVENTS_HEALTH_CHECK_KEY = "paygraph:worker:events:health-check"
# Refund sends in flight per worker process (each a gateway call and a settlement); more
# worker processes send more. A burst of accepted refunds waits in the refund queue.
REFUND_JOBS_PER_WORKER = 4
# Relays and delivery attempts in flight per worker process; one endpoint holds at most
# DeliveryPolicy.endpoint_concurrency of them (across processes), the rest serve the others.
EVENT_JOBS_PER_WORKER = 32
# Events go out within a poll of being relayed: the events lane looks this often at most.
EVENTS_POLL_DELAY = 0.1
# How long arq keeps a finished job's result, and with it the job id: an enqueue of the same id
# within this time is ignored.
KEEP_RESULT_SECONDS = 3600
MAX_TRIES = jobs.MAX_TRIES
# The crons that run every minute or more often: arq's lines about each run are dropped from the
# logs (workers/logs.py); the jobs log on their own when they did something.
ROUTINE_CRONS = (
    jobs.heartbeat,
    jobs.sweep_webhooks,
    jobs.sweep_refunds,
    jobs.expire_payments,
    jobs.check_alerts,
    jobs.sweep_events,
)

__all__ = [
    "QUEUE_NAME",
    "ROUTINE_CRONS",
    "build_worker_settings",
    "in_progress_timeout_seconds",
    "redis_settings",
    "routine_cron_names",
]


def redis_settings(settings: Settings) -> RedisSettings:
    if not settings.redis_url:
        raise ValueError("REDIS_URL is not set")
    return RedisSettings.from_dsn(settings.redis_url)


class Lane:
    """An arq worker of its own queue, inside the main worker's process and Core."""

    def __init__(
        self,
        settings: Settings,
        ctx: dict[str, Any],
        poll_delay: float,
        *,
        functions: list[Any],
        queue_name: str,
        max_jobs: int,
        health_check_key: str,
        max_tries: int = MAX_TRIES,
        keep_result: float = KEEP_RESULT_SECONDS,
    ) -> None:
        self.worker = Worker(
            functions,
            queue_name=queue_name,
            redis_settings=redis_settings(settings),
            ctx={"settings": ctx["settings"], "core": ctx["core"]},
            handle_signals=False,  # the main worker owns the process's signals
            max_jobs=max_jobs,
            job_timeout=JOB_TIMEOUT_SECONDS,
            max_tries=max_tries,
            keep_result=keep_result,
            poll_delay=poll_delay,
            health_check_key=health_check_key,
            health_check_interval=30,
            job_serializer=serialize,
            job_deserializer=deserialize,
        )
        self.task = asyncio.create_task(self.worker.async_run())

    async def stop(self, wait: float = JOB_TIMEOUT_SECONDS) -> None:
        """Take no new job, let the jobs in flight finish (for up to `wait`), then close; a
        job cut short runs again elsewhere (every lane job is safe to repeat)."""
        self.worker.allow_pick_jobs = False
        running = [task for task in self.worker.tasks.values() if not task.done()]
        if running:
            await asyncio.wait(running, timeout=wait)
        with contextlib.suppress(asyncio.CancelledError):
            await self.worker.close()
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


def refund_lane(settings: Settings, ctx: dict[str, Any], poll_delay: float) -> Lane:
    """Refund sends, REFUND_JOBS_PER_WORKER at a time."""
    return Lane(
        settings,
        ctx,
        poll_delay,
        functions=[jobs.send_refund],
        queue_name=REFUND_QUEUE_NAME,
        max_jobs=REFUND_JOBS_PER_WORKER,
        health_check_key=REFUND_HEALTH_CHECK_KEY,
    )


def events_lane(settings: Settings, ctx: dict[str, Any], poll_delay: float) -> Lane:
    """Outbox relays and delivery attempts, EVENT_JOBS_PER_WORKER at a time. A job without a
    slot of its endpoint steps aside (arq's Retry) many times over, so tries are not the
    limit here; job ids are per attempt, and no result is kept (a sweep's re-queue of an
    attempt that stepped aside must not be refused)."""
    return Lane(
        settings,
        ctx,
        min(poll_delay, EVENTS_POLL_DELAY),
        functions=[jobs.relay_events, jobs.deliver_event],
        queue_name=EVENTS_QUEUE_NAME,
        max_jobs=EVENT_JOBS_PER_WORKER,
        health_check_key=EVENTS_HEALTH_CHECK_KEY,
        max_tries=10_000,
        keep_result=0,
    )


def routine_cron_names(options: dict[str, Any]) -> frozenset[str]:
    """arq's names ("cron:<function>") of the ROUTINE_CRONS among the options' cron jobs."""
    return frozenset(job.name for job in options["cron_jobs"] if job.coroutine in ROUTINE_CRONS)


def build_worker_settings(
    settings: Settings, *, poll_delay: float = 0.5, stop_wait: float = JOB_TIMEOUT_SECONDS
) -> dict[str, Any]:
    """Keyword arguments for arq.worker.Worker (the main worker; it runs the refund lane).
    `poll_delay` is how often both look for new jobs; `stop_wait` how long a stopping worker
    lets the jobs in flight finish (what is cut short runs again elsewhere)."""

    async def on_startup(ctx: dict[str, Any]) -> None:
        core = build_core(settings, serve_sandboxes=False)
        ctx["settings"] = core.settings
        ctx["core"] = core
        await init_models(core.mongo, core.settings.mongodb_db)
        if core.settings.worker_metrics_port:
            # Per-process scrape (README): this worker's registry on its own port.
            server, _thread = start_http_server(
                core.settings.worker_metrics_port,
                addr=core.settings.host,
                registry=core.metrics.registry,
            )
            ctx["metrics_server"] = server
            log.info(
                "worker metrics on http://%s:%d/metrics",
                core.settings.host,
                core.settings.worker_metrics_port,
            )
        ctx["refund_lane"] = refund_lane(settings, ctx, poll_delay)
        ctx["events_lane"] = events_lane(settings, ctx, poll_delay)
        log.info(
            "worker started on queues %s, %s and %s",
            QUEUE_NAME,
            REFUND_QUEUE_NAME,
            EVENTS_QUEUE_NAME,
        )

    async def on_shutdown(ctx: dict[str, Any]) -> None:
        for name in ("events_lane", "refund_lane"):
            lane = ctx.pop(name, None)
            if lane is not None:
                await lane.stop(wait=stop_wait)
        server = ctx.pop("metrics_server", None)
        if server is not None:
            server.shutdown()
            server.server_close()
        core = ctx.get("core")
        if core is not None:
            await core.aclose()

    # arq types a job's ctx as a plain dict; ours is the WorkerContext TypedDict.
    functions: list[Any] = [
        jobs.heartbeat,
        jobs.process_webhook,
        jobs.sweep_webhooks,
        jobs.sweep_refunds,
        jobs.expire_payments,
        jobs.reconcile,
        jobs.check_alerts,
        jobs.prune_webhook_payloads,
        jobs.sweep_events,
    ]
    return {
        "functions": functions,
        "cron_jobs": [
            cron(jobs.heartbeat, second={0, 30}, run_at_startup=True, unique=True, timeout=10),  # type: ignore[arg-type]
            cron(jobs.sweep_webhooks, second={15}, unique=True, timeout=JOB_TIMEOUT_SECONDS),  # type: ignore[arg-type]
            cron(jobs.sweep_refunds, second={25}, unique=True, timeout=JOB_TIMEOUT_SECONDS),  # type: ignore[arg-type]
            # Events left in an outbox or a delivery left unqueued wait at most this long.
            cron(
                jobs.sweep_events,  # type: ignore[arg-type]
                second={5, 20, 35, 50},
                unique=True,
                timeout=JOB_TIMEOUT_SECONDS,
            ),
            cron(jobs.expire_payments, second={45}, unique=True, timeout=JOB_TIMEOUT_SECONDS),  # type: ignore[arg-type]
            # One aggregation a minute, whatever the traffic; dedupe in Redis across workers.
            cron(jobs.check_alerts, second={50}, unique=True, timeout=JOB_TIMEOUT_SECONDS),  # type: ignore[arg-type]
            cron(
                jobs.prune_webhook_payloads,  # type: ignore[arg-type]
                minute={37},
                second={30},
                unique=True,
                timeout=JOB_TIMEOUT_SECONDS,
            ),
            cron(
                jobs.reconcile,  # type: ignore[arg-type]
                hour=set(range(0, 24, settings.reconciliation_interval_hours)),
                minute={7},
                second={0},
                unique=True,
                timeout=RECONCILE_TIMEOUT_SECONDS,
                max_tries=1,  # the next interval is the retry
            ),
        ],
        "redis_settings": redis_settings(settings),
        "queue_name": QUEUE_NAME,
        "health_check_key": HEALTH_CHECK_KEY,
        "health_check_interval": 30,
        "job_serializer": serialize,
        "job_deserializer": deserialize,
        "on_startup": on_startup,
        "on_shutdown": on_shutdown,
        "max_jobs": 20,
        "poll_delay": poll_delay,
        "job_timeout": JOB_TIMEOUT_SECONDS,
        "max_tries": MAX_TRIES,
        "keep_result": KEEP_RESULT_SECONDS,
        # On SIGTERM, let running jobs finish (bounded); what is left is retried elsewhere.
        "job_completion_wait": stop_wait,
    }
