"""Fixed-window rate limits in Redis, shared by every API instance."""

from __future__ import annotations

import logging
import time

from redis.asyncio import Redis
from redis.exceptions import RedisError

from models.errors import RateLimited
from settings import RateLimit

log = logging.getLogger("paygraph.ratelimit")

# For every key: INCR and set the window's expiry, atomically; all subjects of a request in one
# round trip. Answers count1, ttl1, count2, ttl2, ...
_HIT = """
local out = {}
for _, key in ipairs(KEYS) do
  local count = redis.call('INCR', key)
  if count == 1 then redis.call('EXPIRE', key, ARGV[1]) end
  out[#out + 1] = count
  out[#out + 1] = redis.call('TTL', key)
end
return out
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
        keys = [f"paygraph:rl:{self._name}:{subject}:{window}" for subject in subjects]
        if not keys:
            return
        try:
            counts = await self._script(keys=keys, args=[self._limit.window_seconds])
        except (RedisError, OSError) as exc:
            # Fail open: a Redis outage must not stop customers from paying.
            log.warning("rate limiter unavailable (%s); allowing the request", exc)
            return
        worst_retry = 0
        for count, ttl in zip(counts[::2], counts[1::2], strict=True):
            if int(count) > self._limit.count:
                worst_retry = max(worst_retry, int(ttl) if int(ttl) > 0 else 1)
        if worst_retry:
            raise RateLimited(
                retry_after_seconds=worst_retry,
                message=f"too many requests; retry in {worst_retry}s",
            )
