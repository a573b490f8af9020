"""The payment record: one per (customer, order), the aggregate services/payments/ writes."""

from __future__ import annotations

from beanie import Document, PydanticObjectId
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pymongo import ASCENDING, DESCENDING, IndexModel

from models.clock import UtcDateTime, utcnow
from models.common import TimelineEntry
from models.enums import (
    Gateway,
    LatePaymentAction,
    LatePaymentKind,
    PaymentMethodType,
    PaymentStatus,
    TransitionSource,
)
from models.events_out import OUTBOX_INDEX, OutboxEntry
from models.money import Money
from models.transitions import PaymentEvent

# The transitions that make a gateway payment's money the payment's own.
_OWN_CAPTURE_EVENTS = frozenset({PaymentEvent.CAPTURED, PaymentEvent.LATE_PAYMENT_ACCEPTED})


class ClientMetadata(BaseModel):
    """Where the initiate request came from (fraud review, rate limits). Never card data."""

    ip: str | None = None
    user_agent: str | None = Field(default=None, max_length=512)


class CheckoutParams(BaseModel):
    """What the browser needs to open the gateway's checkout; returned again on idempotent
    repeats of initiatePayment."""

    model_config = ConfigDict(frozen=True)

    gateway: Gateway
    key_id: str
    gateway_order_id: str
    amount_minor: int = Field(ge=0, strict=True)
    currency: str
    approve_url: str | None = None  # PayPal only
    script_url: str | None = None  # the checkout script to load (Razorpay's checkout.js)
    saved_token: str | None = None  # the gateway's token of a saved method (never card data)
    # Razorpay's customer (cust_...) a card is saved for and a saved card is paid by; like
    # saved_token, in initiatePayment's answer only.
    customer_id: str | None = None


class GatewayAttempt(BaseModel):
    """One try at creating the gateway order, kept so a fallback says why it moved."""

    model_config = ConfigDict(frozen=True)

    gateway: Gateway
    at: UtcDateTime = Field(default_factory=utcnow)
    outcome: str  # created | unavailable | rejected | unknown | skipped
    detail: str | None = None


class MethodDetails(BaseModel):
    """What the customer chose inside the method; never card data."""

    model_config = ConfigDict(frozen=True)

    bank: str | None = None
    wallet: str | None = None
    vpa: str | None = None


class LatePayment(BaseModel):
    """Money the gateway took or held for this payment after we had closed it (cancelled,
    expired, failed for good), and what paygraph did about it."""

    model_config = ConfigDict(frozen=True)

    gateway_payment_id: str
    amount: Money
    kind: LatePaymentKind
    action: LatePaymentAction
    refund_id: PydanticObjectId | None = None  # the refund returning it (action REFUNDED)
    detected_at: UtcDateTime = Field(default_factory=utcnow)
    source: TransitionSource
    # Set once a reconciliation run has listed it in its report.
    reported: bool = False


