"""The checkout stand-in. `GET /v1/checkout.js` is a stand-in for Razorpay's Checkout script
(static/checkout.js says what it supports); its dialog holds the payment form
`GET /checkout/{order_id}` (static/frame.html, with /static/frame.js, checks.js, frame.css),
which pays through `POST /checkout/{order_id}/pay`.

`POST /checkout/{order_id}/pay` plays the customer in Razorpay Checkout. The reference's test
instruments decide the outcome (test cards, success@razorpay / failure@razorpay); for net
banking and wallets, whose mock bank page has Success/Failure buttons, the optional body field
`"outcome": "success"|"failure"` presses one (default success). Card numbers pick the outcome
and are then dropped: only last4 and the network are kept, nothing is logged. No API auth: it
plays the browser, which only knows the key id.

Saved cards follow Razorpay: `customer_id` (a customer made with POST /v1/customers) names the
customer; `save` issues a token only with a customer_id (without one the card is simply not
saved); `token` pays with a saved card only together with the customer_id it was issued to
(otherwise 400)."""

from __future__ import annotations

import copy
import functools
import re
from dataclasses import dataclass
from importlib.resources import files
from pathlib import PurePosixPath

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from gateways.sandbox.common.http import Json
from gateways.sandbox.razorpay.api import json_body
from gateways.sandbox.razorpay.config import BANKS, EMI_DURATIONS, METHODS, WALLETS
from gateways.sandbox.razorpay.errors import ApiError, invalid
from gateways.sandbox.razorpay.lifecycle import authorized
from gateways.sandbox.razorpay.state import Sandbox, capture, new_id, sandbox_of
from gateways.sandbox.razorpay.webhooks import emit, hmac_hex

_VPA_RE = re.compile(r"^[A-Za-z0-9.\-_]{2,256}@[A-Za-z]{2,64}$")
UPI_TEST_IDS = ("success@razorpay", "failure@razorpay")

_DOMESTIC_CARDS = frozenset(
    {
        "4100280000001007",
        "5500670000001002",
        "6527658900001005",
        "36082800091007",
        "340256000401007",
        "4718609108204366",
        "5241810000000000",
    }
)
_INTERNATIONAL_CARDS = frozenset(
    {
        "5555555555554444",
        "5105105105105100",
        "5104060000000008",
        "4012888888881881",
        "5104015555555558",
    }
)


@dataclass(frozen=True, slots=True)
class _Failure:
    code: str
    reason: str
    description: str
    source: str
    step: str


def _card_failures() -> dict[str, _Failure]:
    bad = "BAD_REQUEST_ERROR"
    declined = _Failure(
        bad,
        "card_declined",
        "The card was declined by the issuer.",
        "issuer",
        "payment_authorization",
    )
    table = {
        "0009 0000": _Failure(
            bad,
            "payment_timed_out",
            "Payment was not completed on time.",
            "customer",
            "payment_authentication",
        ),
        "0008 0001": _Failure(
            bad,
            "insufficient_funds",
            "Payment failed due to insufficient balance.",
            "customer",
            "payment_authorization",
        ),
        "0007 0002": _Failure(
            bad,
            "payment_cancelled",
            "Payment was cancelled by the customer.",
            "customer",
            "payment_authentication",
        ),
        "0006 0003": declined,
        "0005 0004": declined,
        "0004 0005": declined,
        "0003 0006": _Failure(
            bad,
            "card_disabled_for_online_payments",
            "The card is not enabled for online payments.",
            "issuer",
            "payment_authorization",
        ),
        "0001 0008": _Failure(
            bad,
            "card_number_invalid",
            "The card number is invalid.",
            "customer",
            "payment_initiation",
        ),
        "0002 0007": _Failure(
            "GATEWAY_ERROR",
            "gateway_technical_error",
            "Payment processing failed due to an error at the bank or wallet gateway.",
            "bank",
            "payment_authorization",
        ),
        "0000 0009": _Failure(
            "GATEWAY_ERROR",
            "authentication_failed",
            "Payment processing failed because the cardholder could not be authenticated.",
            "customer",
            "payment_authentication",
        ),
    }
    cards: dict[str, _Failure] = {}
    for tail, failure in table.items():
        # Each Visa error card 4100 2800 .... has a Mastercard twin 5305 6200 .... (reference §7).
        for head in ("41002800", "53056200"):
            cards[head + tail.replace(" ", "")] = failure
    return cards


_CARD_FAILURES = _card_failures()
_PAYMENT_FAILED = _Failure(
    "BAD_REQUEST_ERROR", "payment_failed", "Payment failed.", "customer", "payment_authorization"
)


_MEDIA_TYPES = {".js": "text/javascript", ".html": "text/html", ".css": "text/css"}
_FRAME_ASSETS = frozenset({"frame.js", "frame.css", "checks.js"})


