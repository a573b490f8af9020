"""PayPal's REST API as the adapter uses it: OAuth client credentials, Orders v2 (create, get,
capture) and Payments v2 (captures, refunds). Module-level handlers behind `endpoint(...)`,
which adds what every PayPal endpoint shares: bearer auth, the JSON content-type rule,
PayPal-Mock-Response and the idempotency store keyed by (path, PayPal-Request-Id)."""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
import secrets
import time
from typing import TypeVar
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gateways.sandbox.common.http import Handler, Json, NotJson, json_object, route_path
from gateways.sandbox.paypal.errors import Reply, answer, error, mock_status, oauth_error
from gateways.sandbox.paypal.state import (
    Capture,
    Order,
    Refund,
    Sandbox,
    Stored,
    decimals,
    fmt,
    money,
    new_id,
    now,
    sandbox_of,
)
from gateways.sandbox.paypal.webhooks import emit, verifies

ORDER_KEY_TTL = 6 * 3600.0
PAYMENT_KEY_TTL = 45 * 86400.0
T = TypeVar("T")
_VALUE_RE = re.compile(r"^((-?[0-9]+)|(-?([0-9]+)?[.][0-9]+))$")


def endpoint(
    handler: Handler, *, auth: bool = True, json_post: bool = False, idempotent: float | None = None
) -> Handler:
    """The handler behind bearer auth (unless `auth=False`), the 415 rule for JSON POSTs,
    PayPal-Mock-Response, and (with `idempotent`, the key's lifetime in seconds) replay of a
    stored 2xx answer for a repeated PayPal-Request-Id: 409 while the first is still running.
    Only successful answers are stored, so a refused request can be repeated with the same id."""

    async def guarded(request: Request) -> Response:
        sandbox = sandbox_of(request)
        if auth:
            _authorize(sandbox, request)
        if json_post:
            ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if ctype != "application/json":
                return error(415)
        _mock_response(request)
        request_id = request.headers.get("paypal-request-id") if idempotent is not None else None
        if request_id is None or idempotent is None:
            return await handler(request)
        key = (route_path(request.scope), request_id)
        stored = sandbox.idempotency.get(key)
        if stored is not None and time.monotonic() - stored.stored_at < stored.ttl:
            return answer(stored.body, 200)
        if key in sandbox.in_flight:
            return error(409, "PREVIOUS_REQUEST_IN_PROGRESS")
        sandbox.in_flight.add(key)
        try:
            response = await handler(request)
        finally:
            sandbox.in_flight.discard(key)
        if 200 <= response.status_code < 300 and isinstance(response, JSONResponse):
            body = json.loads(bytes(response.body))
            sandbox.idempotency[key] = Stored(body, time.monotonic(), idempotent)
        return response

    return guarded


def _authorize(sandbox: Sandbox, request: Request) -> None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Reply(error(401))
    expires_at = sandbox.tokens.get(token.strip())
    if expires_at is None:
        raise Reply(oauth_error(401, "invalid_token", "Token signature verification failed"))
    if time.monotonic() >= expires_at:
        raise Reply(
            oauth_error(401, "invalid_token", "The token passed in was found to be expired")
        )


def _mock_response(request: Request) -> None:
    raw = request.headers.get("paypal-mock-response")
    if not raw:
        return
    try:
        code = json.loads(raw).get("mock_application_codes")
    except (ValueError, AttributeError):
        raise Reply(
            error(400, "INVALID_PARAMETER_VALUE", field_="PayPal-Mock-Response", location="header")
        ) from None
    if not isinstance(code, str) or not code:
        return
    status = mock_status(code)
    raise Reply(error(status, code if status in {400, 404, 409, 422} else None))


async def json_body(request: Request, *, required: bool) -> Json:
    try:
        data = await json_object(request)
    except NotJson:
        raise Reply(error(400, "MALFORMED_REQUEST_JSON")) from None
    if data is None:
        if required:
            raise Reply(error(400, "MALFORMED_REQUEST_JSON"))
        return {}
    return data


def _representation(request: Request) -> bool:
    return "return=representation" in request.headers.get("prefer", "").lower()


def _created(request: Request, body: Json) -> Response:
    """201 with the whole entity for Prefer: return=representation, else id, status, links."""
    if not _representation(request):
        body = {key: body[key] for key in ("id", "status", "links") if key in body}
    return answer(body, 201)


