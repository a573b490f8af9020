"""Request and response helpers shared by the sandboxes: JSON bodies, the path below the mount
point, and the `/_control` endpoint (GET shows the state, POST applies one action)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Scope

Json = dict[str, Any]
Handler = Callable[[Request], Awaitable[Response]]


class NotJson(ValueError):
    """The body is not JSON."""


class NotAnObject(NotJson):
    """The body is JSON, but not an object."""


def compact_json(document: Json) -> bytes:
    """JSON as the gateways send it: no spaces (webhook signatures cover these exact bytes)."""
    return json.dumps(document, separators=(",", ":")).encode()


async def json_object(request: Request) -> Json | None:
    """The body as a JSON object, None when it is empty."""
    raw = await request.body()
    if not raw.strip():
        return None
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise NotJson("body must be JSON") from None
    if not isinstance(body, dict):
        raise NotAnObject("body must be a JSON object")
    return body


def route_path(scope: Scope) -> str:
    """The request path below the sandbox's mount point (faults and idempotency keys use it)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root) and path[len(root) : len(root) + 1] in ("/", ""):
        return path[len(root) :] or "/"
    return path


def control_endpoint(
    reset: Callable[[], Awaitable[None]],
    snapshot: Callable[[Request], Json],
    act: Callable[[Request, Json], Awaitable[None]],
) -> Handler:
    """`/_control`: POST {"action": "reset"} calls `reset`, any other action goes to `act`;
    both methods answer `snapshot`. A bad action (ValueError, a missing key, a wrong type)
    answers 400 {"error": ...}."""

    async def control(request: Request) -> Response:
        if request.method == "POST":
            try:
                body = await json_object(request) or {}
                if body.get("action") == "reset":
                    await reset()
                else:
                    await act(request, body)
            except KeyError as exc:
                return JSONResponse({"error": f"{exc.args[0]} is required"}, 400)
            except (TypeError, ValueError) as exc:
                return JSONResponse({"error": str(exc)}, 400)
        return JSONResponse(snapshot(request))

    return control
