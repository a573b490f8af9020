"""Razorpay's REST API as the adapter and the razorpay SDK use it: orders, payments (fetch,
capture), refunds (idempotent on X-Refund-Idempotency), customers and their saved-card tokens,
and GET /v1/methods, behind HTTP Basic auth with the key id and secret. Module-level handlers;
the state is `sandbox_of(request)`."""

from __future__ import annotations

import hmac
import itertools
import json
import re
from base64 import b64decode
from collections.abc import Iterable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gateways.sandbox.common.http import Handler, Json, NotAnObject, NotJson, json_object
from gateways.sandbox.razorpay.config import (
    BANK_NAMES,
    CURRENCIES,
    EMI_DURATIONS,
    THREE_DECIMAL,
    WALLETS,
    RazorpaySandboxConfig,
)
from gateways.sandbox.razorpay.errors import ApiError, invalid
from gateways.sandbox.razorpay.lifecycle import make_refund
from gateways.sandbox.razorpay.state import OrderRules, Sandbox, capture, new_id, sandbox_of
from gateways.sandbox.razorpay.webhooks import emit

_IDEMPOTENCY_KEY_RE = re.compile(r"^[A-Za-z0-9_-]+$")


# --- request helpers ------------------------------------------------------------------------


def authenticated(handler: Handler) -> Handler:
    """The handler behind Razorpay's Basic auth (401 in Razorpay's envelope otherwise)."""

    async def endpoint(request: Request) -> Response:
        _check_auth(request, sandbox_of(request).config)
        return await handler(request)

    return endpoint


