"""The rate limiter counts per fixed clock window (services/ratelimit.py): a test whose requests
must be counted together sends them inside one window."""

from __future__ import annotations

import asyncio
import time


async def inside_one_window(window_seconds: int = 60, needed_seconds: float = 10) -> None:
    """Wait, when the current window has less than `needed_seconds` left, for the next one."""
    left = window_seconds - time.time() % window_seconds
    if left < needed_seconds:
        await asyncio.sleep(left + 0.05)