def _parse_amount(sandbox: Sandbox, amount: object, pointer: str) -> tuple[int, str]:
    if not isinstance(amount, dict):
        raise Reply(error(400, "MISSING_REQUIRED_PARAMETER", field_=pointer))
    currency = amount.get("currency_code")
    value = amount.get("value")
    if not isinstance(currency, str) or not re.fullmatch(r"[A-Z]{3}", currency):
        raise Reply(
            error(
                400, "INVALID_PARAMETER_SYNTAX", field_=f"{pointer}/currency_code", value=currency
            )
        )
    if currency not in sandbox.config.merchant_currencies:
        raise Reply(
            error(422, "INVALID_CURRENCY_CODE", field_=f"{pointer}/currency_code", value=currency)
        )
    if not isinstance(value, str) or len(value) > 32 or not _VALUE_RE.fullmatch(value):
        raise Reply(error(400, "INVALID_PARAMETER_SYNTAX", field_=f"{pointer}/value", value=value))
    whole, _, frac = value.lstrip("-").partition(".")
    if value.startswith("-") or not any(ch not in "0." for ch in value):
        raise Reply(
            error(422, "CANNOT_BE_ZERO_OR_NEGATIVE", field_=f"{pointer}/value", value=value)
        )
    places = decimals(currency)
    if len(frac) > places:
        raise Reply(error(422, "DECIMAL_PRECISION", field_=f"{pointer}/value", value=value))
    if len(whole.lstrip("0")) > 15:
        raise Reply(error(400, "INVALID_PARAMETER_VALUE", field_=f"{pointer}/value", value=value))
    return int(whole or "0") * 10**places + int(frac.ljust(places, "0") or "0"), currency


# --- OAuth ----------------------------------------------------------------------------------


async def token(request: Request) -> Response:
    sandbox = sandbox_of(request)
    header = request.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    try:
        client_id, _, secret = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        client_id, secret = "", ""
    ok = (
        scheme.lower() == "basic"
        and hmac.compare_digest(client_id.encode(), sandbox.config.client_id.encode())
        and hmac.compare_digest(secret.encode(), sandbox.config.client_secret.encode())
    )
    if not ok:
        return oauth_error(401, "invalid_client", "Client Authentication failed")
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    if form.get("grant_type") != ["client_credentials"]:
        return oauth_error(400, "unsupported_grant_type", "Grant Type is NULL or invalid")
    sandbox.token_requests += 1
    value = "A21AA" + secrets.token_urlsafe(48)
    expires_in = sandbox.token_expires_in
    sandbox.tokens[value] = time.monotonic() + expires_in
    return answer(
        {
            "scope": "https://uri.paypal.com/services/payments/payment/authcapture "
            "https://uri.paypal.com/services/payments/refund "
            "https://uri.paypal.com/services/applications/webhooks",
            "access_token": value,
            "token_type": "Bearer",
            "app_id": "APP-80W284485P519543T",
            "expires_in": expires_in,
            "nonce": now() + secrets.token_urlsafe(24),
        }
    )


# --- Orders v2 ------------------------------------------------------------------------------


