"""Retry a gateway call with exponential backoff and full jitter.

Only GatewayUnavailable is retried: nothing happened at the gateway, so trying again is safe.
GatewayRejected is final and GatewayOutcomeUnknown must be resolved by fetching, so both (and
every other exception) propagate at once.

Attempt n (1-based) that fails waits `rng() * min(max_delay, base_delay * 2**(n-1))` before the
next one (AWS "full jitter"): 1 s, 2 s, 4 s ... capped at 30 s by default. A Retry-After from the
gateway raises that wait to at least the asked-for delay; if the gateway asks for more than
`max_delay`, waiting would blow the caller's latency budget, so the error is raised instead.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from gateways.base import GatewayUnavailable

T = TypeVar("T")
log = logging.getLogger("paygraph.gateways.retry")


def backoff_cap(attempt: int, *, base_delay: float, max_delay: float) -> float:
    """The upper bound of the jittered wait after failed attempt `attempt` (1-based)."""
    return min(max_delay, base_delay * 2.0 ** (attempt - 1))


async def with_retries(
    call: Callable[[], Awaitable[T]],
    *,
    max_attempts: int,
    base_delay: float = 1.0,
    max_delay: float = 30.0,
    retry_if: Callable[[BaseException], bool] | None = None,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    rng: Callable[[], float] = random.random,
) -> T:
    """Await `call()` up to `max_attempts` times; return its result or raise its last error.
    `retry_if` narrows which GatewayUnavailable errors are retried (default: all)."""
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    if base_delay < 0 or max_delay < base_delay:
        raise ValueError("need 0 <= base_delay <= max_delay")
    attempt = 1
    while True:
        try:
            return await call()
        except GatewayUnavailable as exc:
            if attempt >= max_attempts or (retry_if is not None and not retry_if(exc)):
                raise
            delay = rng() * backoff_cap(attempt, base_delay=base_delay, max_delay=max_delay)
            if exc.retry_after is not None:
                if exc.retry_after > max_delay:
                    raise
                delay = max(delay, exc.retry_after)
            log.warning(
                "%s unavailable (attempt %d/%d), retrying in %.2fs: %s",
                exc.gateway,
                attempt,
                max_attempts,
                delay,
                exc.message,
            )
            await sleep(delay)
            attempt += 1
