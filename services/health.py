"""Liveness, readiness and the worker heartbeat."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from pymongo import AsyncMongoClient
from redis.asyncio import Redis

HEARTBEAT_KEY = "paygraph:worker:heartbeat"
HEARTBEAT_TTL_SECONDS = 600


@dataclass(frozen=True, slots=True)
class Readiness:
    ready: bool
    checks: dict[str, str] = field(default_factory=dict)
    worker_last_beat_seconds_ago: float | None = None


class HealthService:
    def __init__(
        self, mongo: AsyncMongoClient[dict[str, object]], redis: Redis, *, timeout: float = 2.0
    ) -> None:
        self._mongo = mongo
        self._redis = redis
        self._timeout = timeout

    async def readiness(self) -> Readiness:
        """MongoDB and Redis must answer a ping; the worker's last beat is reported, not required
        (an API instance can serve while workers restart)."""
        mongo, redis = await asyncio.gather(self._check_mongo(), self._check_redis())
        checks = {"mongodb": mongo, "redis": redis}
        beat_age = await self.worker_beat_age() if redis == "ok" else None
        return Readiness(
            ready=all(state == "ok" for state in checks.values()),
            checks=checks,
            worker_last_beat_seconds_ago=beat_age,
        )

    async def _check_mongo(self) -> str:
        try:
            await asyncio.wait_for(self._mongo.admin.command("ping"), self._timeout)
        except Exception as exc:
            return f"down: {type(exc).__name__}"
        return "ok"

    async def _check_redis(self) -> str:
        try:
            await asyncio.wait_for(self._redis.ping(), self._timeout)
        except Exception as exc:
            return f"down: {type(exc).__name__}"
        return "ok"

    async def worker_beat_age(self) -> float | None:
        try:
            raw = await asyncio.wait_for(self._redis.get(HEARTBEAT_KEY), self._timeout)
        except Exception:
            return None
        if raw is None:
            return None
        return max(0.0, time.time() - float(raw))


async def record_heartbeat(redis: Redis) -> float:
    """Called by the worker's cron: the time of this beat, kept for a bounded while."""
    now = time.time()
    await redis.set(HEARTBEAT_KEY, repr(now), ex=HEARTBEAT_TTL_SECONDS)
    return now