@functools.cache
def _static(name: str) -> bytes:
    return files("gateways.sandbox.razorpay").joinpath("static", name).read_bytes()


def _serve(name: str) -> Response:
    media_type = _MEDIA_TYPES[PurePosixPath(name).suffix]
    return Response(_static(name), media_type=media_type, headers={"Cache-Control": "no-cache"})


async def checkout_script(request: Request) -> Response:
    return _serve("checkout.js")


async def checkout_page(request: Request) -> Response:
    # Any origin may frame it: checkout.js opens it from the shop's own pages.
    if request.path_params["order_id"] not in sandbox_of(request).orders:
        return HTMLResponse("<!doctype html><title>Razorpay sandbox</title>Unknown order.", 404)
    return _serve("frame.html")


async def static_asset(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in _FRAME_ASSETS:
        raise HTTPException(404)
    return _serve(name)


async def checkout_pay(request: Request) -> Response:
    sandbox = sandbox_of(request)
    try:
        order = sandbox.order(request.path_params["order_id"])
        body = await json_body(request)
        return JSONResponse(pay(sandbox, order, body))
    except ApiError as exc:
        return exc.response()


def _luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _network(digits: str) -> str:
    if digits.startswith("4"):
        return "Visa"
    if digits[:2] in ("34", "37"):
        return "American Express"
    if digits[:2] in ("36", "38") or digits[:3] in ("300", "301", "302", "303", "304", "305"):
        return "Diners Club"
    if digits[:2] in ("60", "65", "81", "82") or digits.startswith("508"):
        return "RuPay"
    if "51" <= digits[:2] <= "55" or "2221" <= digits[:4] <= "2720":
        return "MasterCard"
    return "Unknown"


def _card(body: Json) -> tuple[Json, _Failure | None]:
    """Read the card number, decide the outcome, and return only what may be kept."""
    raw = body.get("card_number")
    if not isinstance(raw, str | int):
        raise invalid("The card number field is required.", "card_number")
    digits = re.sub(r"[\s-]", "", str(raw))
    known = digits in _DOMESTIC_CARDS or digits in _INTERNATIONAL_CARDS
    failure = _CARD_FAILURES.get(digits)
    if not digits.isdigit() or not 12 <= len(digits) <= 19:
        raise invalid("The card number is invalid.", "card_number")
    if not (known or failure or _luhn_ok(digits)):
        raise invalid("The card number is invalid.", "card_number")
    card = {
        "id": new_id("card"),
        "entity": "card",
        "name": "",
        "last4": digits[-4:],
        "network": _network(digits),
        "type": "credit",
        "issuer": None,
        "international": digits in _INTERNATIONAL_CARDS,
        "emi": digits == "5241810000000000",
        "sub_type": "consumer",
    }
    return card, failure


def _instrument(
    sandbox: Sandbox, method: str, body: Json
) -> tuple[Json | None, _Failure | None, Json]:
    """The card kept (if any), the failure the instrument causes (if any), and the payment's
    method-specific fields."""
    outcome = body.get("outcome", "success")
    if outcome not in ("success", "failure"):
        raise invalid("outcome must be success or failure", "outcome")
    if method == "card" and body.get("token") is not None:
        # A saved card: Checkout sends the token Razorpay issued, never a card number. A token
        # belongs to the customer it was issued to, who must be named with it.
        saved = sandbox.tokens.get(str(body["token"]))
        if saved is None:
            raise invalid("The token is invalid or was not issued to this merchant.", "token")
        if body.get("customer_id") is None:
            raise invalid("The customer_id is required to pay with a saved card.", "customer_id")
        if saved["customer_id"] != body["customer_id"]:
            raise invalid("The token does not belong to this customer.", "token")
        saved["used_at"] = sandbox.now()
        return saved["card"], None, {}
    if method in ("card", "emi"):
        card, failure = _card(body)
        if method != "emi":
            return card, failure, {}
        duration = body.get("emi_duration")
        if duration not in EMI_DURATIONS:
            raise invalid("The selected emi duration is invalid.", "emi_duration")
        return (
            card,
            failure,
            {"emi_plan": {"issuer": card["network"], "rate": 1500, "duration": duration}},
        )
    if method == "upi":
        vpa = body.get("vpa")
        if not isinstance(vpa, str) or not _VPA_RE.match(vpa) or vpa not in UPI_TEST_IDS:
            raise ApiError(
                "Invalid VPA. Please enter a valid Virtual Payment Address",
                field="vpa",
                reason="invalid_vpa",
                source="customer",
                step="payment_initiation",
            )
        extra = {
            "vpa": vpa,
            "upi": {"payer_account_type": "bank_account", "vpa": vpa, "flow": "collect"},
        }
        return None, _PAYMENT_FAILED if vpa == "failure@razorpay" else None, extra
    failure = _PAYMENT_FAILED if outcome == "failure" else None
    if method == "netbanking":
        if body.get("bank") not in BANKS:
            raise invalid("The selected bank is invalid.", "bank")
        return None, failure, {"bank": body["bank"]}
    if body.get("wallet") not in WALLETS:
        raise invalid("The selected wallet is invalid.", "wallet")
    return None, failure, {"wallet": body["wallet"]}


def pay(sandbox: Sandbox, order: Json, body: Json, *, capture_now: bool | None = None) -> Json:
    """One payment on `order` as Checkout makes it; Checkout's success answer. `capture_now`
    overrides the order's (and account's) capture setting."""
    method = body.get("method")
    if method not in METHODS:
        raise invalid("Invalid payment method", "method")
    customer_id = body.get("customer_id")
    if customer_id is not None:
        sandbox.customer(str(customer_id))  # 400 for an unknown customer, as Razorpay
    if order["currency"] != "INR" and method != "card":
        raise invalid(f"{method} is not supported for {order['currency']} payments", "method")
    rules = sandbox.order_rules[order["id"]]
    # An authorization Razorpay refunded uncaptured took nothing: the order can be paid again.
    taken = [
        p
        for p in sandbox.payments_of(order["id"])
        if (
            p["status"] in ("authorized", "captured")
            or (p["status"] == "refunded" and p["captured"])
        )
    ]
    if order["status"] == "paid" or (taken and not rules.partial_payment):
        raise ApiError(
            "Payment already done for this order.",
            reason="order_already_paid",
            source="business",
            step="payment_initiation",
        )
    card, failure, extra = _instrument(sandbox, method, body)

    payment: Json = {
        "id": new_id("pay"),
        "entity": "payment",
        "amount": order["amount_due"],
        "currency": order["currency"],
        "status": "created",
        "order_id": order["id"],
        "invoice_id": None,
        "international": bool(card and card["international"]),
        "method": method,
        "amount_refunded": 0,
        "refund_status": None,
        "captured": False,
        "description": None,
        "card_id": card["id"] if card else None,
        "bank": None,
        "wallet": None,
        "vpa": None,
        "email": "void@razorpay.com",
        "contact": "+919000090000",
        "customer_id": customer_id,
        "token_id": body.get("token") if card and body.get("token") else None,
        "notes": [],
        "fee": None,
        "tax": None,
        "error_code": None,
        "error_description": None,
        "error_source": None,
        "error_step": None,
        "error_reason": None,
        "acquirer_data": {},
        "created_at": sandbox.now(),
    }
    payment.update(extra)
    sandbox.add_payment(payment)
    if card is not None:
        sandbox.cards[payment["id"]] = card
    if "emi_plan" in extra:
        sandbox.emi[payment["id"]] = extra["emi_plan"]
    order["attempts"] += 1
    if order["status"] == "created":
        order["status"] = "attempted"

    if failure is not None:
        payment.update(
            status="failed",
            error_code=failure.code,
            error_description=failure.description,
            error_source=failure.source,
            error_step=failure.step,
            error_reason=failure.reason,
        )
        emit(sandbox, [("payment.failed", {"payment": payment})])
        metadata = {"payment_id": payment["id"], "order_id": order["id"]}
        raise ApiError(
            failure.description,
            code=failure.code,
            reason=failure.reason,
            source=failure.source,
            step=failure.step,
            metadata=metadata,
        )

    if card is not None and body.get("save") and not body.get("token") and customer_id:
        # Razorpay saves a card only for a customer: without customer_id no token is issued.
        payment["token_id"] = new_id("token")
        sandbox.add_token(
            payment["token_id"],
            {"card": card, "customer_id": customer_id, "created_at": sandbox.now()},
        )
    payment["status"] = "authorized"
    payment["acquirer_data"] = {"auth_code": new_id()[:6].upper()}
    events: list[tuple[str, Json]] = [("payment.authorized", {"payment": payment})]
    auto = rules.auto_capture if rules.auto_capture is not None else sandbox.settings.auto_capture
    if capture_now is not None:
        auto = capture_now
    if auto:
        # The authorized snapshot is taken now, before capture changes the payment.
        events = [("payment.authorized", {"payment": copy.deepcopy(payment)})]
        events += capture(sandbox, payment)
    emit(sandbox, events)
    if not auto:
        authorized(sandbox, payment)
    signature = hmac_hex(sandbox.config.key_secret, f"{order['id']}|{payment['id']}".encode())
    return {
        "razorpay_payment_id": payment["id"],
        "razorpay_order_id": order["id"],
        "razorpay_signature": signature,
    }
