"""The one ASGI middleware in front of every route (`EdgeMiddleware`): the request id, CORS on
the paths a browser calls, the request body limit and HTTP metrics, in one wrapper per request.

Four separate middlewares cost four coroutine layers and four `send` wrappers on every request,
and the metrics resolved their label children (a lock and a dict lookup each) per request; here
the children are bound once per (method, route, status) and reused."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from infra.logging import request_id_var

_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


class _BodyTooLarge(Exception):
    pass


def _request_id(scope: Scope) -> str:
    """A sane X-Request-ID from the caller, or a new one."""
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            incoming = value.decode("latin-1")
            return incoming if _REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex
    return uuid.uuid4().hex


def graphql_error_body(message: str, code: str) -> bytes:
    """A request answered before GraphQL runs (body limit, admission, the view's transport
    errors), in GraphQL's shape: data null and one error whose extensions carry `code`."""
    payload = {"data": None, "errors": [{"message": message, "extensions": {"code": code}}]}
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


async def send_json(
    send: Send, status: int, body: bytes, headers: Iterable[tuple[bytes, bytes]] = ()
) -> None:
    """A whole JSON answer sent from a middleware."""
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _too_large(send: Send, limit: int) -> None:
    body = graphql_error_body(f"request body exceeds {limit} bytes", "PAYLOAD_TOO_LARGE")
    await send_json(send, 413, body)


class HttpMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "paygraph_http_requests_total",
            "HTTP requests by route and status",
            ["method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "paygraph_http_request_seconds",
            "HTTP request latency by route",
            ["method", "route"],
            registry=registry,
            # Finer between 1 s and 5 s: a gateway gives up on a webhook answer after 5 s.
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0),
        )


class _Children:
    """The metrics' label children, bound once per label set (the set is bounded: methods,
    known routes and statuses)."""

    def __init__(self, metrics: HttpMetrics) -> None:
        self._metrics = metrics
        self._counts: dict[tuple[str, str, int], Any] = {}
        self._latencies: dict[tuple[str, str], Any] = {}

    def record(self, method: str, route: str, status: int, seconds: float) -> None:
        count = self._counts.get((method, route, status))
        if count is None:
            count = self._metrics.requests.labels(method, route, str(status))
            self._counts[(method, route, status)] = count
        latency = self._latencies.get((method, route))
        if latency is None:
            latency = self._metrics.latency.labels(method, route)
            self._latencies[(method, route)] = latency
        count.inc()
        latency.observe(seconds)


class EdgeMiddleware:
    """Request id, CORS, body limit and metrics for every request.

    - Request id: a sane X-Request-ID from the caller or a new one, echoed on the response and
      on every log record of the request (HTTP and WebSocket).
    - CORS (Starlette's middleware) on `cors_paths` only, for `origins`; webhooks, probes and
      metrics are never called from a browser. Tokens travel in the Authorization header, never
      in cookies, so credentials are not allowed.
    - 413 for a request body over `max_bytes`, whether or not it declares a length.
    - Requests counted by a bounded route label (never the raw path, which clients control).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: HttpMetrics,
        known_routes: frozenset[str],
        max_bytes: int,
        origins: Iterable[str] = (),
        cors_paths: Iterable[str] = (),
    ) -> None:
        self.app = app
        self.known_routes = known_routes
        self.max_bytes = max_bytes
        self.cors_paths = frozenset(cors_paths)
        self._children = _Children(metrics)
        self._cors = CORSMiddleware(
            self._measured,
            allow_origins=sorted(frozenset(origins)),
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["authorization", "content-type", "x-request-id"],
            expose_headers=["x-request-id", "retry-after"],
            max_age=600,
        )

    def _route(self, path: str) -> str:
        if path in self.known_routes:
            return path
        for prefix in ("/sandbox/razorpay", "/sandbox/paypal"):
            if path.startswith(prefix):
                return prefix
        return "other"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        token = request_id_var.set(request_id)
        try:
            if kind == "websocket":
                await self.app(scope, receive, send)
            elif scope["path"] in self.cors_paths:
                await self._cors(scope, receive, _with_id(send, request_id))
            else:
                await self._measured(scope, receive, _with_id(send, request_id))
        finally:
            request_id_var.reset(token)

    async def _measured(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The body limit and the metrics around the app."""
        started = time.perf_counter()
        status = 500
        answered = False

        async def recording_send(message: Message) -> None:
            nonlocal status, answered
            if message["type"] == "http.response.start":
                status = message["status"]
                answered = True
            await send(message)

        try:
            declared = _content_length(scope)
            if declared is not None and declared > self.max_bytes:
                await _too_large(recording_send, self.max_bytes)
                return
            if declared is not None:
                # The server reads exactly the declared length: nothing more can arrive.
                await self.app(scope, receive, recording_send)
                return
            try:
                await self.app(scope, self._limited(receive), recording_send)
            except _BodyTooLarge:
                if not answered:
                    await _too_large(recording_send, self.max_bytes)
        finally:
            self._children.record(
                scope["method"], self._route(scope["path"]), status, time.perf_counter() - started
            )

    def _limited(self, receive: Receive) -> Receive:
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLarge
            return message

        return limited_receive


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


def _with_id(send: Send, request_id: str) -> Send:
    header = (b"x-request-id", request_id.encode())

    async def send_with_id(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", ()), header]
        await send(message)

    return send_with_id
