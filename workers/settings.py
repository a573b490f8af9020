"""arq worker settings, built from Settings (a composition root beside app.py).

Everything arq-specific lives in workers/, so the queue could be replaced here alone.
"""

from __future__ import annotations

import logging
from typing import Any

from arq import cron
from arq.connections import RedisSettings

from infra.db import connect_mongo, init_models
from settings import Settings
from workers import jobs
from workers.serialization import deserialize, serialize

log = logging.getLogger("paygraph.worker")

QUEUE_NAME = "paygraph:queue"
HEALTH_CHECK_KEY = "paygraph:worker:health-check"


def redis_settings(settings: Settings) -> RedisSettings:
    if not settings.redis_url:
        raise ValueError("REDIS_URL is not set")
    return RedisSettings.from_dsn(settings.redis_url)


def build_worker_settings(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for arq.worker.Worker."""

    async def on_startup(ctx: dict[str, Any]) -> None:
        if not settings.mongodb_url:
            raise ValueError("MONGODB_URL is not set")
        ctx["settings"] = settings
        ctx["mongo"] = connect_mongo(settings.mongodb_url)
        await init_models(ctx["mongo"], settings.mongodb_db)
        log.info("worker started on queue %s", QUEUE_NAME)

    async def on_shutdown(ctx: dict[str, Any]) -> None:
        mongo = ctx.get("mongo")
        if mongo is not None:
            await mongo.close()

    return {
        "functions": [jobs.heartbeat],
        "cron_jobs": [
            # arq types a job's ctx as a plain dict; ours is the WorkerContext TypedDict.
            cron(
                jobs.heartbeat,  # type: ignore[arg-type]
                second={0, 30},
                run_at_startup=True,
                unique=True,
                timeout=10,
            )
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
        "job_timeout": 60,
        "keep_result": 3600,
    }
