"""The sandbox's memory: orders, payments, cards, customers, tokens, refunds and webhook records
as Razorpay's own JSON entities, the knobs `/_control` sets, id generation, and the state
transitions several endpoints share (capture, refund totals). Handlers change it without
awaiting in between, so each API call is atomic. Entities are added through `add_*`, which
keep the indexes (receipt -> orders, order -> payments, payment -> refunds, customer ->
tokens, email and contact -> customer), so every lookup is a dict read, never a scan."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from starlette.requests import Request

from gateways.sandbox.common.app import BaseSandbox
from gateways.sandbox.common.http import Json
from gateways.sandbox.common.ids import BASE62, random_id
from gateways.sandbox.razorpay.config import RazorpaySandboxConfig
from gateways.sandbox.razorpay.errors import ApiError

_ID_RE = re.compile(r"^[a-z]+_[A-Za-z0-9]{14}$")


def new_id(prefix: str = "") -> str:
    """Razorpay's ids: a prefix, "_", 14 base62 characters (`order_...`, `pay_...`)."""
    token = random_id(BASE62, 14)
    return f"{prefix}_{token}" if prefix else token


@dataclass(slots=True)
class Delivery:
    """One webhook's delivery record, as GET /_control lists it."""

    event_id: str
    event: str
    attempts: int = 0
    statuses: list[str] = field(default_factory=list)
    delivered: bool = False
    gave_up: bool = False
    dropped: bool = False


@dataclass(slots=True)
class Webhook:
    event_id: str
    event: str
    body: bytes
    delivery: Delivery


@dataclass(slots=True)
class OrderRules:
    partial_payment: bool
    auto_capture: bool | None


@dataclass(slots=True)
class Settings:
    auto_capture: bool
    refund_mode: Literal["processed", "pending"] = "processed"
    # In "pending" mode, refunds settle as processed after this many seconds (None: when told).
    refund_settle_seconds: float | None = None
    # An authorization still uncaptured this many seconds after it was made is refunded by
    # Razorpay (its default is 3 days; None: never, unless told by void_authorization).
    auto_refund_uncaptured_seconds: float | None = None
    order_receipt_unique: bool = False
    webhooks: Literal["deliver", "drop", "hold"] = "deliver"
    duplicate_webhooks: bool = False
    reorder_webhooks: bool = False

    def describe(self) -> Json:
        return {
            "auto_capture": self.auto_capture,
            "refund_mode": self.refund_mode,
            "refund_settle_seconds": self.refund_settle_seconds,
            "auto_refund_uncaptured_seconds": self.auto_refund_uncaptured_seconds,
            "order_receipt_unique": self.order_receipt_unique,
            "webhooks": self.webhooks,
            "duplicate_webhooks": self.duplicate_webhooks,
            "reorder_webhooks": self.reorder_webhooks,
        }


