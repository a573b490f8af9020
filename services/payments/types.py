"""What callers hand the payment service and what it hands back, and its policy."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime

from bson import ObjectId
from bson.errors import InvalidId

from models.enums import LatePaymentPolicy, PaymentMethodType
from models.errors import ValidationFailed
from models.payment import CheckoutParams, Payment


@dataclass(frozen=True, slots=True)
class InitiateCommand:
    order_id: str
    amount: str
    currency: str = "INR"
    method: PaymentMethodType = PaymentMethodType.CARD
    saved_method_id: str | None = None
    installments: int = 1
    bank: str | None = None
    wallet: str | None = None
    vpa: str | None = None
    notes: str | None = None
    return_url: str | None = None  # PayPal: where the buyer lands after approving
    cancel_url: str | None = None  # PayPal: where the buyer lands after cancelling


@dataclass(frozen=True, slots=True)
class VerifyCommand:
    payment_id: str
    gateway_payment_id: str | None = None
    signature: str | None = None
    save_method: bool = False


@dataclass(frozen=True, slots=True)
class Initiated:
    payment: Payment
    checkout: CheckoutParams


@dataclass(frozen=True, slots=True)
class PaymentPage:
    items: list[Payment]
    has_next_page: bool

    @property
    def cursors(self) -> list[str]:
        return [encode_cursor(item) for item in self.items]

    @property
    def end_cursor(self) -> str | None:
        return encode_cursor(self.items[-1]) if self.items else None


@dataclass(frozen=True, slots=True)
class PaymentPolicy:
    max_attempts: int = 3
    timeout_minutes: int = 60
    wait_for_peer_seconds: float = 15.0
    late_payment_policy: LatePaymentPolicy = LatePaymentPolicy.REFUND
    # Origins a per-payment return URL may point at (CORS_ALLOW_ORIGINS and this server): a
    # return URL elsewhere would make the gateway an open redirect.
    return_origins: frozenset[str] = frozenset()


def encode_cursor(payment: Payment) -> str:
    """The page position after `payment`: newest first, ties broken by id."""
    raw = f"{payment.created_at.isoformat()}|{payment.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, ObjectId]:
    try:
        created, _, oid = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        return datetime.fromisoformat(created), ObjectId(oid)
    except (ValueError, InvalidId, UnicodeDecodeError):
        raise ValidationFailed("after is not a cursor from this API", field="after") from None