async def create_order(request: Request) -> Response:
    sandbox = sandbox_of(request)
    data = await json_body(request, required=True)
    intent = data.get("intent")
    if intent not in {"CAPTURE", "AUTHORIZE"}:
        return error(400, "INVALID_PARAMETER_VALUE", field_="/intent", value=intent)
    if intent != "CAPTURE":
        return error(
            400,
            "NOT_SUPPORTED",
            field_="/intent",
            value=intent,
            description="This sandbox implements intent CAPTURE only.",
        )
    units = data.get("purchase_units")
    if not isinstance(units, list) or not units:
        return error(400, "INVALID_ARRAY_MIN_ITEMS", field_="/purchase_units")
    if len(units) > 1:
        return error(
            400,
            "NOT_SUPPORTED",
            field_="/purchase_units",
            description="This sandbox takes one purchase unit per order.",
        )
    raw_unit = units[0]
    if not isinstance(raw_unit, dict):
        return error(400, "INVALID_PARAMETER_SYNTAX", field_="/purchase_units/0")
    amount, currency = _parse_amount(sandbox, raw_unit.get("amount"), "/purchase_units/0/amount")
    unit: Json = {"reference_id": raw_unit.get("reference_id") or "default"}
    unit["amount"] = money(amount, currency)
    unit["payee"] = {"email_address": "merchant@example.com", "merchant_id": "SANDBOXMERCHANT"}
    for key in ("custom_id", "invoice_id", "description", "soft_descriptor"):
        value = raw_unit.get(key)
        if value is None:
            continue
        limit = 22 if key == "soft_descriptor" else 127
        if not isinstance(value, str) or not 1 <= len(value) <= limit:
            return error(
                400, "INVALID_STRING_LENGTH", field_=f"/purchase_units/0/{key}", value=value
            )
        unit[key] = value
    invoice_id = unit.get("invoice_id")
    if sandbox.config.unique_invoice_ids and invoice_id in sandbox.invoice_ids:
        return error(
            422, "DUPLICATE_INVOICE_ID", field_="/purchase_units/0/invoice_id", value=invoice_id
        )
    experience = ((data.get("payment_source") or {}).get("paypal") or {}).get("experience_context")
    context = experience if isinstance(experience, dict) else data.get("application_context")
    context = context if isinstance(context, dict) else {}
    style = "payer-action" if isinstance(experience, dict) else "approve"
    created = now()
    order = Order(
        id=new_id(),
        intent="CAPTURE",
        status="PAYER_ACTION_REQUIRED" if style == "payer-action" else "CREATED",
        unit=unit,
        currency=currency,
        amount=amount,
        style=style,
        return_url=context.get("return_url"),
        cancel_url=context.get("cancel_url"),
        create_time=created,
        update_time=created,
    )
    sandbox.orders[order.id] = order
    if sandbox.config.unique_invoice_ids and invoice_id is not None:
        sandbox.invoice_ids.add(invoice_id)
    return _created(request, sandbox.order_json(order, sandbox.base_url(request)))


def _found(table: dict[str, T], entity_id: str, name: str) -> T:
    found = table.get(entity_id)
    if found is None:
        raise Reply(
            error(404, "INVALID_RESOURCE_ID", field_=name, value=entity_id, location="path")
        )
    return found


def find_order(sandbox: Sandbox, order_id: str) -> Order:
    return _found(sandbox.orders, order_id, "order_id")


async def get_order(request: Request) -> Response:
    sandbox = sandbox_of(request)
    order = find_order(sandbox, request.path_params["order_id"])
    return answer(sandbox.order_json(order, sandbox.base_url(request)))


async def capture_order(request: Request) -> Response:
    sandbox = sandbox_of(request)
    await json_body(request, required=False)
    order = find_order(sandbox, request.path_params["order_id"])
    if order.status == "COMPLETED":
        return error(422, "ORDER_ALREADY_CAPTURED")
    if order.status != "APPROVED":
        return error(422, "ORDER_NOT_APPROVED")
    outcome = (
        sandbox.capture_outcomes.popleft()
        if sandbox.capture_outcomes
        else sandbox.sticky_capture_outcome
    )
    moment = now()
    capture = Capture(
        id=new_id(),
        order_id=order.id,
        status=outcome,
        currency=order.currency,
        amount=order.amount,
        refunded=0,
        reason={"PENDING": "PENDING_REVIEW", "DECLINED": None}.get(outcome),
        custom_id=order.unit.get("custom_id"),
        invoice_id=order.unit.get("invoice_id"),
        create_time=moment,
        update_time=moment,
    )
    sandbox.captures[capture.id] = capture
    order.capture_ids.append(capture.id)
    order.status = "COMPLETED"
    order.update_time = moment
    base = sandbox.base_url(request)
    body = sandbox.order_json(order, base)
    capture_body = sandbox.capture_json(capture, base)
    amount = f"{capture_body['amount']['value']} {capture.currency}"
    if outcome == "COMPLETED":
        emit(
            sandbox,
            "PAYMENT.CAPTURE.COMPLETED",
            "capture",
            capture_body,
            f"Payment completed for {amount}",
            base,
        )
        emit(
            sandbox,
            "CHECKOUT.ORDER.COMPLETED",
            "checkout-order",
            body,
            "Checkout Order Completed",
            base,
        )
    else:
        summary = "pending" if outcome == "PENDING" else "declined"
        emit(
            sandbox,
            f"PAYMENT.CAPTURE.{outcome}",
            "capture",
            capture_body,
            f"Payment {summary} for {amount}",
            base,
        )
    return _created(request, body)


# --- Payments v2 ----------------------------------------------------------------------------


