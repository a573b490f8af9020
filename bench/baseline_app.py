"""The bare baseline for bench.payment_read: one Starlette endpoint doing the same work as the
GraphQL `payment(id)` query with nothing in between.

POST /payment {"id": "..."} with the same bearer token: the token is verified with the app's own
TokenService (so auth costs the same on both sides), then one `find_one({"_id": ...})` on
payment_orders with PyMongo's AsyncMongoClient, an ownership check, and the document written out
by hand in exactly the JSON the GraphQL query answers ({"data": {"payment": {...}}}, same fields,
same values). No Beanie, no pydantic, no middleware, no GraphQL.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from pymongo import AsyncMongoClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from models.errors import Unauthenticated
from models.money import exponent


def _money(minor: int, currency: str) -> dict[str, Any]:
    places = exponent(currency)
    if places == 0:
        text = str(minor)
    else:
        units, fraction = divmod(minor, 10**places)
        text = f"{units}.{fraction:0{places}d}"
    return {"amount": text, "currency": currency, "minor": minor}


def payment_json(doc: dict[str, Any]) -> dict[str, Any]:
    """The GraphQL PaymentType for PAYMENT_FIELDS, from the raw document (enum values are their
    names in this schema, so stored strings pass through)."""
    currency = doc["amount"]["currency"]
    return {
        "id": str(doc["_id"]),
        "orderId": doc["order_id"],
        "customerId": doc["customer_id"],
        "status": doc["status"],
        "attemptCount": doc.get("attempt_count", 0),
        "installments": doc.get("installments", 1),
        "errorCode": doc.get("error_code"),
        "errorMessage": doc.get("error_message"),
        "gateway": doc.get("gateway"),
        "methodType": doc["method_type"],
        "gatewayOrderId": doc.get("gateway_order_id"),
        "gatewayPaymentId": doc.get("gateway_payment_id"),
        "amount": _money(doc["amount"]["amount_minor"], currency),
        "refundedAmount": _money(doc.get("refunded_minor", 0), currency),
        "timeline": [
            {
                "fromStatus": entry.get("from_status"),
                "toStatus": entry["to_status"],
                "event": entry.get("event"),
                "source": entry["source"],
                "actor": entry.get("actor"),
                "note": entry.get("note"),
                "gatewayPaymentId": entry.get("gateway_payment_id"),
            }
            for entry in doc.get("timeline", [])
        ],
    }


def _not_found() -> JSONResponse:
    return JSONResponse(
        {
            "data": None,
            "errors": [{"message": "payment not found", "extensions": {"code": "NOT_FOUND"}}],
        }
    )


def create_baseline_app(settings: Any) -> Starlette:
    from core import build_token_service

    tokens = build_token_service(settings)
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        settings.mongodb_url, tz_aware=True, appname="paygraph-bench-bare"
    )
    payments = client[settings.mongodb_db]["payment_orders"]

    async def payment(request: Request) -> Response:
        try:
            principal = tokens.from_authorization_header(request.headers.get("authorization"))
        except Unauthenticated as exc:
            return JSONResponse(
                {"data": None, "errors": [{"message": exc.message}]}, status_code=401
            )
        body = await request.json()
        try:
            oid = ObjectId(body["id"])
        except (InvalidId, TypeError, KeyError):
            return _not_found()
        doc = await payments.find_one({"_id": oid})
        if doc is None or not (principal.is_admin or doc["customer_id"] == principal.customer_id):
            return _not_found()
        return JSONResponse({"data": {"payment": payment_json(doc)}})

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await client.close()

    return Starlette(
        routes=[
            Route("/payment", payment, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
