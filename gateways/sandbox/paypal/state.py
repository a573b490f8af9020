"""The sandbox's memory: OAuth tokens, orders, captures and refunds (amounts in the currency's
PayPal units: cents, yen), the idempotency store, the knobs `/_control` sets and the webhook
records; ids (17 characters of [A-Z0-9]), money formatting and the entities' JSON forms."""

from __future__ import annotations

import datetime as dt
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Protocol

from starlette.requests import Request

from gateways.sandbox.common.app import BaseSandbox
from gateways.sandbox.common.http import Json
from gateways.sandbox.common.ids import UPPER_ALPHANUMERIC, random_id
from gateways.sandbox.paypal.config import PayPalSandboxConfig

_NO_DECIMALS = frozenset({"HUF", "JPY", "TWD"})


def new_id(length: int = 17) -> str:
    return random_id(UPPER_ALPHANUMERIC, length)


def now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def now_ms() -> str:
    moment = dt.datetime.now(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def decimals(currency: str) -> int:
    return 0 if currency in _NO_DECIMALS else 2


def fmt(units: int, currency: str) -> str:
    places = decimals(currency)
    if not places:
        return str(units)
    whole, frac = divmod(units, 10**places)
    return f"{whole}.{frac:0{places}d}"


def money(units: int, currency: str) -> Json:
    return {"currency_code": currency, "value": fmt(units, currency)}


def _fee(units: int, currency: str) -> int:
    fixed = 49 if decimals(currency) else 0
    return min(units, (units * 349 + 5000) // 10000 + fixed)


class SigningIdentity(Protocol):
    """The key and certificate webhooks are signed with (webhooks.Signer)."""

    cert_id: str
    cert_pem: bytes

    def sign(self, message: bytes) -> str: ...

    def verify(self, signature_b64: str, message: bytes) -> bool: ...


@dataclass(slots=True)
class Order:
    id: str
    intent: str
    status: str
    unit: Json  # the purchase unit as PayPal would echo it (amount normalised)
    currency: str
    amount: int  # in PayPal units of the currency (cents, yen)
    style: str  # "approve" (legacy) | "payer-action" (experience_context)
    return_url: str | None
    cancel_url: str | None
    create_time: str
    update_time: str
    payer: Json | None = None
    capture_ids: list[str] = field(default_factory=list)
    refund_ids: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Capture:
    id: str
    order_id: str
    status: str
    currency: str
    amount: int
    refunded: int
    reason: str | None
    custom_id: str | None
    invoice_id: str | None
    create_time: str
    update_time: str


@dataclass(slots=True)
class Refund:
    id: str
    capture_id: str
    status: str
    currency: str
    amount: int
    total_refunded_after: int
    invoice_id: str | None
    custom_id: str | None
    note_to_payer: str | None
    create_time: str


@dataclass(slots=True)
class Stored:
    """A successful answer kept for replay under (path, PayPal-Request-Id)."""

    body: Json
    stored_at: float
    ttl: float


class Sandbox(BaseSandbox):
    """All state, in memory (`app.state.paypal_sandbox`). The webhook signing identity is made
    once and survives resets."""

    def __init__(self, config: PayPalSandboxConfig, signer: SigningIdentity) -> None:
        super().__init__(config.webhook_timeout)
        self.config = config
        self.signer = signer
        self.reset()

    def reset(self) -> None:
        self.token_expires_in = self.config.token_expires_in
        self.webhook_url = self.config.webhook_url
        self.tokens: dict[str, float] = {}  # access token -> monotonic expiry
        self.token_requests = 0
        self.request_count = 0
        self.requests: Counter[str] = Counter()
        self.orders: dict[str, Order] = {}
        self.captures: dict[str, Capture] = {}
        self.refunds: dict[str, Refund] = {}
        self.invoice_ids: set[str] = set()
        self.refund_invoice_ids: set[str] = set()
        self.idempotency: dict[tuple[str, str], Stored] = {}
        self.in_flight: set[tuple[str, str]] = set()
        self.faults.clear()
        self.capture_outcomes: deque[str] = deque()
        self.sticky_capture_outcome = "COMPLETED"
        self.drop_next = 0
        self.duplicate_next = 0
        self.reorder_next = 0
        self.held: list[tuple[Json, str]] = []  # (envelope, base URL) held for reordering
        self.events_emitted = 0
        self.deliveries: deque[Json] = deque(maxlen=2000)
        self.transmissions: dict[str, tuple[bytes, str]] = {}  # id -> (raw body, time)

    def base_url(self, request: Request) -> str:
        if self.config.public_base_url:
            return self.config.public_base_url.rstrip("/")
        root = request.scope.get("root_path", "")
        return f"{request.url.scheme}://{request.url.netloc}{root}".rstrip("/")

    # --- the entities as PayPal shows them ---------------------------------------------------

    def order_json(self, order: Order, base: str) -> Json:
        unit = dict(order.unit)
        if order.capture_ids or order.refund_ids:
            payments: Json = {
                "captures": [self.capture_json(self.captures[c], base) for c in order.capture_ids]
            }
            if order.refund_ids:
                payments["refunds"] = [
                    self.refund_json(self.refunds[r], base) for r in order.refund_ids
                ]
            unit["payments"] = payments
        body: Json = {
            "id": order.id,
            "intent": order.intent,
            "status": order.status,
            "purchase_units": [unit],
            "create_time": order.create_time,
            "update_time": order.update_time,
        }
        if order.payer is not None:
            body["payer"] = order.payer
            if order.style == "payer-action":
                body["payment_source"] = {
                    "paypal": {
                        "email_address": order.payer["email_address"],
                        "account_id": order.payer["payer_id"],
                        "name": order.payer["name"],
                    }
                }
        body["links"] = _order_links(order, base)
        return body

    def capture_json(self, capture: Capture, base: str) -> Json:
        gross = capture.amount
        fee = _fee(gross, capture.currency)
        body: Json = {
            "id": capture.id,
            "status": capture.status,
            "amount": money(gross, capture.currency),
            "final_capture": True,
            "seller_protection": {
                "status": "ELIGIBLE",
                "dispute_categories": ["ITEM_NOT_RECEIVED", "UNAUTHORIZED_TRANSACTION"],
            },
            "seller_receivable_breakdown": {
                "gross_amount": money(gross, capture.currency),
                "paypal_fee": money(fee, capture.currency),
                "net_amount": money(gross - fee, capture.currency),
            },
            "supplementary_data": {"related_ids": {"order_id": capture.order_id}},
            "links": [
                {
                    "href": f"{base}/v2/payments/captures/{capture.id}",
                    "rel": "self",
                    "method": "GET",
                },
                {
                    "href": f"{base}/v2/payments/captures/{capture.id}/refund",
                    "rel": "refund",
                    "method": "POST",
                },
                {
                    "href": f"{base}/v2/checkout/orders/{capture.order_id}",
                    "rel": "up",
                    "method": "GET",
                },
            ],
            "create_time": capture.create_time,
            "update_time": capture.update_time,
        }
        if capture.reason is not None:
            body["status_details"] = {"reason": capture.reason}
        if capture.invoice_id is not None:
            body["invoice_id"] = capture.invoice_id
        if capture.custom_id is not None:
            body["custom_id"] = capture.custom_id
        return body

    def refund_json(self, refund: Refund, base: str) -> Json:
        fee = _fee(refund.amount, refund.currency) if refund.amount else 0
        body: Json = {
            "id": refund.id,
            "status": refund.status,
            "amount": money(refund.amount, refund.currency),
            "seller_payable_breakdown": {
                "gross_amount": money(refund.amount, refund.currency),
                "paypal_fee": money(min(fee, refund.amount), refund.currency),
                "net_amount": money(refund.amount - min(fee, refund.amount), refund.currency),
                "total_refunded_amount": money(refund.total_refunded_after, refund.currency),
            },
            "links": [
                {"href": f"{base}/v2/payments/refunds/{refund.id}", "rel": "self", "method": "GET"},
                {
                    "href": f"{base}/v2/payments/captures/{refund.capture_id}",
                    "rel": "up",
                    "method": "GET",
                },
            ],
            "create_time": refund.create_time,
            "update_time": refund.create_time,
        }
        for key in ("invoice_id", "custom_id", "note_to_payer"):
            value = getattr(refund, key)
            if value is not None:
                body[key] = value
        return body


def _order_links(order: Order, base: str) -> list[Json]:
    href = f"{base}/v2/checkout/orders/{order.id}"
    links: list[Json] = [{"href": href, "rel": "self", "method": "GET"}]
    if order.status in {"CREATED", "PAYER_ACTION_REQUIRED"}:
        links.append(
            {"href": f"{base}/checkoutnow?token={order.id}", "rel": order.style, "method": "GET"}
        )
    if order.status in {"CREATED", "APPROVED"}:
        links.append({"href": href, "rel": "update", "method": "PATCH"})
        links.append({"href": f"{href}/capture", "rel": "capture", "method": "POST"})
    return links


def sandbox_of(request: Request) -> Sandbox:
    sandbox: Sandbox = request.app.state.paypal_sandbox
    return sandbox
