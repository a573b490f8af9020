"""Where a request's time goes, measured inside the server process without touching service code.

`install()` wraps, in this process only, PyMongo's async collection calls, redis-py's
`execute_command` and `RazorpayGateway._request` (the HTTP call to the gateway, here the sandbox
mounted in the same server) with wall-clock timers. `Instrumented` is an ASGI wrapper that gives
each HTTP request an accumulator (a contextvar), labelled by the `X-Bench-Op` header the load
generator sends. GET /_bench/stats returns the totals per label; POST /_bench/stats resets them.

These are wall times of awaited calls: under load they include waiting for the event loop, which
is the point (they show what a request waits on). "other" is the rest of the request: GraphQL
parsing/validation/execution, pydantic, JSON, middleware, and queueing for the loop between
awaits.
"""

from __future__ import annotations

import contextvars
import functools
import json
import re
import time
from collections import defaultdict
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

_CURRENT: contextvars.ContextVar[dict[str, list[float]] | None] = contextvars.ContextVar(
    "bench_acc", default=None
)
# label -> {"requests": n, "total": s, "<category>": [calls, seconds], ...}
_STATS: dict[str, dict[str, Any]] = {}
_ID_RE = re.compile(r"/(order|pay|rfnd)_[A-Za-z0-9]+")


def _record(category: str, seconds: float) -> None:
    acc = _CURRENT.get()
    if acc is None:
        return
    slot = acc.setdefault(category, [0, 0.0])
    slot[0] += 1
    slot[1] += seconds


def _timed(category: str | Any, original: Any) -> Any:
    @functools.wraps(original)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await original(*args, **kwargs)
        finally:
            name = category(args, kwargs) if callable(category) else category
            _record(name, time.perf_counter() - started)

    return wrapper


def install() -> None:
    from pymongo.asynchronous.collection import AsyncCollection
    from redis.asyncio.client import Redis

    from gateways.razorpay.adapter import RazorpayGateway

    for method in (
        "find_one",
        "insert_one",
        "update_one",
        "find_one_and_update",
        "count_documents",
    ):
        setattr(
            AsyncCollection, method, _timed(f"mongo.{method}", getattr(AsyncCollection, method))
        )
    Redis.execute_command = _timed(  # type: ignore[method-assign]
        lambda args, kwargs: f"redis.{str(args[1]).lower()}", Redis.execute_command
    )
    RazorpayGateway._request = _timed(  # type: ignore[method-assign]
        lambda args, kwargs: f"gateway.{args[1]} {_path_label(args[2])}", RazorpayGateway._request
    )


def _path_label(path: str) -> str:
    return _ID_RE.sub(lambda m: f"/{m.group(1)}_*", path)


class Instrumented:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] == "/_bench/stats":
            await self._stats(scope, send)
            return
        headers = dict(scope["headers"])
        label = headers.get(b"x-bench-op", b"").decode() or (
            "sandbox" if scope["path"].startswith("/sandbox/") else "other"
        )
        acc: dict[str, list[float]] = {}
        token = _CURRENT.set(acc)
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            total = time.perf_counter() - started
            _CURRENT.reset(token)
            stats = _STATS.setdefault(
                label, {"requests": 0, "total": 0.0, "parts": defaultdict(lambda: [0, 0.0])}
            )
            stats["requests"] += 1
            stats["total"] += total
            for category, (calls, seconds) in acc.items():
                part = stats["parts"][category]
                part[0] += calls
                part[1] += seconds

    async def _stats(self, scope: Scope, send: Send) -> None:
        if scope["method"] == "POST":
            _STATS.clear()
        body = json.dumps(
            {
                label: {"requests": s["requests"], "total": s["total"], "parts": dict(s["parts"])}
                for label, s in _STATS.items()
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})


def breakdown(stats: dict[str, Any], label: str) -> dict[str, Any]:
    """Mean milliseconds per request of `label`, by category, with the unexplained rest."""
    entry = stats.get(label)
    if not entry or not entry["requests"]:
        return {}
    n = entry["requests"]
    parts = {
        name: {"calls_per_req": round(calls / n, 2), "ms_per_req": round(seconds / n * 1000, 2)}
        for name, (calls, seconds) in sorted(entry["parts"].items(), key=lambda kv: -kv[1][1])
    }
    explained = sum(seconds for _calls, seconds in entry["parts"].values())
    return {
        "requests": n,
        "server_ms_per_req": round(entry["total"] / n * 1000, 2),
        "parts": parts,
        "other_ms_per_req": round((entry["total"] - explained) / n * 1000, 2),
    }
