"""Fixed-window rate limits in Redis, shared by every API instance."""

from __future__ import annotations

import logging
import time

from redis.asyncio import Redis
from redis.exceptions import RedisError

from models.errors import RateLimited
from settings import RateLimit

log = logging.getLogger("paygraph.ratelimit")

# INCR and set the window's expiry in one round trip, atomically.
_HIT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return {count, redis.call('TTL', KEYS[1])}
"""


class RateLimiter:
    def __init__(self, redis: Redis, limit: RateLimit, *, name: str) -> None:
        self._redis = redis
        self._limit = limit
        self._name = name
        self._script = redis.register_script(_HIT)

    async def hit(self, *subjects: str) -> None:
        """Count one request against every subject (e.g. an IP and a customer); RateLimited
        with the seconds until the fullest window resets when any is over its limit."""
        window = int(time.time()) // self._limit.window_seconds
        worst_retry = 0
        for subject in subjects:
            key = f"paygraph:rl:{self._name}:{subject}:{window}"
            try:
                count, ttl = await self._script(keys=[key], args=[self._limit.window_seconds])
            except (RedisError, OSError) as exc:
                # Fail open: a Redis outage must not stop customers from paying.
                log.warning("rate limiter unavailable (%s); allowing the request", exc)
                return
            if int(count) > self._limit.count:
                worst_retry = max(worst_retry, int(ttl) if int(ttl) > 0 else 1)
        if worst_retry:
            raise RateLimited(
                retry_after_seconds=worst_retry,
                message=f"too many requests; retry in {worst_retry}s",
            )
