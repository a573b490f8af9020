"""The Redis rate limiter: counts per subject, names the wait, fails open without Redis."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from infra.embedded import free_port
from models.errors import RateLimited
from services.ratelimit import RateLimiter
from settings import RateLimit
from tests.support.windows import inside_one_window


class TestRateLimiter:
    async def test_the_limit_applies_per_subject(self, redis):
        limiter = RateLimiter(redis, RateLimit(3, 60), name="t")
        await inside_one_window()
        for _ in range(3):
            await limiter.hit("ip:1", "customer:a")
        with pytest.raises(RateLimited) as refused:
            await limiter.hit("ip:1", "customer:b")
        assert 0 < refused.value.retry_after_seconds <= 60
        await limiter.hit("ip:2", "customer:c")  # other subjects are unaffected

    async def test_fails_open_when_redis_is_down(self):
        dead = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.5)
        limiter = RateLimiter(dead, RateLimit(1, 60), name="t")
        try:
            await limiter.hit("ip:1")
            await limiter.hit("ip:1")  # no exception: payments go on while Redis is away
        finally:
            await dead.aclose()
