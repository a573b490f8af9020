"""Background work of a sandbox: webhook deliveries over one pooled HTTP client, retried after
each of a gateway's waits until the merchant answers 2xx, and timers; all of it stops on
`aclose()`. What a delivery carries (envelope, signature headers, records) is the gateway's."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True, slots=True)
class Answer:
    """The merchant's answer to one delivery: an HTTP status, or the transport error's name."""

    status: int | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


DELIVERIES_IN_FLIGHT = 64  # webhook deliveries of one sandbox sent at once


class Outbox:
    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.tasks: set[asyncio.Task[None]] = set()
        self._http: httpx.AsyncClient | None = None
        self._http_loop: asyncio.AbstractEventLoop | None = None
        self._slots = asyncio.Semaphore(DELIVERIES_IN_FLIGHT)

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> Answer:
        client, slots = self._client()
        # A burst of deliveries waits its turn here, in FIFO order at O(1) each; queued inside
        # httpx's pool instead, every freed connection rescans the whole queue.
        async with slots:
            try:
                answer = await client.post(url, content=body, headers=headers)
            except httpx.HTTPError as exc:
                return Answer(None, type(exc).__name__)
        return Answer(answer.status_code)

    def _client(self) -> tuple[httpx.AsyncClient, asyncio.Semaphore]:
        # One pooled client per event loop (a client cannot outlive the loop it was made on).
        loop = asyncio.get_running_loop()
        if self._http is None or self._http_loop is not loop:
            # Only the merchant's answer is timed: waiting for one of our own connections is
            # not an attempt that timed out.
            self._http = httpx.AsyncClient(
                timeout=httpx.Timeout(self.timeout, pool=None),
                limits=httpx.Limits(
                    max_connections=DELIVERIES_IN_FLIGHT,
                    max_keepalive_connections=DELIVERIES_IN_FLIGHT,
                ),
            )
            self._slots = asyncio.Semaphore(DELIVERIES_IN_FLIGHT)
            self._http_loop = loop
        return self._http, self._slots

    async def aclose(self) -> None:
        """Cancel every delivery and timer still pending (a mounted app's lifespan never runs,
        so its owner calls this on shutdown)."""
        tasks = list(self.tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._http is not None and self._http_loop is asyncio.get_running_loop():
            await self._http.aclose()
        self._http = None


async def retry(attempt: Callable[[], Awaitable[bool]], waits: Iterable[float]) -> bool:
    """After each wait, try again; True as soon as one attempt succeeds."""
    for wait in waits:
        await asyncio.sleep(wait)
        if await attempt():
            return True
    return False
