"""REST webhook endpoints: verify on the raw bytes, store in the inbox, enqueue, answer.

No gateway business logic here: the adapter verifies, the inbox stores and enqueues."""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateways.base import GatewayError, PaymentGateway, WebhookVerificationFailed
from services.webhooks import InboxUnavailable, WebhookInbox

log = logging.getLogger("paygraph.webhooks")


def _answer(status: int, **body: Any) -> Response:
    return JSONResponse(body, status_code=status)


def webhook_route(path: str, adapter: PaymentGateway | None, inbox: WebhookInbox) -> Route:
    """`adapter` None: the gateway's webhook secret is not configured, the endpoint is off."""

    async def receive(request: Request) -> Response:
        if adapter is None:
            return _answer(404, error="this webhook endpoint is not configured")
        body = await request.body()
        try:
            event = await adapter.verify_webhook(request.headers, body)
            payload = json.loads(body)
        except WebhookVerificationFailed as exc:
            log.warning("rejected %s webhook: %s", adapter.name, exc.message)
            return _answer(401, error="signature verification failed")
        except (ValueError, UnicodeDecodeError) as exc:
            return _answer(400, error=f"malformed webhook: {exc}")
        except GatewayError as exc:  # PayPal verifies by asking PayPal, which may be down
            log.warning("could not verify %s webhook: %s", adapter.name, exc.message)
            return _answer(503, error="could not verify the event now; retry")
        if not isinstance(payload, dict):
            return _answer(400, error="malformed webhook: not a JSON object")
        try:
            outcome = await inbox.receive(event, payload)
        except InboxUnavailable:
            log.error("could not store %s webhook %s", adapter.name, event.event_id)
            return _answer(503, error="temporarily unable to store the event; retry")
        return _answer(200, result=outcome.value, event_id=event.event_id)

    return Route(path, receive, methods=["POST"])
