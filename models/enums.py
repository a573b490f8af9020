"""Domain enums. Values equal names (the GraphQL enums wrap these, CONTRACT.md), except Role,
whose values are the JWT `roles` claim strings."""

from __future__ import annotations

from enum import StrEnum

from domain.gateways import Gateway

__all__ = [
    "Gateway",
    "LatePaymentAction",
    "LatePaymentKind",
    "LatePaymentPolicy",
    "PaymentMethodType",
    "PaymentStatus",
    "ReconciliationTrigger",
    "RefundReason",
    "RefundSource",
    "RefundStatus",
    "Role",
    "TransitionSource",
    "WebhookEventStatus",
]


class PaymentStatus(StrEnum):
    PENDING = "PENDING"
    INITIATED = "INITIATED"
    AUTHORIZED = "AUTHORIZED"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"
    PARTIALLY_REFUNDED = "PARTIALLY_REFUNDED"
    REFUNDED = "REFUNDED"


class RefundStatus(StrEnum):
    PENDING = "PENDING"
    PROCESSING = "PROCESSING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"


class PaymentMethodType(StrEnum):
    CARD = "CARD"
    UPI = "UPI"
    NETBANKING = "NETBANKING"
    WALLET = "WALLET"
    EMI = "EMI"
    PAYPAL = "PAYPAL"


class RefundReason(StrEnum):
    CUSTOMER_REQUEST = "CUSTOMER_REQUEST"
    DUPLICATE = "DUPLICATE"
    FRAUDULENT = "FRAUDULENT"
    DAMAGED = "DAMAGED"
    NOT_DELIVERED = "NOT_DELIVERED"
    OTHER = "OTHER"
    LATE_PAYMENT = "LATE_PAYMENT"  # money captured for a payment already closed: returned


class RefundSource(StrEnum):
    """Who made a refund: an admin (API), paygraph returning late money (LATE_PAYMENT), or the
    gateway itself (GATEWAY: its dashboard, a chargeback), learned from a webhook or
    reconciliation."""

    API = "API"
    LATE_PAYMENT = "LATE_PAYMENT"
    GATEWAY = "GATEWAY"


class LatePaymentPolicy(StrEnum):
    """What happens to money captured at the gateway for a payment that was already closed
    (cancelled, expired, failed for good): LATE_PAYMENT_POLICY."""

    REFUND = "refund"  # return it in full through the refund path (the default)
    ACCEPT = "accept"  # keep it: the payment becomes COMPLETED


class LatePaymentKind(StrEnum):
    CAPTURE = "CAPTURE"  # the gateway captured it (auto-capture, PayPal)
    AUTHORIZATION = "AUTHORIZATION"  # held, never captured by us


class LatePaymentAction(StrEnum):
    """What paygraph did with late money."""

    REFUNDED = "REFUNDED"  # refunded in full (the refund's own status shows its progress)
    ACCEPTED = "ACCEPTED"  # kept under LATE_PAYMENT_POLICY=accept: the payment is COMPLETED
    LEFT_TO_LAPSE = "LEFT_TO_LAPSE"  # an authorization we never capture (the gateway releases it)


class WebhookEventStatus(StrEnum):
    RECEIVED = "RECEIVED"
    PROCESSED = "PROCESSED"
    IGNORED = "IGNORED"
    FAILED = "FAILED"


class TransitionSource(StrEnum):
    """Who caused a status change; recorded on every timeline entry."""

    API = "API"
    WEBHOOK = "WEBHOOK"
    RECONCILIATION = "RECONCILIATION"
    EXPIRY = "EXPIRY"


class ReconciliationTrigger(StrEnum):
    CRON = "CRON"
    CLI = "CLI"
    ADMIN = "ADMIN"


class Role(StrEnum):
    CUSTOMER = "customer"
    ADMIN = "admin"
