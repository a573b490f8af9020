"""The bare baseline for bench.flow_cpu: the checkout flow's steps with nothing in between.

Two Starlette endpoints doing the work of initiatePayment and verifyPayment (Razorpay, card)
over the same MongoDB-wire server and the same Razorpay sandbox (in its own process):

POST /initiate {"orderId", "amount", "paymentMethod"} with the shopper's bearer token:
  the token is checked with the app's own TokenService, the payment record is inserted into
  `payment_orders` (one PyMongo insert_one of a document with the fields the app keeps), the
  Razorpay order is created with one httpx POST /v1/orders, its id is stored with one
  update_one, and the payment and checkout are answered as JSON.
POST /verify {"paymentId", "gatewayPaymentId", "signature"}:
  the token is checked, the record is read with one find_one and its owner checked, the
  checkout signature is checked (HMAC-SHA256 of order_id|payment_id with the key secret), the
  payment is fetched from the gateway (GET /v1/payments/{id}) and its order and amount checked,
  captured (POST /v1/payments/{id}/capture), and the record is marked COMPLETED with one
  update_one (status, ids, captured amount, a timeline entry), answered as JSON.

Plain PyMongo async and httpx: no GraphQL, no Beanie, no pydantic, no middleware, no rate limit,
no change notices, no outbox. What paygraph does beyond this is what bench.flow_cpu measures.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
from collections.abc import AsyncIterator
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx
from bson import ObjectId
from bson.errors import InvalidId
from pymongo import AsyncMongoClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bench.baseline_app import payment_json
from models.errors import Unauthenticated


def _now() -> dt.datetime:
    now = dt.datetime.now(dt.UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def _error(message: str, code: str, status: int = 200) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def create_flow_baseline_app(settings: Any) -> Starlette:
    from core import build_token_service

    tokens = build_token_service(settings)
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        settings.mongodb_url, tz_aware=True, appname="paygraph-bench-bare-flow"
    )
    payments = client[settings.mongodb_db]["payment_orders"]
    key_id: str = settings.razorpay_key_id
    secret: str = settings.razorpay_key_secret
    gateway = httpx.AsyncClient(
        base_url=settings.razorpay_api_url,
        auth=httpx.BasicAuth(key_id, secret),
        timeout=httpx.Timeout(30.0),
        limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
        headers={"Accept": "application/json"},
    )

    async def initiate(request: Request) -> Response:
        try:
            principal = tokens.from_authorization_header(request.headers.get("authorization"))
        except Unauthenticated as exc:
            return _error(exc.message, "UNAUTHENTICATED", 401)
        body = await request.json()
        try:
            amount_minor = int(Decimal(body["amount"]) * 100)
        except (InvalidOperation, KeyError, TypeError):
            return _error("amount is not a decimal", "VALIDATION_FAILED")
        now = _now()
        doc: dict[str, Any] = {
            "order_id": body["orderId"],
            "customer_id": principal.customer_id,
            "amount": {"amount_minor": amount_minor, "currency": "INR"},
            "captured_minor": 0,
            "refunded_minor": 0,
            "refund_committed_minor": 0,
            "late_payments": [],
            "gateway": None,
            "method_type": body["paymentMethod"],
            "status": "PENDING",
            "gateway_order_id": None,
            "gateway_payment_id": None,
            "attempt_count": 0,
            "installments": 1,
            "metadata": {"ip": request.client.host if request.client else None},
            "notes": {},
            "checkout": None,
            "created_at": now,
            "updated_at": now,
            "expires_at": now + dt.timedelta(minutes=30),
            "version": 0,
            "timeline": [
                {
                    "at": now,
                    "from_status": None,
                    "to_status": "PENDING",
                    "source": "API",
                    "actor": principal.customer_id,
                    "note": "payment created",
                }
            ],
        }
        inserted = await payments.insert_one(doc)
        reference = str(inserted.inserted_id)
        answer = await gateway.post(
            "/v1/orders",
            json={
                "amount": amount_minor,
                "currency": "INR",
                "receipt": reference,
                "notes": {"payment_id": reference, "order_id": body["orderId"]},
            },
        )
        if not answer.is_success:
            return _error(f"gateway answered {answer.status_code}", "GATEWAY_UNAVAILABLE")
        order = answer.json()
        checkout = {
            "gateway": "RAZORPAY",
            "key_id": key_id,
            "gateway_order_id": order["id"],
            "amount_minor": order["amount"],
            "currency": order["currency"],
        }
        entry = {
            "at": _now(),
            "from_status": "PENDING",
            "to_status": "INITIATED",
            "event": "ORDER_CREATED",
            "source": "API",
        }
        fields = {
            "status": "INITIATED",
            "gateway": "RAZORPAY",
            "gateway_order_id": order["id"],
            "receipt": reference,
            "checkout": checkout,
            "updated_at": entry["at"],
        }
        await payments.update_one(
            {"_id": inserted.inserted_id, "version": 0},
            {"$set": fields, "$inc": {"version": 1}, "$push": {"timeline": entry}},
        )
        doc.update(fields)
        doc["timeline"].append(entry)
        return JSONResponse(
            {
                "payment": payment_json(doc),
                "checkout": {
                    "gateway": "RAZORPAY",
                    "keyId": key_id,
                    "gatewayOrderId": order["id"],
                    "amountMinor": order["amount"],
                    "currency": order["currency"],
                    "approveUrl": None,
                },
            }
        )

    async def verify(request: Request) -> Response:
        try:
            principal = tokens.from_authorization_header(request.headers.get("authorization"))
        except Unauthenticated as exc:
            return _error(exc.message, "UNAUTHENTICATED", 401)
        body = await request.json()
        try:
            oid = ObjectId(body["paymentId"])
        except (InvalidId, TypeError, KeyError):
            return _error("payment not found", "NOT_FOUND")
        doc = await payments.find_one({"_id": oid})
        if doc is None or doc["customer_id"] != principal.customer_id:
            return _error("payment not found", "NOT_FOUND")
        if doc["status"] == "COMPLETED":
            return JSONResponse({"payment": payment_json(doc)})
        order_id: str = doc["gateway_order_id"]
        payment_id: str = body["gatewayPaymentId"]
        expected = hmac.new(
            secret.encode(), f"{order_id}|{payment_id}".encode(), hashlib.sha256
        ).hexdigest()
        if not hmac.compare_digest(expected.encode(), str(body["signature"]).encode()):
            return _error("the payment signature does not match this order", "INVALID_SIGNATURE")
        fetched = await gateway.get(f"/v1/payments/{payment_id}", params={"expand[]": "card"})
        if not fetched.is_success:
            return _error("could not confirm the payment", "GATEWAY_UNAVAILABLE")
        found = fetched.json()
        amount = doc["amount"]
        if (
            found["order_id"] != order_id
            or found["amount"] != amount["amount_minor"]
            or found["currency"] != amount["currency"]
        ):
            return _error("the gateway payment does not match", "INVALID_SIGNATURE")
        if found["status"] != "captured":
            captured = await gateway.post(
                f"/v1/payments/{payment_id}/capture",
                json={"amount": amount["amount_minor"], "currency": amount["currency"]},
            )
            if not captured.is_success or captured.json()["status"] != "captured":
                return _error("capture failed", "GATEWAY_UNAVAILABLE")
        entry = {
            "at": _now(),
            "from_status": doc["status"],
            "to_status": "COMPLETED",
            "event": "CAPTURED",
            "source": "API",
            "actor": principal.customer_id,
            "gateway_payment_id": payment_id,
        }
        result = await payments.update_one(
            {"_id": oid, "version": doc["version"]},
            {
                "$set": {
                    "status": "COMPLETED",
                    "gateway_payment_id": payment_id,
                    "captured_minor": amount["amount_minor"],
                    "updated_at": entry["at"],
                },
                "$inc": {"version": 1},
                "$push": {"timeline": entry},
            },
        )
        if result.modified_count != 1:
            return _error("the payment changed meanwhile", "INVALID_STATE")
        doc.update(status="COMPLETED", gateway_payment_id=payment_id)
        doc["timeline"].append(entry)
        return JSONResponse({"payment": payment_json(doc)})

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await gateway.aclose()
            await client.close()

    return Starlette(
        routes=[
            Route("/initiate", initiate, methods=["POST"]),
            Route("/verify", verify, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