class Sandbox(BaseSandbox):
    """All state, in memory (`app.state.razorpay_sandbox`)."""

    def __init__(self, config: RazorpaySandboxConfig) -> None:
        super().__init__(config.webhook_timeout)
        self.config = config
        self.reset()

    def reset(self) -> None:
        self.settings = Settings(auto_capture=self.config.auto_capture)
        self.orders: dict[str, Json] = {}
        self.order_rules: dict[str, OrderRules] = {}
        self.payments: dict[str, Json] = {}
        self.cards: dict[str, Json] = {}  # payment id -> card entity (last4/network only)
        self.customers: dict[str, Json] = {}
        # Saved-card token -> {"card": card entity (never the number), "customer_id": owner}:
        # Razorpay issues a token to one customer, and only that customer may pay with it.
        self.tokens: dict[str, Json] = {}
        self.emi: dict[str, Json] = {}
        self.refunds: dict[str, Json] = {}
        self.idempotency: dict[str, tuple[str, str]] = {}  # key -> (fingerprint, refund id)
        # Indexes, ids in creation order; `add_*` keep them, reset clears them.
        self.receipt_orders: dict[str, list[str]] = {}
        self.order_payments: dict[str, list[str]] = {}
        self.payment_refunds: dict[str, list[str]] = {}
        self.customer_tokens: dict[str, list[str]] = {}
        self.customer_by_contact: dict[tuple[object, object], Json] = {}
        self.faults.clear()
        self.held: list[Webhook] = []
        self.deliveries: list[Delivery] = []

    def now(self) -> int:
        return int(self.config.clock())

    def order(self, order_id: str) -> Json:
        return self._lookup(self.orders, order_id)

    def payment(self, payment_id: str) -> Json:
        return self._lookup(self.payments, payment_id)

    def refund(self, refund_id: str) -> Json:
        return self._lookup(self.refunds, refund_id)

    def customer(self, customer_id: str) -> Json:
        return self._lookup(self.customers, customer_id)

    def add_order(self, order: Json, rules: OrderRules) -> None:
        self.orders[order["id"]] = order
        self.order_rules[order["id"]] = rules
        if order["receipt"] is not None:
            self.receipt_orders.setdefault(order["receipt"], []).append(order["id"])

    def add_payment(self, payment: Json) -> None:
        self.payments[payment["id"]] = payment
        self.order_payments.setdefault(payment["order_id"], []).append(payment["id"])

    def add_refund(self, refund: Json) -> None:
        self.refunds[refund["id"]] = refund
        self.payment_refunds.setdefault(refund["payment_id"], []).append(refund["id"])

    def add_customer(self, customer: Json) -> None:
        self.customers[customer["id"]] = customer
        self.customer_by_contact.setdefault((customer["email"], customer["contact"]), customer)

    def add_token(self, token_id: str, saved: Json) -> None:
        self.tokens[token_id] = saved
        self.customer_tokens.setdefault(saved["customer_id"], []).append(token_id)

    def orders_with_receipt(self, receipt: str) -> list[Json]:
        """Oldest first, as the orders were created."""
        return [self.orders[i] for i in self.receipt_orders.get(receipt, ())]

    def payments_of(self, order_id: str) -> list[Json]:
        """Oldest first."""
        return [self.payments[i] for i in self.order_payments.get(order_id, ())]

    def refunds_of(self, payment_id: str) -> list[Json]:
        """Oldest first."""
        return [self.refunds[i] for i in self.payment_refunds.get(payment_id, ())]

    def tokens_of(self, customer_id: str) -> list[tuple[str, Json]]:
        """(token id, saved card), oldest first."""
        return [(i, self.tokens[i]) for i in self.customer_tokens.get(customer_id, ())]

    @staticmethod
    def _lookup(table: dict[str, Json], entity_id: str) -> Json:
        if not _ID_RE.match(entity_id):
            raise ApiError(f"{entity_id} is not a valid id", field="id")
        found = table.get(entity_id)
        if found is None:
            raise ApiError("The id provided does not exist")
        return found

    def public_payment(self, payment: Json, expand: Iterable[str] = ()) -> Json:
        shown = dict(payment)
        if "card" in expand and payment["id"] in self.cards:
            shown["card"] = self.cards[payment["id"]]
        if "emi" in expand and payment["id"] in self.emi:
            shown["emi"] = self.emi[payment["id"]]
        return shown


def sandbox_of(request: Request) -> Sandbox:
    sandbox: Sandbox = request.app.state.razorpay_sandbox
    return sandbox


def capture(sandbox: Sandbox, payment: Json) -> list[tuple[str, Json]]:
    """authorized -> captured (fee and tax set, the order paid when covered); its events."""
    payment["status"] = "captured"
    payment["captured"] = True
    fee = payment["amount"] * 2 // 100  # 2% fee, GST 18% of the fee, both in minor units
    tax = fee * 18 // 100
    payment["fee"], payment["tax"] = fee + tax, tax
    order = sandbox.orders[payment["order_id"]]
    order["amount_paid"] += payment["amount"]
    order["amount_due"] = order["amount"] - order["amount_paid"]
    events: list[tuple[str, Json]] = [("payment.captured", {"payment": payment})]
    if order["amount_paid"] >= order["amount"]:
        order["status"] = "paid"
        events.append(("order.paid", {"payment": payment, "order": order}))
    return events


def refund_totals(payment: Json) -> None:
    """The payment's status and refund_status from its amount_refunded."""
    refunded = payment["amount_refunded"]
    if refunded <= 0:
        payment["refund_status"] = None
        payment["status"] = "captured"
    elif refunded < payment["amount"]:
        payment["refund_status"] = "partial"
        payment["status"] = "captured"
    else:
        payment["refund_status"] = "full"
        payment["status"] = "refunded"
