"""`/_control`: `GET` shows counters and settings, `POST` {"action": ...} changes them:

  {"action": "reset"}  (common to every sandbox, see common/http.py)
  {"action": "fail", "path": GLOB, "method"?: M, "status": 500|429|503|..., "count"?: 1,
   "retry_after"?: S}
  {"action": "delay", "path": GLOB, "method"?: M, "seconds": S, "count"?: 1}
      (the request is handled, then the answer waits S seconds: a read timeout that acted)
  {"action": "capture_outcome", "outcome": "COMPLETED"|"PENDING"|"DECLINED", "count"?: N}
      (without count the outcome sticks until reset)
  {"action": "webhooks", "drop"?: N, "duplicate"?: N, "reorder"?: N, "url"?: URL|null}
      (reorder holds the next N events and delivers them newest first)
  {"action": "token_expires_in", "seconds": S}
  {"action": "revoke_tokens"}
  {"action": "settle_capture", "capture_id": ID, "outcome": "COMPLETED"|"DENIED"}
  {"action": "reverse_capture", "capture_id": ID}
GLOB matches the path below the mount point, e.g. "/v2/checkout/orders/*/capture".

Requests are counted per endpoint ("POST /v2/checkout/orders/{id}/capture") before any fault
applies, so a failed request still counts: see `RequestCounter`."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence

from starlette.requests import Request
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from gateways.sandbox.common.faults import Fault
from gateways.sandbox.common.http import Json
from gateways.sandbox.paypal.state import Sandbox, now, sandbox_of
from gateways.sandbox.paypal.webhooks import cert_url, emit


class RequestCounter:
    """ASGI middleware counting each request to one of `routes` under its path template, with
    every parameter shown as {id}."""

    def __init__(self, app: ASGIApp, routes: Sequence[Route], sandbox: Sandbox) -> None:
        self.app = app
        self.routes = [(route, re.sub(r"\{\w+\}", "{id}", route.path)) for route in routes]
        self.sandbox = sandbox

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for route, template in self.routes:
                if route.matches(scope)[0] is Match.FULL:
                    self.sandbox.request_count += 1
                    self.sandbox.requests[f"{scope['method']} {template}"] += 1
                    break
        await self.app(scope, receive, send)


async def act(request: Request, data: Json) -> None:
    sandbox = sandbox_of(request)
    action = data.get("action")
    if action in {"fail", "delay"}:
        method = data.get("method")
        sandbox.faults.append(
            Fault(
                path=str(data["path"]),
                method=str(method).upper() if method else None,
                status=int(data.get("status", 500)) if action == "fail" else None,
                delay=float(data.get("seconds", 0.0)) if action == "delay" else 0.0,
                count=int(data.get("count", 1)),
                phase="before" if action == "fail" else "after",
                retry_after=str(data["retry_after"]) if "retry_after" in data else None,
            )
        )
    elif action == "capture_outcome":
        outcome = str(data["outcome"]).upper()
        if outcome not in {"COMPLETED", "PENDING", "DECLINED"}:
            raise ValueError("outcome must be COMPLETED, PENDING or DECLINED")
        if data.get("count") is None:
            sandbox.sticky_capture_outcome = outcome
        else:
            sandbox.capture_outcomes.extend([outcome] * int(data["count"]))
    elif action == "webhooks":
        sandbox.drop_next += int(data.get("drop", 0))
        sandbox.duplicate_next += int(data.get("duplicate", 0))
        sandbox.reorder_next += int(data.get("reorder", 0))
        if "url" in data:
            sandbox.webhook_url = data["url"]
    elif action == "token_expires_in":
        sandbox.token_expires_in = int(data["seconds"])
    elif action == "revoke_tokens":
        sandbox.tokens.clear()
    elif action == "settle_capture":
        _settle(sandbox, str(data["capture_id"]), str(data["outcome"]).upper(), request)
    elif action == "reverse_capture":
        _reverse(sandbox, str(data["capture_id"]), request)
    else:
        raise ValueError(f"unknown action {action!r}")


def _settle(sandbox: Sandbox, capture_id: str, outcome: str, request: Request) -> None:
    capture = sandbox.captures[capture_id]
    if capture.status != "PENDING" or outcome not in {"COMPLETED", "DENIED"}:
        raise ValueError("settle a PENDING capture as COMPLETED or DENIED")
    capture.status = "COMPLETED" if outcome == "COMPLETED" else "DECLINED"
    capture.reason = None
    capture.update_time = now()
    base = sandbox.base_url(request)
    body = sandbox.capture_json(capture, base)
    summary = f"Payment {outcome.lower()} for {body['amount']['value']} {capture.currency}"
    emit(sandbox, f"PAYMENT.CAPTURE.{outcome}", "capture", body, summary, base)


def _reverse(sandbox: Sandbox, capture_id: str, request: Request) -> None:
    # Approximation of a chargeback reversal: the capture ends REFUNDED with reason
    # CHARGEBACK and PAYMENT.CAPTURE.REVERSED carries the capture.
    capture = sandbox.captures[capture_id]
    if capture.status not in {"COMPLETED", "PARTIALLY_REFUNDED"}:
        raise ValueError("only a completed capture can be reversed")
    capture.refunded = capture.amount
    capture.status = "REFUNDED"
    capture.reason = "CHARGEBACK"
    capture.update_time = now()
    base = sandbox.base_url(request)
    body = sandbox.capture_json(capture, base)
    emit(sandbox, "PAYMENT.CAPTURE.REVERSED", "capture", body, "A payment was reversed", base)


def snapshot(request: Request) -> Json:
    sandbox = sandbox_of(request)
    moment = time.monotonic()
    return {
        "token_requests": sandbox.token_requests,
        "token_expires_in": sandbox.token_expires_in,
        "active_tokens": sum(1 for t in sandbox.tokens.values() if t > moment),
        "request_count": sandbox.request_count,
        "requests": dict(sandbox.requests),
        "orders": len(sandbox.orders),
        "captures": len(sandbox.captures),
        "refunds": len(sandbox.refunds),
        "faults": [_describe(fault) for fault in sandbox.faults],
        "capture_outcome": sandbox.sticky_capture_outcome,
        "capture_outcomes_queued": list(sandbox.capture_outcomes),
        "webhook_id": sandbox.config.webhook_id,
        "cert_url": cert_url(sandbox, sandbox.base_url(request)),
        "webhooks": {
            "url": sandbox.webhook_url,
            "emitted": sandbox.events_emitted,
            "pending": len(sandbox.outbox.tasks),
            "held": len(sandbox.held),
            "drop_next": sandbox.drop_next,
            "duplicate_next": sandbox.duplicate_next,
            "reorder_next": sandbox.reorder_next,
            "deliveries": list(sandbox.deliveries),
        },
    }


def _describe(fault: Fault) -> Json:
    return {
        "kind": "delay" if fault.status is None else "status",
        "path": fault.path,
        "method": fault.method,
        "remaining": fault.count,
        "status": 500 if fault.status is None else fault.status,
        "seconds": fault.delay,
    }
