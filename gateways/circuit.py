"""A per-gateway circuit breaker: after `threshold` consecutive unavailability errors the gateway
is skipped for `cooldown` seconds (then one trial call is let through)."""

from __future__ import annotations

import time
from collections.abc import Callable


class CircuitBreaker:
    def __init__(
        self,
        *,
        threshold: int = 5,
        cooldown: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._threshold = threshold
        self._cooldown = cooldown
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None

    @property
    def state(self) -> str:
        """`closed`, `open` (calls are skipped) or `half_open` (the next call is a trial)."""
        if self._opened_at is None:
            return "closed"
        return "open" if self.open else "half_open"

    @property
    def open(self) -> bool:
        if self._opened_at is None:
            return False
        # After the cool-down it is half-open: a trial call goes through.
        return self._clock() - self._opened_at < self._cooldown

    def record_success(self) -> None:
        self._failures = 0
        self._opened_at = None

    def record_failure(self) -> None:
        self._failures += 1
        if self._failures >= self._threshold:
            self._opened_at = self._clock()