class Payment(Document):
    order_id: str = Field(min_length=1, max_length=50)
    customer_id: str = Field(min_length=1)
    amount: Money
    # What the gateway captured for this payment (the order's amount once completed; late
    # captures of a closed payment add theirs). Refunds are bounded by it.
    captured_minor: int = Field(default=0, ge=0, strict=True)
    refunded_minor: int = Field(default=0, ge=0, strict=True)
    # Refunded plus refunds accepted but not yet final at the gateway: what is no longer
    # refundable. A refund reserves its amount with one conditional increment of this field
    # (committed <= captured - amount, the captured amount being fixed), so two concurrent
    # refunds can never together exceed the capture; a failed refund gives it back, a
    # completed one moves it into refunded_minor.
    refund_committed_minor: int = Field(default=0, ge=0, strict=True)
    late_payments: list[LatePayment] = Field(default_factory=list)
    gateway: Gateway | None = None
    method_type: PaymentMethodType
    status: PaymentStatus = PaymentStatus.PENDING
    gateway_order_id: str | None = None
    gateway_payment_id: str | None = None  # Razorpay payment id, PayPal capture id
    saved_method_id: PydanticObjectId | None = None
    installments: int = Field(default=1, ge=1)
    attempt_count: int = Field(default=0, ge=0)
    error_code: str | None = None
    error_message: str | None = None
    receipt: str | None = None
    metadata: ClientMetadata = Field(default_factory=ClientMetadata)
    notes: dict[str, str] = Field(default_factory=dict)
    checkout: CheckoutParams | None = None
    # Where PayPal sends the buyer back for this payment (the shop's own page); None: the
    # configured PAYPAL_RETURN_URL / PAYPAL_CANCEL_URL.
    return_url: str | None = None
    cancel_url: str | None = None
    method_details: MethodDetails = Field(default_factory=MethodDetails)
    gateway_attempts: list[GatewayAttempt] = Field(default_factory=list)
    # Whoever holds this lease is creating the gateway order; a crashed holder's lease lapses
    # and a repeat of initiatePayment resumes (the adapter finds an order it already made).
    order_lease_until: UtcDateTime | None = None
    # Hash of the initiate parameters: a repeat with the same hash gets this payment back,
    # a different hash for the same order is DUPLICATE_ORDER.
    request_fingerprint: str
    created_at: UtcDateTime = Field(default_factory=utcnow)
    updated_at: UtcDateTime = Field(default_factory=utcnow)
    expires_at: UtcDateTime
    # Bumped by every write; updates are compare-and-set on (status, version).
    version: int = Field(default=0, ge=0)
    timeline: list[TimelineEntry] = Field(default_factory=list)
    # Events of changes not yet relayed to `events` (written by the change's own update).
    outbox: list[OutboxEntry] = Field(default_factory=list)

    class Settings:
        name = "payment_orders"
        validate_on_save = True
        indexes = [
            IndexModel(
                [("customer_id", ASCENDING), ("order_id", ASCENDING)],
                name="customer_order_unique",
                unique=True,
            ),
            IndexModel(
                [("customer_id", ASCENDING), ("created_at", DESCENDING)],
                name="customer_created",
            ),
            IndexModel([("gateway_order_id", ASCENDING)], name="gateway_order_id"),
            IndexModel([("gateway_payment_id", ASCENDING)], name="gateway_payment_id", sparse=True),
            IndexModel([("status", ASCENDING), ("updated_at", ASCENDING)], name="status_updated"),
            # Plain on purpose: expiry is a status set by a job. A TTL index here (as in the
            # seed guide) would delete money records.
            IndexModel([("expires_at", ASCENDING)], name="expires_at"),
            OUTBOX_INDEX,
        ]

    @model_validator(mode="after")
    def _refunds_within_commitments(self) -> Payment:
        if self.refund_committed_minor < self.refunded_minor:
            raise ValueError("refund_committed_minor counts refunded_minor and cannot be below it")
        return self

    @property
    def currency(self) -> str:
        return self.amount.currency

    @property
    def refunded_amount(self) -> Money:
        return Money(amount_minor=self.refunded_minor, currency=self.amount.currency)

    @property
    def refund_reserved_minor(self) -> int:
        """Refunds accepted but not yet final at the gateway."""
        return self.refund_committed_minor - self.refunded_minor

    @property
    def refundable_minor(self) -> int:
        """Captured minus refunded minus refunds in flight; never below zero."""
        return max(self.captured_minor - self.refund_committed_minor, 0)

    @property
    def captured_amount(self) -> Money:
        return Money(amount_minor=self.captured_minor, currency=self.amount.currency)

    @property
    def net_minor(self) -> int:
        """What the gateway holds for this payment as we know it: captured minus refunded."""
        return self.captured_minor - self.refunded_minor

    @property
    def refundable_amount(self) -> Money:
        return Money(amount_minor=self.refundable_minor, currency=self.amount.currency)

    @property
    def own_capture_id(self) -> str | None:
        """The gateway payment this payment captured as its own (or accepted as late money).
        Until then `gateway_payment_id` holds its last attempt, which may be a decline that
        the bank authorizes late: money that is not the payment's own."""
        gateway_payment_id = self.gateway_payment_id
        if gateway_payment_id is not None and any(
            entry.event in _OWN_CAPTURE_EVENTS and entry.gateway_payment_id == gateway_payment_id
            for entry in self.timeline
        ):
            return gateway_payment_id
        return None
