"""The bare baseline for bench.webhook_intake: one Starlette endpoint doing the webhook intake's
necessary work with nothing in between.

POST /webhook with a Razorpay event envelope: HMAC-SHA256 of the raw body with the same webhook
secret, compared with X-Razorpay-Signature in constant time (so verification costs the same on
both sides); json.loads; the X-Razorpay-Event-Id header; then ONE PyMongo
`AsyncMongoClient.insert_one` into the same `webhook_events` collection, with the document shape
Beanie writes for models.webhook_event.WebhookEvent (same keys, same types, same normalized
`event` sub-document) under the same unique index on (gateway, gateway_event_id). A duplicate
key answers "duplicate". The answer is the app's JSON ({"result": "new", "event_id": ...}).

What it does NOT do, which the app's intake does: the arq enqueue (Redis PTTL for the orphan
check + arq's WATCH/MULTI/EXEC enqueue), pydantic/Beanie model construction and validation,
the app's middleware (request id, metrics, body limit) and the metrics counter. With
`?enqueue=1` (target "bare+enqueue") it also enqueues through the app's own ArqJobQueue, which
separates the Redis enqueue from the rest of the gap.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, AsyncMongoClient
from pymongo.errors import DuplicateKeyError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateways.razorpay.mapping import EVENT_KINDS, NOTE_REFERENCE


def _entity(payload: dict[str, Any], name: str) -> dict[str, Any] | None:
    wrapper = payload.get(name)
    if isinstance(wrapper, dict) and isinstance(wrapper.get("entity"), dict):
        return wrapper["entity"]
    return None


def _reference(*entities: dict[str, Any] | None) -> str | None:
    for entity in entities:
        notes = entity.get("notes") if entity else None
        if isinstance(notes, dict) and isinstance(notes.get(NOTE_REFERENCE), str):
            return notes[NOTE_REFERENCE] or None
    return None


def normalized(envelope: dict[str, Any]) -> dict[str, Any]:
    """The `event` sub-document (models.webhook_event.NormalizedEvent) by plain dict lookups."""
    raw_type = envelope["event"]
    payload = envelope["payload"]
    payment, order, refund = (_entity(payload, n) for n in ("payment", "order", "refund"))
    source = refund or payment or order
    amount = source.get("amount") if source else None
    currency = source.get("currency") if source else None
    if order is not None and refund is None and payment is None:
        amount = order.get("amount_paid")
    order_id = order.get("id") if order else (payment.get("order_id") if payment else None)
    kind = EVENT_KINDS.get(raw_type)
    error_reason = payment.get("error_reason") if payment else None
    return {
        "kind": kind.value if kind else "UNKNOWN",
        "order_id": order_id,
        "payment_id": (payment.get("id") if payment else None)
        or (refund.get("payment_id") if refund else None),
        "refund_id": refund.get("id") if refund else None,
        "reference": (order.get("receipt") if order else None) or _reference(order, payment),
        "amount_minor": amount,
        "currency": currency,
        "error_code": payment.get("error_code") if payment else None,
        "error_reason": None if error_reason in (None, "NA") else error_reason,
        "created_at": envelope.get("created_at"),
    }


def create_webhook_baseline_app(settings: Any) -> Starlette:
    secret = (settings.razorpay_webhook_secret or "").encode()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        settings.mongodb_url, tz_aware=True, appname="paygraph-bench-bare-webhook"
    )
    events = client[settings.mongodb_db]["webhook_events"]
    queue: Any = None

    async def webhook(request: Request) -> Response:
        body = await request.body()
        signature = request.headers.get("x-razorpay-signature", "")
        expected = hmac.new(secret, body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected.encode(), signature.encode()):
            return JSONResponse({"error": "signature verification failed"}, status_code=401)
        event_id = request.headers.get("x-razorpay-event-id")
        try:
            envelope = json.loads(body)
            if not event_id or envelope.get("entity") != "event":
                raise ValueError("not a Razorpay event")
            document = {
                "gateway": "RAZORPAY",
                "gateway_event_id": event_id,
                "event_type": envelope["event"],
                "payload": envelope,
                "event": normalized(envelope),
                "received_at": datetime.now(UTC),
                "status": "RECEIVED",
                "attempts": 0,
                "last_error": None,
                "processed_at": None,
                "payment_id": None,
                "refund_id": None,
            }
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            return JSONResponse({"error": f"malformed webhook: {exc}"}, status_code=400)
        try:
            await events.insert_one(document)
        except DuplicateKeyError:
            return JSONResponse({"result": "duplicate", "event_id": event_id})
        if queue is not None and request.query_params.get("enqueue"):
            from gateways.base import Gateway

            await queue.enqueue_webhook(Gateway.RAZORPAY, event_id)
        return JSONResponse({"result": "new", "event_id": event_id})

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        nonlocal queue
        # The same unique index the app declares (create_index is a no-op when it exists).
        await events.create_index(
            [("gateway", ASCENDING), ("gateway_event_id", ASCENDING)],
            name="gateway_event_unique",
            unique=True,
        )
        from workers.queue import JOB_TIMEOUT_SECONDS, ArqJobQueue, in_progress_timeout_seconds

        queue = ArqJobQueue(
            settings.redis_url,
            in_progress_timeout_s=in_progress_timeout_seconds(),
            webhook_timeout_s=JOB_TIMEOUT_SECONDS,
        )
        try:
            yield
        finally:
            await queue.aclose()
            await client.close()

    return Starlette(
        routes=[
            Route("/webhook", webhook, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
