"""The bare baseline for bench.subscription_fanout: a Starlette WebSocket endpoint speaking just
enough graphql-transport-ws to serve `paymentStatusChanged(paymentId)` with nothing in between.

connection_init: the token in its payload is checked with the app's own TokenService (4401 if
it is refused), then connection_ack. subscribe: the payment id is taken from the variables (the
document is not parsed: this endpoint serves one operation), the channel the app publishes on
(`services.events.payment_channel`) is subscribed with a redis-py pub/sub of its own, one
`find_one({"_id": ...})` with PyMongo checks ownership and gives the current state, sent as a
`next` with the same fields and values the GraphQL subscription answers. On each notice: one
find_one, a `next` if the version is newer than the last one sent, `complete` after a final
status. No heartbeat, no Beanie, no pydantic, no GraphQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from pymongo import AsyncMongoClient
from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from bench.baseline_app import _money
from models.errors import Unauthenticated
from services.events import payment_channel

PROTOCOL = "graphql-transport-ws"
FINAL = frozenset({"COMPLETED", "CANCELLED", "EXPIRED", "REFUNDED"})


def status_json(doc: dict[str, Any]) -> dict[str, Any]:
    """The fields bench.subscription_fanout selects, as the GraphQL PaymentType answers them."""
    return {
        "id": str(doc["_id"]),
        "orderId": doc["order_id"],
        "status": doc["status"],
        "version": doc.get("version", 0),
        "attemptCount": doc.get("attempt_count", 0),
        "amount": _money(doc["amount"]["amount_minor"], doc["amount"]["currency"]),
        "updatedAt": doc["updated_at"].isoformat(),
    }


def create_fanout_baseline_app(settings: Any) -> Starlette:
    from core import build_token_service

    tokens = build_token_service(settings)
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        settings.mongodb_url, tz_aware=True, appname="paygraph-bench-bare-fanout"
    )
    payments = client[settings.mongodb_db]["payment_orders"]
    redis = Redis.from_url(settings.redis_url, socket_connect_timeout=2)

    async def send(ws: WebSocket, lock: asyncio.Lock, message: dict[str, Any]) -> None:
        async with lock:
            await ws.send_text(json.dumps(message))

    async def serve_one(
        ws: WebSocket, lock: asyncio.Lock, op_id: str, payment_id: str, customer: str | None
    ) -> None:
        pubsub = redis.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(payment_channel(payment_id))
        try:
            try:
                oid = ObjectId(payment_id)
            except (InvalidId, TypeError):
                oid = None
            doc = await payments.find_one({"_id": oid}) if oid else None
            if doc is None or (customer is not None and doc["customer_id"] != customer):
                error = {"message": "payment not found", "extensions": {"code": "NOT_FOUND"}}
                await send(ws, lock, {"id": op_id, "type": "error", "payload": [error]})
                return
            last = doc.get("version", 0)
            await send(ws, lock, {"id": op_id, "type": "next", "payload": _data(doc)})
            while doc["status"] not in FINAL:
                message = await pubsub.get_message(timeout=None)
                if message is None:
                    continue
                found = await payments.find_one({"_id": oid})
                if found is None:
                    break
                doc = found
                if doc.get("version", 0) > last:
                    last = doc.get("version", 0)
                    await send(ws, lock, {"id": op_id, "type": "next", "payload": _data(doc)})
            await send(ws, lock, {"id": op_id, "type": "complete"})
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def graphql_ws(ws: WebSocket) -> None:
        await ws.accept(subprotocol=PROTOCOL)
        lock = asyncio.Lock()
        running: dict[str, asyncio.Task[None]] = {}
        try:
            init = json.loads(await ws.receive_text())
            if init.get("type") != "connection_init":
                await ws.close(4400, "expected connection_init")
                return
            payload = init.get("payload") or {}
            try:
                principal = tokens.from_authorization_header(payload.get("Authorization"))
            except Unauthenticated as exc:
                await ws.close(4401, f"UNAUTHENTICATED: {exc.message}"[:120])
                return
            customer = None if principal.is_admin else principal.customer_id
            await send(ws, lock, {"type": "connection_ack"})
            while True:
                message = json.loads(await ws.receive_text())
                kind = message.get("type")
                if kind == "ping":
                    await send(ws, lock, {"type": "pong"})
                elif kind == "subscribe":
                    op_id = str(message["id"])
                    variables = message.get("payload", {}).get("variables") or {}
                    running[op_id] = asyncio.create_task(
                        serve_one(ws, lock, op_id, str(variables.get("id")), customer)
                    )
                elif kind == "complete":
                    task = running.pop(str(message.get("id")), None)
                    if task:
                        task.cancel()
        except WebSocketDisconnect:
            pass
        finally:
            for task in running.values():
                task.cancel()

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await redis.aclose()
            await client.close()

    return Starlette(
        routes=[
            WebSocketRoute("/graphql", graphql_ws),
            Route("/healthz", healthz, methods=["GET"]),
        ],
        lifespan=lifespan,
    )


def _data(doc: dict[str, Any]) -> dict[str, Any]:
    return {"data": {"paymentStatusChanged": status_json(doc)}}
