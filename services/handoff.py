"""Handing stored work to the job queue. The record (an inbox row, an accepted refund) is
already durable when it is queued, so a queue that is down or slow costs a delay, never the
work: the caller's sweep queues whatever was not."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable


async def hand_off(
    enqueue: Awaitable[None], *, within: float, what: str, log: logging.Logger
) -> bool:
    """Await `enqueue` for at most `within` seconds; False (logged) when it failed."""
    try:
        async with asyncio.timeout(within):
            await enqueue
    except Exception as exc:  # any queue failure: the sweep is the fallback
        log.warning("%s stored but not queued (%r); the sweep will queue it", what, exc)
        return False
    return True