async def get_capture(request: Request) -> Response:
    sandbox = sandbox_of(request)
    capture = _found(sandbox.captures, request.path_params["capture_id"], "capture_id")
    return answer(sandbox.capture_json(capture, sandbox.base_url(request)))


async def get_refund(request: Request) -> Response:
    sandbox = sandbox_of(request)
    refund = _found(sandbox.refunds, request.path_params["refund_id"], "refund_id")
    return answer(sandbox.refund_json(refund, sandbox.base_url(request)))


async def refund_capture(request: Request) -> Response:
    sandbox = sandbox_of(request)
    data = await json_body(request, required=False)
    capture = _found(sandbox.captures, request.path_params["capture_id"], "capture_id")
    if capture.status == "PENDING":
        return error(422, "PENDING_CAPTURE")
    if capture.status == "REFUNDED":
        return error(422, "CAPTURE_FULLY_REFUNDED")
    if capture.status not in {"COMPLETED", "PARTIALLY_REFUNDED"}:
        return error(
            422,
            "REFUND_NOT_ALLOWED",
            description="Refund is not allowed for a capture in this state.",
        )
    remaining = capture.amount - capture.refunded
    if "amount" in data:
        amount, currency = _parse_amount(sandbox, data["amount"], "/amount")
        if currency != capture.currency:
            return error(
                422,
                "REFUND_CAPTURE_CURRENCY_MISMATCH",
                field_="/amount/currency_code",
                value=currency,
            )
        if amount > remaining:
            return error(
                422,
                "REFUND_AMOUNT_EXCEEDED",
                field_="/amount/value",
                value=data["amount"].get("value"),
            )
    else:
        amount = remaining
    strings: dict[str, str | None] = {}
    for key, limit in (("invoice_id", 127), ("custom_id", 127), ("note_to_payer", 255)):
        value = data.get(key)
        if value is not None and (not isinstance(value, str) or not 1 <= len(value) <= limit):
            return error(400, "INVALID_STRING_LENGTH", field_=f"/{key}", value=value)
        strings[key] = value
    invoice_id = strings["invoice_id"]
    if invoice_id is not None and invoice_id in sandbox.refund_invoice_ids:
        return error(
            422,
            "DUPLICATE_INVOICE_ID",
            description="Invoice ID was previously used to refund a capture.",
        )
    moment = now()
    capture.refunded += amount
    capture.status = "REFUNDED" if capture.refunded == capture.amount else "PARTIALLY_REFUNDED"
    capture.update_time = moment
    refund = Refund(
        id=new_id(),
        capture_id=capture.id,
        status="COMPLETED",
        currency=capture.currency,
        amount=amount,
        total_refunded_after=capture.refunded,
        invoice_id=invoice_id,
        custom_id=strings["custom_id"],
        note_to_payer=strings["note_to_payer"],
        create_time=moment,
    )
    sandbox.refunds[refund.id] = refund
    if invoice_id is not None:
        sandbox.refund_invoice_ids.add(invoice_id)
    sandbox.orders[capture.order_id].refund_ids.append(refund.id)
    base = sandbox.base_url(request)
    body = sandbox.refund_json(refund, base)
    emit(
        sandbox,
        "PAYMENT.CAPTURE.REFUNDED",
        "refund",
        body,
        f"A {fmt(amount, capture.currency)} {capture.currency} capture payment was refunded",
        base,
    )
    return _created(request, body)


# --- Notifications v1 ----------------------------------------------------------------------


async def cert(request: Request) -> Response:
    sandbox = sandbox_of(request)
    if request.path_params["cert_id"] != sandbox.signer.cert_id:
        return error(404, "INVALID_RESOURCE_ID", location="path")
    return Response(sandbox.signer.cert_pem, media_type="application/x-pem-file")


async def verify_webhook_signature(request: Request) -> Response:
    data = await json_body(request, required=True)
    names = (
        "auth_algo",
        "cert_url",
        "transmission_id",
        "transmission_sig",
        "transmission_time",
        "webhook_id",
    )
    missing = [n for n in names if not isinstance(data.get(n), str) or not data[n]]
    if not isinstance(data.get("webhook_event"), dict):
        missing.append("webhook_event")
    if missing:
        return error(
            400,
            "MISSING_REQUIRED_PARAMETER",
            name="VALIDATION_ERROR",
            field_=missing[0],
            description=f"{missing[0]} is required",
        )
    verified = verifies(sandbox_of(request), data)
    return answer({"verification_status": "SUCCESS" if verified else "FAILURE"})
