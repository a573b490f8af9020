"""A bound on deliveries in flight per endpoint, shared by every worker process through Redis.

A slot is a member of the endpoint's sorted set scored by when its lease ends; taking one
drops lapsed leases first (a worker killed mid-send frees its slot by itself) and succeeds
while fewer than `limit` remain. Without a slot a delivery job steps aside and is retried a
moment later, so a slow endpoint holds at most `limit` of the lane's jobs and never the rest.
"""

from __future__ import annotations

import time
import uuid

from redis.asyncio import Redis

_KEY = "paygraph:webhooks:slots:{}"

_TAKE = """
local key, now, lease_end, limit, token = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]),
    tonumber(ARGV[3]), ARGV[4]
redis.call("ZREMRANGEBYSCORE", key, '-inf', now)
if redis.call("ZCARD", key) < limit then
  redis.call("ZADD", key, lease_end, token)
  redis.call("PEXPIREAT", key, math.floor(lease_end))
  return 1
end
return 0
"""


class EndpointSlots:
    def __init__(self, redis: Redis, *, limit: int, lease_seconds: float) -> None:
        self._redis = redis
        self._limit = limit
        self._lease_ms = int(lease_seconds * 1000)
        self._take = redis.register_script(_TAKE)

    async def take(self, endpoint_id: str) -> str | None:
        """A slot's token, or None when the endpoint has `limit` deliveries in flight."""
        token = uuid.uuid4().hex
        now = int(time.time() * 1000)
        taken = await self._take(
            keys=[_KEY.format(endpoint_id)],
            args=[now, now + self._lease_ms, self._limit, token],
        )
        return token if taken else None

    async def give_back(self, endpoint_id: str, token: str) -> None:
        await self._redis.zrem(_KEY.format(endpoint_id), token)
