"""GraphQL object types. Enums wrap the models' StrEnums rather than redefining them.

Types here are plain data holders; resolvers/ builds them from documents (`from_document`)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from models.enums import (
    Gateway,
    LatePaymentAction,
    LatePaymentKind,
    PaymentMethodType,
    PaymentStatus,
    RefundReason,
    RefundSource,
    RefundStatus,
    Role,
    TransitionSource,
)
from models.transitions import PaymentEvent

strawberry.enum(Role, name="Role")
strawberry.enum(PaymentStatus, name="PaymentStatus")
strawberry.enum(RefundStatus, name="RefundStatus")
strawberry.enum(PaymentMethodType, name="PaymentMethodType")
strawberry.enum(Gateway, name="Gateway")
strawberry.enum(RefundReason, name="RefundReason")
strawberry.enum(TransitionSource, name="TransitionSource")
strawberry.enum(PaymentEvent, name="PaymentEvent")
strawberry.enum(RefundSource, name="RefundSource")
strawberry.enum(LatePaymentKind, name="LatePaymentKind")
strawberry.enum(LatePaymentAction, name="LatePaymentAction")


@strawberry.type(description="Who the bearer token says is calling.")
class Viewer:
    customer_id: strawberry.ID
    roles: list[Role]


@strawberry.type(
    name="Money",
    description="An amount: a decimal string in major units plus integer minor units.",
)
class MoneyType:
    amount: str = strawberry.field(description='Major units as a decimal string, e.g. "1499.00".')
    currency: str = strawberry.field(description="ISO-4217 code.")
    minor: int = strawberry.field(description="Integer minor units (paise, cents).")


@strawberry.type(name="TimelineEntry", description="One applied status change of a payment.")
class TimelineEntryType:
    at: datetime
    from_status: PaymentStatus | None
    to_status: PaymentStatus
    event: PaymentEvent | None
    source: TransitionSource
    actor: str | None
    gateway_event_id: str | None
    gateway_payment_id: str | None
    note: str | None


@strawberry.type(description="What the browser needs to open the gateway's checkout.")
class CheckoutParamsType:
    gateway: Gateway
    key_id: str = strawberry.field(description="Razorpay key id or PayPal client id.")
    gateway_order_id: str
    amount_minor: int
    currency: str
    script_url: str | None = strawberry.field(
        description="The checkout script to load once per page (Razorpay's checkout.js; the "
        "sandbox's stand-in outside production); null for PayPal's redirect."
    )
    approve_url: str | None = strawberry.field(description="PayPal: where the buyer approves.")
    saved_token: str | None = strawberry.field(
        description="A saved method's gateway token for the checkout (Razorpay `token`)."
    )
    customer_id: str | None = strawberry.field(
        description="Razorpay: the customer (cust_...) to pass as `customer_id`; Razorpay "
        "saves a card (`save: 1`) and takes a saved card's `token` only with it. In "
        "initiatePayment's answer only, like savedToken."
    )


@strawberry.type(description="A payment method the checkout can offer for a currency and amount.")
class SupportedMethod:
    method: PaymentMethodType
    gateway: Gateway
    emi_tenures: list[int]


@strawberry.type(description="A net-banking bank: its code (for `bank`) and name.")
class Bank:
    code: str
    name: str


@strawberry.type(description="A wallet: its code (for `wallet`) and name.")
class Wallet:
    code: str
    name: str


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None
