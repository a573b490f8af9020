"""The load generator: asyncio + httpx, closed loop.

N client coroutines each run `step(client_index, recorder)` back to back (a client sends its next
request only when the previous answer is in), for a fixed duration or a fixed number of
iterations. Latencies are wall-clock from just before the request to the parsed answer, as a
client sees them (so they include the load generator's own scheduling delay, which the CPU
figures printed beside them bound).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field


@dataclass
class Recorder:
    deadline: float = float("inf")
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)
    late: int = 0  # completed after the deadline: not counted in throughput

    def record(self, name: str, seconds: float) -> None:
        if time.perf_counter() > self.deadline:
            self.late += 1
            return
        self.latencies.setdefault(name, []).append(seconds)

    def count(self, name: str) -> int:
        return len(self.latencies.get(name, ()))


Step = Callable[[int, Recorder], Awaitable[None]]


async def closed_loop(
    clients: int, step: Step, *, duration: float | None = None, iterations: int | None = None
) -> tuple[Recorder, float]:
    """Run `clients` closed-loop clients; returns the recorder and the measured wall time."""
    if (duration is None) == (iterations is None):
        raise ValueError("give exactly one of duration and iterations")
    started = time.perf_counter()
    recorder = Recorder(deadline=started + duration if duration is not None else float("inf"))

    async def client(index: int) -> None:
        done = 0
        while True:
            if duration is not None and time.perf_counter() >= recorder.deadline:
                return
            if iterations is not None and done >= iterations:
                return
            done += 1
            try:
                await step(index, recorder)
            except Exception as exc:  # counted and shown, the run goes on
                recorder.errors[f"{type(exc).__name__}: {str(exc)[:100]}"] += 1

    await asyncio.gather(*(client(i) for i in range(clients)))
    elapsed = time.perf_counter() - started
    return recorder, (duration if duration is not None else elapsed)


async def timed(recorder: Recorder, name: str, call: Awaitable[object]) -> object:
    started = time.perf_counter()
    result = await call
    recorder.record(name, time.perf_counter() - started)
    return result
