"""Runs never overlap: one Redis lock with an expiry, renewed while its run works, so a crashed
run's lock lapses on its own."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator
from datetime import timedelta

from redis.asyncio import Redis

from models.errors import ReconciliationRunning

log = logging.getLogger("paygraph.reconciliation")

LOCK_KEY = "paygraph:reconciliation:lock"


class RunLock:
    """One holder at a time across every process; the holder renews the expiry while it
    lives, so a crashed holder's lock lapses after `ttl`."""

    _RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"
    _RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"

    def __init__(self, redis: Redis, ttl: timedelta, key: str = LOCK_KEY) -> None:
        self._redis = redis
        self._ttl_ms = int(ttl.total_seconds() * 1000)
        self._key = key

    @contextlib.asynccontextmanager
    async def hold(self) -> AsyncIterator[None]:
        token = secrets.token_hex(16)
        if not await self._redis.set(self._key, token, nx=True, px=self._ttl_ms):
            remaining = await self._redis.pttl(self._key)
            seconds = max(int(remaining) // 1000, 0) if remaining and remaining > 0 else 0
            raise ReconciliationRunning(
                "a reconciliation run is already in progress; its lock expires within "
                f"{seconds} s if that run has died",
                retry_after_seconds=seconds,
            )
        renewer = asyncio.create_task(self._renew(token))
        try:
            yield
        finally:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer
            await self._redis.eval(self._RELEASE, 1, self._key, token)  # type: ignore[misc]

    async def _renew(self, token: str) -> None:
        while True:
            await asyncio.sleep(self._ttl_ms / 3000)
            kept = await self._redis.eval(self._RENEW, 1, self._key, token, str(self._ttl_ms))  # type: ignore[misc]
            if not kept:
                log.error("reconciliation lock lost (expired while this run was stalled)")
                return
