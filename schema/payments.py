"""Payment and refund types, the payment inputs, and the mutation result unions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Protocol

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
    TransitionSource,
)
from models.money import Money
from models.payment import CheckoutParams
from models.payment import Payment as PaymentDocument
from models.refund import Refund as RefundDocument
from schema.errors import (
    DuplicateOrderError,
    ForbiddenError,
    GatewayError,
    InvalidSignatureError,
    InvalidStateError,
    MaxAttemptsExceededError,
    NotFoundError,
    PanNotAcceptedError,
    RateLimitedError,
    UnsupportedMethodError,
    ValidationError,
)
from schema.types import CheckoutParamsType, MoneyType, PageInfo, TimelineEntryType


class RefundLoaderContext(Protocol):
    async def refunds_of(self, payment_id: str) -> list[RefundDocument]: ...


def money(value: Money) -> MoneyType:
    return MoneyType(
        amount=value.to_decimal_string(), currency=value.currency, minor=value.amount_minor
    )


@strawberry.type(name="Refund")
class RefundType:
    id: strawberry.ID
    payment_id: strawberry.ID
    order_id: str
    amount: MoneyType
    reason: RefundReason
    source: RefundSource = strawberry.field(
        description="API: an admin asked for it; LATE_PAYMENT: paygraph returning money captured "
        "for a closed payment; GATEWAY: made at the gateway (its dashboard, a chargeback)."
    )
    status: RefundStatus
    gateway: Gateway
    gateway_refund_id: str | None
    error_code: str | None
    error_message: str | None
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None

    @classmethod
    def from_document(cls, refund: RefundDocument) -> RefundType:
        return cls(
            id=strawberry.ID(str(refund.id)),
            payment_id=strawberry.ID(str(refund.payment_id)),
            order_id=refund.order_id,
            amount=money(refund.amount),
            reason=refund.reason,
            source=refund.source,
            status=refund.status,
            gateway=refund.gateway,
            gateway_refund_id=refund.gateway_refund_id,
            error_code=refund.error_code,
            error_message=refund.error_message,
            created_at=refund.created_at,
            updated_at=refund.updated_at,
            completed_at=refund.completed_at,
        )


def checkout_view(checkout: CheckoutParams) -> CheckoutParamsType:
    return CheckoutParamsType(
        gateway=checkout.gateway,
        key_id=checkout.key_id,
        gateway_order_id=checkout.gateway_order_id,
        amount_minor=checkout.amount_minor,
        currency=checkout.currency,
        script_url=checkout.script_url,
        approve_url=checkout.approve_url,
        saved_token=checkout.saved_token,
    )


@strawberry.type(
    name="LatePayment",
    description="Money the gateway took or held for this payment after it was closed "
    "(cancelled, expired, failed for good), and what paygraph did: never captured by us; a "
    "capture is refunded in full (LATE_PAYMENT_POLICY=refund) or accepted (=accept).",
)
class LatePaymentType:
    gateway_payment_id: str
    amount: MoneyType
    kind: LatePaymentKind
    action: LatePaymentAction
    refund_id: strawberry.ID | None = strawberry.field(
        description="The refund returning it (action REFUNDED): follow its status there."
    )
    detected_at: datetime
    detected_by: TransitionSource


@strawberry.type(name="Payment")
class PaymentType:
    id: strawberry.ID
    order_id: str
    customer_id: str
    status: PaymentStatus
    amount: MoneyType
    refunded_amount: MoneyType
    captured_amount: MoneyType = strawberry.field(
        description="What the gateway captured for this payment (late captures included)."
    )
    late_payments: list[LatePaymentType]
    gateway: Gateway | None
    method_type: PaymentMethodType
    gateway_order_id: str | None
    gateway_payment_id: str | None
    attempt_count: int
    installments: int
    error_code: str | None
    error_message: str | None
    created_at: datetime
    updated_at: datetime
    expires_at: datetime
    checkout: CheckoutParamsType | None
    timeline: list[TimelineEntryType]

    @strawberry.field(description="Refunds of this payment, oldest first.")
    async def refunds(self, info: strawberry.Info[Any, None]) -> list[RefundType]:
        context: RefundLoaderContext = info.context
        return [RefundType.from_document(r) for r in await context.refunds_of(str(self.id))]

    @classmethod
    def from_document(cls, payment: PaymentDocument) -> PaymentType:
        checkout = payment.checkout
        return cls(
            id=strawberry.ID(str(payment.id)),
            order_id=payment.order_id,
            customer_id=payment.customer_id,
            status=payment.status,
            amount=money(payment.amount),
            refunded_amount=money(payment.refunded_amount),
            captured_amount=money(payment.captured_amount),
            late_payments=[
                LatePaymentType(
                    gateway_payment_id=late.gateway_payment_id,
                    amount=money(late.amount),
                    kind=late.kind,
                    action=late.action,
                    refund_id=strawberry.ID(str(late.refund_id)) if late.refund_id else None,
                    detected_at=late.detected_at,
                    detected_by=late.source,
                )
                for late in payment.late_payments
            ],
            gateway=payment.gateway,
            method_type=payment.method_type,
            gateway_order_id=payment.gateway_order_id,
            gateway_payment_id=payment.gateway_payment_id,
            attempt_count=payment.attempt_count,
            installments=payment.installments,
            error_code=payment.error_code,
            error_message=payment.error_message,
            created_at=payment.created_at,
            updated_at=payment.updated_at,
            expires_at=payment.expires_at,
            checkout=checkout_view(checkout) if checkout else None,
            timeline=[
                TimelineEntryType(
                    at=e.at,
                    from_status=e.from_status,
                    to_status=e.to_status,
                    event=e.event,
                    source=e.source,
                    actor=e.actor,
                    gateway_event_id=e.gateway_event_id,
                    gateway_payment_id=e.gateway_payment_id,
                    note=e.note,
                )
                for e in payment.timeline
            ],
        )


@strawberry.type
class PaymentEdge:
    cursor: str
    node: PaymentType


@strawberry.type
class PaymentConnection:
    edges: list[PaymentEdge]
    page_info: PageInfo


@strawberry.input
class InitiatePaymentInput:
    order_id: str = strawberry.field(description="Your order id: 1-50 letters, digits, - or _.")
    amount: str = strawberry.field(description='Major units as a decimal string, e.g. "1499.00".')
    currency: str = "INR"
    payment_method: PaymentMethodType = PaymentMethodType.CARD
    saved_method_id: strawberry.ID | None = None
    installments: int = 1
    bank: str | None = strawberry.field(default=None, description="A code from netbankingBanks.")
    wallet: str | None = strawberry.field(default=None, description="A code from wallets.")
    vpa: str | None = strawberry.field(default=None, description="UPI id, e.g. name@bank.")
    notes: str | None = None
    return_url: str | None = strawberry.field(
        default=None,
        description="PayPal: where the buyer lands after approving (your own page; PayPal adds "
        "?token=<order id>). An absolute URL on an origin of CORS_ALLOW_ORIGINS; omitted: "
        "PAYPAL_RETURN_URL.",
    )
    cancel_url: str | None = strawberry.field(
        default=None,
        description="PayPal: where the buyer lands after cancelling (same rules as returnUrl).",
    )


@strawberry.type
class InitiatePaymentSuccess:
    payment: PaymentType
    checkout: CheckoutParamsType


@strawberry.input
class VerifyPaymentInput:
    payment_id: strawberry.ID
    gateway_payment_id: str | None = strawberry.field(
        default=None, description="Razorpay: razorpay_payment_id from Checkout."
    )
    signature: str | None = strawberry.field(
        default=None, description="Razorpay: razorpay_signature from Checkout."
    )
    save_method: bool = False


@strawberry.type
class PaymentSuccess:
    payment: PaymentType


InitiatePaymentResult = Annotated[
    InitiatePaymentSuccess
    | ValidationError
    | DuplicateOrderError
    | RateLimitedError
    | GatewayError
    | UnsupportedMethodError
    | MaxAttemptsExceededError
    | InvalidStateError
    | NotFoundError
    | PanNotAcceptedError,
    strawberry.union("InitiatePaymentResult"),
]

VerifyPaymentResult = Annotated[
    PaymentSuccess
    | ValidationError
    | InvalidSignatureError
    | InvalidStateError
    | GatewayError
    | NotFoundError
    | PanNotAcceptedError,
    strawberry.union("VerifyPaymentResult"),
]

CancelPaymentResult = Annotated[
    PaymentSuccess | InvalidStateError | NotFoundError | ForbiddenError,
    strawberry.union("CancelPaymentResult"),
]