def _check_auth(request: Request, config: RazorpaySandboxConfig) -> None:
    header = request.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme != "Basic" or not encoded:  # Razorpay accepts exactly "Basic"
        raise ApiError("Please provide your api key for authentication purposes.", status=401)
    try:
        key_id, _, secret = b64decode(encoded, validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        raise ApiError("The api key provided is invalid", status=401) from None
    if not hmac.compare_digest(key_id.encode(), config.key_id.encode()):
        raise ApiError("The api key provided is invalid", status=401)
    if not secret:
        raise ApiError("Please provide api secret", status=401)
    if not hmac.compare_digest(secret.encode(), config.key_secret.encode()):
        raise ApiError("The api secret provided is invalid", status=401)


async def json_body(request: Request) -> Json:
    try:
        return await json_object(request) or {}
    except NotAnObject:
        raise invalid("The request body must be a JSON object.") from None
    except NotJson:
        raise invalid("The request body is not valid JSON.") from None


def _only(body: Json, allowed: Iterable[str]) -> None:
    for key in body:
        if key not in allowed:
            raise invalid(f"{key} is/are not required and should not be sent", key)


def _int_field(body: Json, key: str, *, required: bool) -> int | None:
    value = body.get(key)
    if value is None:
        if required:
            raise invalid(f"The {key} field is required.", key)
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(f"The {key} must be an integer.", key)
    return value


def _notes(value: object) -> Json | list[Any]:
    if value is None or value == []:
        return []  # Razorpay (PHP) serialises empty notes as a list
    if not isinstance(value, dict):
        raise invalid("The notes field must be an object.", "notes")
    if len(value) > 15:
        raise invalid("Number of notes is more than allowed limit of 15.", "notes")
    for note in value.values():
        if not isinstance(note, str | int | float) or len(str(note)) > 256:
            raise invalid("Notes values must be strings of at most 256 characters.", "notes")
    return dict(value) if value else []


def _min_amount(amount: int, currency: str) -> None:
    if amount < 100:
        raise invalid(f"The amount must be at least {currency} 1.00", "amount")


def _collection(items: list[Json]) -> JSONResponse:
    return JSONResponse({"entity": "collection", "count": len(items), "items": items})


def _page(request: Request, items: Iterable[Json]) -> list[Json]:
    """One page of `items` (newest first), read lazily: a page of a large table costs its
    skip + count entries, not the whole table."""
    params = request.query_params
    try:
        count = int(params.get("count", "10"))
        skip = int(params.get("skip", "0"))
        start = int(params["from"]) if "from" in params else None
        end = int(params["to"]) if "to" in params else None
    except ValueError:
        raise invalid("count, skip, from and to must be integers.") from None
    if not 1 <= count <= 100:
        raise invalid("The count must be between 1 and 100.", "count")
    if skip < 0:
        raise invalid("The skip must be at least 0.", "skip")
    if start is not None:
        items = (i for i in items if i["created_at"] >= start)
    if end is not None:
        items = (i for i in items if i["created_at"] <= end)
    return list(itertools.islice(items, skip, skip + count))


# --- orders ---------------------------------------------------------------------------------


async def create_order(request: Request) -> Response:
    sandbox = sandbox_of(request)
    body = await json_body(request)
    _only(
        body,
        {
            "amount",
            "currency",
            "receipt",
            "notes",
            "partial_payment",
            "first_payment_min_amount",
            "payment_capture",
            "payment",
            "customer_id",
            "method",
        },
    )
    amount = _int_field(body, "amount", required=True)
    assert amount is not None
    currency = body.get("currency")
    if currency is None:
        raise invalid("The currency field is required.", "currency")
    if currency not in CURRENCIES:
        raise invalid("The selected currency is invalid.", "currency")
    _min_amount(amount, currency)
    if currency in THREE_DECIMAL and amount % 10:
        raise invalid("The last digit of the amount must be 0 for this currency.", "amount")
    receipt = body.get("receipt")
    if receipt is not None and (not isinstance(receipt, str) or len(receipt) > 40):
        raise invalid("The receipt may not be greater than 40 characters.", "receipt")
    if sandbox.settings.order_receipt_unique:
        if receipt is None:
            raise invalid("The receipt field is required.", "receipt")
        if receipt in sandbox.receipt_orders:
            raise invalid("Receipt should be unique.", "receipt")
    partial = body.get("partial_payment", False)
    if not isinstance(partial, bool):
        raise invalid("The partial payment field must be true or false.", "partial_payment")
    order_capture: bool | None = None
    if isinstance(body.get("payment_capture"), bool | int):
        order_capture = bool(body["payment_capture"])
    payment_options = body.get("payment")
    if payment_options is not None:
        mode = payment_options.get("capture") if isinstance(payment_options, dict) else None
        if mode not in ("automatic", "manual"):
            raise invalid("payment.capture must be automatic or manual.", "payment.capture")
        order_capture = mode == "automatic"
    order = {
        "id": new_id("order"),
        "entity": "order",
        "amount": amount,
        "amount_paid": 0,
        "amount_due": amount,
        "currency": currency,
        "receipt": receipt,
        "offer_id": None,
        "status": "created",
        "attempts": 0,
        "notes": _notes(body.get("notes")),
        "created_at": sandbox.now(),
    }
    sandbox.add_order(order, OrderRules(partial, order_capture))
    return JSONResponse(order)


async def list_orders(request: Request) -> Response:
    sandbox = sandbox_of(request)
    receipt = request.query_params.get("receipt")
    orders: Iterable[Json]
    if receipt is not None:
        orders = sandbox.orders_with_receipt(receipt)[::-1]  # newest first, like Razorpay
    else:
        orders = reversed(sandbox.orders.values())
    authorized = request.query_params.get("authorized")
    if authorized in ("0", "1"):
        wanted = authorized == "1"
        orders = (o for o in orders if _was_paid(sandbox, o["id"]) == wanted)
    return _collection(_page(request, orders))


def _was_paid(sandbox: Sandbox, order_id: str) -> bool:
    return any(
        p["status"] in ("authorized", "captured", "refunded") for p in sandbox.payments_of(order_id)
    )


async def fetch_order(request: Request) -> Response:
    return JSONResponse(sandbox_of(request).order(request.path_params["order_id"]))


async def order_payments(request: Request) -> Response:
    sandbox = sandbox_of(request)
    order = sandbox.order(request.path_params["order_id"])
    payments = [sandbox.public_payment(p) for p in reversed(sandbox.payments_of(order["id"]))]
    return _collection(payments)


# --- payments -------------------------------------------------------------------------------


async def fetch_payment(request: Request) -> Response:
    sandbox = sandbox_of(request)
    payment = sandbox.payment(request.path_params["payment_id"])
    expand = request.query_params.getlist("expand[]")
    return JSONResponse(sandbox.public_payment(payment, expand))


async def capture_payment(request: Request) -> Response:
    sandbox = sandbox_of(request)
    payment = sandbox.payment(request.path_params["payment_id"])
    body = await json_body(request)
    _only(body, {"amount", "currency"})
    amount = _int_field(body, "amount", required=True)
    currency = body.get("currency")
    if currency is None:
        raise invalid("The currency field is required.", "currency")
    if payment["status"] in ("captured", "refunded"):
        raise ApiError("This payment has already been captured")
    if payment["status"] != "authorized":
        raise ApiError(
            "Only payments which have been authorized and not yet captured can be captured"
        )
    if amount != payment["amount"]:
        raise invalid("Capture amount must be equal to the amount authorized", "amount")
    if currency != payment["currency"]:
        raise invalid("Capture request currency must be same as payment currency", "currency")
    emit(sandbox, capture(sandbox, payment))
    return JSONResponse(sandbox.public_payment(payment))


# --- refunds --------------------------------------------------------------------------------


async def create_refund(request: Request) -> Response:
    sandbox = sandbox_of(request)
    payment = sandbox.payment(request.path_params["payment_id"])
    body = await json_body(request)
    key = request.headers.get("x-refund-idempotency")
    fingerprint = ""
    if key is not None:
        if len(key) < 10:
            raise invalid("The idempotency key must be at least 10 characters long.")
        if not _IDEMPOTENCY_KEY_RE.match(key):
            raise invalid(
                "The idempotency key must only contain alphanumeric characters, "
                "underscores, and hyphens"
            )
        fingerprint = payment["id"] + json.dumps(body, sort_keys=True)
        seen = sandbox.idempotency.get(key)
        if seen is not None:
            if seen[0] != fingerprint:
                raise ApiError(
                    "Different request with the same idempotency key has already been processed.",
                    status=409,
                )
            return JSONResponse(sandbox.refunds[seen[1]])
    _only(body, {"amount", "speed", "notes", "receipt"})
    amount = _int_field(body, "amount", required=False)
    speed = body.get("speed", "normal")
    if speed not in ("normal", "optimum"):
        raise invalid("The selected speed is invalid.", "speed")
    if payment["status"] == "refunded":
        raise ApiError("The payment has been fully refunded already")
    if payment["status"] != "captured":
        raise ApiError("The payment status should be captured for action to be taken")
    remaining = payment["amount"] - payment["amount_refunded"]
    if amount is None:
        amount = remaining
    _min_amount(amount, payment["currency"])
    if amount > remaining:
        raise invalid("The refund amount provided is greater than amount captured", "amount")
    refund = make_refund(
        sandbox,
        payment,
        amount,
        notes=_notes(body.get("notes")),
        receipt=body.get("receipt"),
        speed=speed,
    )
    if key is not None:
        sandbox.idempotency[key] = (fingerprint, refund["id"])
    return JSONResponse(refund)


async def payment_refunds(request: Request) -> Response:
    sandbox = sandbox_of(request)
    payment = sandbox.payment(request.path_params["payment_id"])
    return _collection(_page(request, sandbox.refunds_of(payment["id"])[::-1]))


async def payment_refund(request: Request) -> Response:
    sandbox = sandbox_of(request)
    payment = sandbox.payment(request.path_params["payment_id"])
    refund = sandbox.refund(request.path_params["refund_id"])
    if refund["payment_id"] != payment["id"]:
        raise ApiError("The id provided does not exist")
    return JSONResponse(refund)


async def fetch_refund(request: Request) -> Response:
    return JSONResponse(sandbox_of(request).refund(request.path_params["refund_id"]))


async def list_refunds(request: Request) -> Response:
    return _collection(_page(request, reversed(sandbox_of(request).refunds.values())))


# --- customers ------------------------------------------------------------------------------

_CUSTOMER_NAME_RE = re.compile(r"^[A-Za-z0-9 .'/@()-]{3,50}$")


async def create_customer(request: Request) -> Response:
    """POST /v1/customers. With `fail_existing: "0"` a customer with the same email and contact
    is returned instead of refused (Razorpay's default, "1", refuses it)."""
    sandbox = sandbox_of(request)
    body = await json_body(request)
    _only(body, {"name", "email", "contact", "fail_existing", "notes", "gstin"})
    name, email, contact = body.get("name"), body.get("email"), body.get("contact")
    if name is not None and (not isinstance(name, str) or not _CUSTOMER_NAME_RE.match(name)):
        raise invalid("The name must be between 3-50 characters in length.", "name")
    if email is not None and (not isinstance(email, str) or len(email) > 64 or "@" not in email):
        raise invalid("The email must be a valid email address.", "email")
    if contact is not None and (
        not isinstance(contact, str) or not 8 <= len(contact.lstrip("+")) <= 15
    ):
        raise invalid(
            "Contact number should be at least 8 digits, including country code", "contact"
        )
    fail_existing = str(body.get("fail_existing", "1"))
    if fail_existing not in ("0", "1"):
        raise invalid("The fail existing field must be 0 or 1.", "fail_existing")
    if email is not None or contact is not None:
        existing = sandbox.customer_by_contact.get((email, contact))
        if existing is not None:
            if fail_existing == "0":
                return JSONResponse(existing)
            raise invalid("Customer already exists for the merchant")
    customer: Json = {
        "id": new_id("cust"),
        "entity": "customer",
        "name": name,
        "email": email,
        "contact": contact,
        "gstin": body.get("gstin"),
        "notes": _notes(body.get("notes")),
        "created_at": sandbox.now(),
    }
    sandbox.add_customer(customer)
    return JSONResponse(customer)


async def fetch_customer(request: Request) -> Response:
    return JSONResponse(sandbox_of(request).customer(request.path_params["customer_id"]))


async def customer_tokens(request: Request) -> Response:
    sandbox = sandbox_of(request)
    customer = sandbox.customer(request.path_params["customer_id"])
    return _collection(
        [
            {
                "id": token_id,
                "entity": "token",
                "method": "card",
                "card": saved["card"],
                "created_at": saved["created_at"],
            }
            for token_id, saved in sandbox.tokens_of(customer["id"])
        ]
    )


async def methods(request: Request) -> Response:
    # What Checkout may offer this account (Razorpay: key id only, no secret needed).
    return JSONResponse(
        {
            "entity": "methods",
            "card": True,
            "upi": True,
            "emi": True,
            "netbanking": dict(sorted(BANK_NAMES.items())),
            "wallet": {name: True for name in sorted(WALLETS)},
            "emi_plans": {
                network: {
                    "min_amount": 250000,
                    "plans": {str(d): 15 for d in sorted(EMI_DURATIONS)},
                }
                for network in ("Visa", "MasterCard", "RuPay")
            },
        }
    )
