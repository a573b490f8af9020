"""In-flight admission: a process serves at most `max_in_flight` HTTP requests at once.

Past that, a new request waits its turn in a bounded FIFO queue for at most `wait_seconds`,
and then (or at once when the queue is full) gets 503 with `Retry-After` instead of joining a
pile where every request shares the loop, the database and the gateways until all of them time
out together. A slot is held from the request's arrival until its response starts (a streamed
body does not hold one), and is given back on every path out: answer, error, cancellation, a
client gone away.

Never queued or refused:
- the probes `/healthz`, `/readyz` and `/metrics` (an overloaded process is alive and must say
  so to its orchestrator, and its metrics are what show the overload);
- the sandbox gateways mounted in development (`/sandbox/`): they are the gateway, not us, and
  the API's own calls to them, made while holding a slot, must never wait for one;
- WebSockets (a subscription lives for minutes; its messages are not requests).

Gateway webhooks (`/api/webhooks/*`) are admitted like any request: a gateway retries any
non-2xx delivery on its own schedule and the inbox is idempotent by event id, so a 503 only
delays the event, while letting deliveries bypass the limit would let a webhook burst take the
slots that checkout requests need.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json

from prometheus_client import CollectorRegistry, Counter, Gauge
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from infra.http import graphql_error_body, send_json

BYPASS_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
BYPASS_PREFIXES = ("/sandbox/",)
OVERLOADED_CODE = "SERVICE_UNAVAILABLE"


class AdmissionGate:
    """The counter and the queue, for one event loop. `enter()` is True once the caller holds
    a slot (it must then call `leave()` exactly once), False when it is refused."""

    def __init__(self, max_in_flight: int, max_waiting: int, wait_seconds: float) -> None:
        if max_in_flight < 1 or max_waiting < 0 or wait_seconds < 0:
            raise ValueError("max_in_flight >= 1, max_waiting >= 0 and wait_seconds >= 0")
        self.max_in_flight = max_in_flight
        self.max_waiting = max_waiting
        self.wait_seconds = wait_seconds
        self.in_flight = 0
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    async def enter(self) -> bool:
        if self.in_flight < self.max_in_flight and not self._waiters:
            self.in_flight += 1
            return True
        if len(self._waiters) >= self.max_waiting or self.wait_seconds == 0:
            return False
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(turn)
        try:
            async with asyncio.timeout(self.wait_seconds):
                await turn
        except BaseException as exc:
            if turn.done() and not turn.cancelled():
                # The slot was handed over as the wait ended: keep it, or give it back.
                if isinstance(exc, TimeoutError):
                    return True
                self.leave()
                raise
            with contextlib.suppress(ValueError):  # leave() may have dropped it already
                self._waiters.remove(turn)
            if isinstance(exc, TimeoutError):
                return False
            raise
        return True

    def leave(self) -> None:
        """Hand the slot to the first waiter still waiting, or free it."""
        while self._waiters:
            turn = self._waiters.popleft()
            if not turn.done():
                turn.set_result(None)
                return
        self.in_flight -= 1


class AdmissionMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.in_flight = Gauge(
            "paygraph_http_in_flight",
            "HTTP requests being served (admitted and not yet answered)",
            registry=registry,
        )
        self.waiting = Gauge(
            "paygraph_http_admission_waiting",
            "HTTP requests waiting for an in-flight slot",
            registry=registry,
        )
        self.refused = Counter(
            "paygraph_http_admission_refused_total",
            "HTTP requests answered 503 because too many were in flight",
            registry=registry,
        )


class AdmissionMiddleware:
    """ASGI middleware over `AdmissionGate`; `max_in_flight` 0 turns it off."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_in_flight: int,
        wait_ms: int,
        max_waiting: int | None = None,
        retry_after_seconds: int = 1,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.app = app
        self.retry_after = str(retry_after_seconds).encode()
        self.gate = (
            AdmissionGate(
                max_in_flight,
                2 * max_in_flight if max_waiting is None else max_waiting,
                wait_ms / 1000,
            )
            if max_in_flight > 0
            else None
        )
        self.metrics = AdmissionMetrics(registry) if registry is not None and self.gate else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        gate = self.gate
        if (
            gate is None
            or scope["type"] != "http"
            or scope["path"] in BYPASS_PATHS
            or scope["path"].startswith(BYPASS_PREFIXES)
        ):
            await self.app(scope, receive, send)
            return
        if not await gate.enter():
            self._observe(gate)
            if self.metrics:
                self.metrics.refused.inc()
            await self._refuse(scope, send)
            return
        self._observe(gate)
        held = True

        def give_back() -> None:
            nonlocal held
            if held:
                held = False
                gate.leave()
                self._observe(gate)

        async def releasing_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                give_back()
            await send(message)

        try:
            await self.app(scope, receive, releasing_send)
        finally:
            give_back()

    def _observe(self, gate: AdmissionGate) -> None:
        if self.metrics:
            self.metrics.in_flight.set(gate.in_flight)
            self.metrics.waiting.set(gate.waiting)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        message = "the server is busy: retry after " + self.retry_after.decode() + " s"
        if scope["path"] == "/graphql":
            body = graphql_error_body(message, OVERLOADED_CODE)
        else:
            body = json.dumps(
                {"error": message, "code": OVERLOADED_CODE}, separators=(",", ":")
            ).encode()
        await send_json(send, 503, body, [(b"retry-after", self.retry_after)])
