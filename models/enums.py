"""Domain enums. Values equal names (the GraphQL enums wrap these, CONTRACT.md), except Role,
whose values are the JWT `roles` claim strings."""

from __future__ import annotations

from enum import StrEnum

from domain.gateways import Gateway

__all__ = [
    "Gateway",
    "PaymentMethodType",
    "PaymentStatus",
    "ReconciliationTrigger",
    "RefundReason",
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
