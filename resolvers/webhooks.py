"""REST webhook endpoints: verify on the raw bytes, store in the inbox, enqueue, answer.

No gateway business logic here: the adapter verifies, the inbox stores and enqueues."""

from __future__ import annotations

import json
import logging
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateways.base import Gateway, GatewayError, PaymentGateway, WebhookVerificationFailed
from models.errors import InboxUnavailable
from services.webhooks import WebhookInbox

log = logging.getLogger("paygraph.webhooks")


def _answer(status: int, **body: Any) -> Response:
    return JSONResponse(body, status_code=status)


class IntakeRecorder(Protocol):
    def webhook_received(self, gateway: Gateway, outcome: str) -> None: ...


def webhook_route(
    path: str,
    adapter: PaymentGateway | None,
    inbox: WebhookInbox,
    *,
    recorder: IntakeRecorder | None = None,
) -> Route:
    """`adapter` None: the gateway's webhook secret is not configured, the endpoint is off.
    `recorder` counts each answered delivery by outcome (metrics)."""

    async def receive(request: Request) -> Response:
        if adapter is None:
            return _answer(404, error="this webhook endpoint is not configured")
        response, outcome = await _receive(request, adapter)
        if recorder is not None:
            recorder.webhook_received(adapter.name, outcome)
        return response

    async def _receive(request: Request, adapter: PaymentGateway) -> tuple[Response, str]:
        body = await request.body()
        try:
            event = await adapter.verify_webhook(request.headers, body)
            payload = json.loads(body)
        except WebhookVerificationFailed as exc:
            log.warning("rejected %s webhook: %s", adapter.name, exc.message)
            return _answer(401, error="signature verification failed"), "invalid_signature"
        except (ValueError, UnicodeDecodeError) as exc:
            return _answer(400, error=f"malformed webhook: {exc}"), "malformed"
        except GatewayError as exc:  # PayPal verifies by asking PayPal, which may be down
            log.warning("could not verify %s webhook: %s", adapter.name, exc.message)
            return _answer(503, error="could not verify the event now; retry"), "verify_unavailable"
        if not isinstance(payload, dict):
            return _answer(400, error="malformed webhook: not a JSON object"), "malformed"
        try:
            outcome = await inbox.receive(event, payload)
        except InboxUnavailable:
            log.error("could not store %s webhook %s", adapter.name, event.event_id)
            return _answer(
                503, error="temporarily unable to store the event; retry"
            ), "store_unavailable"
        return _answer(200, result=outcome.value, event_id=event.event_id), outcome.value

    return Route(path, receive, methods=["POST"])
