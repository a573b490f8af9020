"""Helpers for webhook tests: sandbox handles, signing, and waiting for effects."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from starlette.routing import Mount

T = TypeVar("T")


def mounted_state(app: Any, prefix: str, attribute: str) -> Any:
    """A sandbox's in-memory state object, found on the app served by the suite."""
    for route in app.routes:
        if isinstance(route, Mount) and route.path == prefix:
            return getattr(route.app.state, attribute)
    raise LookupError(prefix)


def razorpay_signature(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def razorpay_envelope(event: str, **entities: dict[str, Any]) -> bytes:
    envelope = {
        "entity": "event",
        "account_id": "acc_Test",
        "event": event,
        "contains": list(entities),
        "payload": {name: {"entity": entity} for name, entity in entities.items()},
        "created_at": int(time.time()),
    }
    return json.dumps(envelope, separators=(",", ":")).encode()


async def eventually(
    check: Callable[[], Awaitable[T]], *, within: float = 20.0, every: float = 0.1
) -> T:
    """The first truthy result of `check`, polling; fails the test after `within` seconds."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {within}s (last: {result!r})")
        await asyncio.sleep(every)
