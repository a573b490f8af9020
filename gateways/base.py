"""The gateway-neutral boundary every payment gateway adapter implements.

Amounts cross this boundary as integer minor units plus an ISO-4217 currency code (paise for
INR, cents for USD); each adapter converts to its gateway's wire format. Nothing here imports
models/ or services/: adapters speak only these frozen DTOs and the error split below.

Error split (what a caller may do next):
- GatewayUnavailable: nothing happened at the gateway as far as we can know (connect error,
  429, 5xx, a timeout before the request was sent). Safe to retry with backoff.
- GatewayRejected: the gateway answered and said no (bad request, declined, invalid state).
  Terminal for this request; carries the gateway's code and reason.
- GatewayOutcomeUnknown: a non-idempotent request was sent and no answer came back. The
  gateway may have acted; resolve by fetching, never by blindly repeating.
- WebhookVerificationFailed: a webhook whose signature or envelope does not check out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, runtime_checkable

from domain.gateways import Gateway as Gateway  # re-exported: adapters speak it


class MethodKind(StrEnum):
    """Payment method as the gateway boundary sees it (mirrors PaymentMethodType)."""

    CARD = "CARD"
    UPI = "UPI"
    NETBANKING = "NETBANKING"
    WALLET = "WALLET"
    EMI = "EMI"
    PAYPAL = "PAYPAL"


class GatewayOrderStatus(StrEnum):
    CREATED = (
        "CREATED"  # nothing attempted yet (Razorpay created; PayPal CREATED/PAYER_ACTION_REQUIRED)
    )
    ATTEMPTED = "ATTEMPTED"  # at least one payment attempt, none captured
    APPROVED = "APPROVED"  # PayPal: buyer approved, awaiting our capture
    PAID = "PAID"  # captured
    VOIDED = "VOIDED"


class GatewayPaymentStatus(StrEnum):
    CREATED = "CREATED"
    AUTHORIZED = "AUTHORIZED"
    CAPTURED = "CAPTURED"
    PENDING = "PENDING"  # PayPal capture pending review
    FAILED = "FAILED"
    REFUNDED = "REFUNDED"  # fully refunded after capture
    # An authorization released without capture (Razorpay's `refunded` with `captured: false`:
    # it refunds authorizations nobody captured in time): no money was taken.
    VOIDED = "VOIDED"
    # A capture taken back by the payer's bank (a chargeback; PayPal's REVERSED).
    REVERSED = "REVERSED"


class GatewayRefundStatus(StrEnum):
    PENDING = "PENDING"
    PROCESSED = "PROCESSED"
    FAILED = "FAILED"


class GatewayEventKind(StrEnum):
    """What a webhook means for us, whatever the gateway called it."""

    PAYMENT_AUTHORIZED = "PAYMENT_AUTHORIZED"
    PAYMENT_CAPTURED = "PAYMENT_CAPTURED"
    PAYMENT_PENDING = "PAYMENT_PENDING"  # PayPal: a capture held for review; money not moved yet
    PAYMENT_FAILED = "PAYMENT_FAILED"
    # An authorization released without capture: no money was taken (Razorpay's refund of an
    # uncaptured authorization; `refund_id` names that auto-refund, it is no refund of ours).
    PAYMENT_VOIDED = "PAYMENT_VOIDED"
    ORDER_PAID = "ORDER_PAID"
    ORDER_APPROVED = "ORDER_APPROVED"
    REFUND_CREATED = "REFUND_CREATED"
    REFUND_PROCESSED = "REFUND_PROCESSED"
    REFUND_FAILED = "REFUND_FAILED"
    # A capture taken back by the payer's bank (a chargeback): `payment_id` is the capture,
    # `refund_id` the reversal's id (a refund-like record, imported as a CHARGEBACK refund).
    PAYMENT_REVERSED = "PAYMENT_REVERSED"
    UNKNOWN = "UNKNOWN"


@dataclass(frozen=True, slots=True)
class CreateOrderRequest:
    """Ask the gateway for an order our customer can pay. `reference` is our payment id:
    Razorpay's receipt, PayPal's invoice id and the root of every idempotency key."""

    reference: str
    amount_minor: int
    currency: str
    method: MethodKind
    notes: Mapping[str, str] = field(default_factory=dict)
    customer_id: str | None = None
    # Where the buyer lands after approving or cancelling at the gateway (PayPal); None: the
    # adapter's configured pages.
    return_url: str | None = None
    cancel_url: str | None = None
    # Which order of this payment: 1, then one more each time the previous order can take no
    # further attempt (a PayPal order is captured once: a declined capture ends it). The same
    # number finds the same order again; a higher one makes a new order.
    attempt: int = 1
    # True only when no order can exist for `reference` yet: the caller made the reference in
    # this very call and has asked for no order before. An adapter that looks for an existing
    # order before creating one may then skip that look (it still looks after an unclear
    # failure). A repeat or a resumed request must leave it False.
    new_reference: bool = False


@dataclass(frozen=True, slots=True)
class GatewayOrder:
    gateway: Gateway
    id: str
    reference: str | None
    amount_minor: int
    currency: str
    status: GatewayOrderStatus
    amount_paid_minor: int = 0
    attempts: int = 0
    approve_url: str | None = None  # PayPal: where the buyer approves
    capture_id: str | None = None  # PayPal: the capture, once captured


@dataclass(frozen=True, slots=True)
class GatewayPayment:
    gateway: Gateway
    id: str
    order_id: str | None
    amount_minor: int
    currency: str
    status: GatewayPaymentStatus
    method: str | None = None
    amount_refunded_minor: int = 0
    captured: bool = False
    error_code: str | None = None
    error_reason: str | None = None
    error_description: str | None = None
    card_last4: str | None = None
    card_network: str | None = None
    token_id: str | None = None  # a saved-card token when the customer opted to save
    created_at: int | None = None  # unix seconds


@dataclass(frozen=True, slots=True)
class RefundRequest:
    """`idempotency_key` is derived from our refund id; the same key never refunds twice."""

    payment_id: str  # Razorpay payment id or PayPal capture id
    amount_minor: int | None  # None: the whole refundable remainder
    currency: str
    idempotency_key: str
    notes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class GatewayRefund:
    gateway: Gateway
    id: str
    payment_id: str
    amount_minor: int
    currency: str
    status: GatewayRefundStatus
    error_reason: str | None = None
    # A chargeback: money the payer's bank took back (PayPal's capture REVERSED), listed with
    # the refunds because it leaves the merchant the same way; nobody asked for it.
    reversal: bool = False
    # What we named the refund when we asked for it, as the gateway echoes it (Razorpay's
    # notes.refund_id, PayPal's custom_id); None for a refund made elsewhere (its dashboard).
    reference: str | None = None


@dataclass(frozen=True, slots=True)
class CheckoutProof:
    """What the browser hands back after the gateway's checkout: for Razorpay the
    payment id and signature, for PayPal the approved order id (no signature)."""

    order_id: str
    payment_id: str | None
    signature: str | None


@dataclass(frozen=True, slots=True)
class GatewayEvent:
    """A verified webhook, normalised. `raw_type` keeps the gateway's own name."""

    gateway: Gateway
    event_id: str
    kind: GatewayEventKind
    raw_type: str
    order_id: str | None = None
    payment_id: str | None = None
    refund_id: str | None = None
    reference: str | None = None  # our payment id, when the gateway echoes it
    refund_reference: str | None = None  # a refund event's GatewayRefund.reference
    amount_minor: int | None = None
    currency: str | None = None
    error_code: str | None = None
    error_reason: str | None = None
    created_at: int | None = None


class GatewayError(Exception):
    code: str = "GATEWAY_ERROR"

    def __init__(self, gateway: Gateway, message: str) -> None:
        super().__init__(message)
        self.gateway = gateway
        self.message = message


class GatewayUnavailable(GatewayError):
    code = "GATEWAY_UNAVAILABLE"
    retryable = True

    def __init__(
        self,
        gateway: Gateway,
        message: str,
        *,
        retry_after: float | None = None,
        local: bool = False,
    ) -> None:
        super().__init__(gateway, message)
        self.retry_after = retry_after
        # True when our side was the bottleneck (no free connection in our pool): retryable,
        # but no evidence against the gateway, so circuit breakers must not count it.
        self.local = local


class GatewayRejected(GatewayError):
    code = "GATEWAY_REJECTED"
    retryable = False

    def __init__(
        self,
        gateway: Gateway,
        message: str,
        *,
        gateway_code: str,
        reason: str | None = None,
        field: str | None = None,
        http_status: int | None = None,
    ) -> None:
        super().__init__(gateway, message)
        self.gateway_code = gateway_code
        self.reason = reason
        self.field = field
        self.http_status = http_status


class UnsupportedMethod(GatewayRejected):
    """Refused before any call: this gateway cannot take this method/currency/amount."""

    code = "UNSUPPORTED_METHOD"

    def __init__(self, gateway: Gateway, message: str) -> None:
        super().__init__(gateway, message, gateway_code="UNSUPPORTED_METHOD")


class GatewayOutcomeUnknown(GatewayError):
    code = "GATEWAY_OUTCOME_UNKNOWN"
    retryable = False


class WebhookVerificationFailed(GatewayError):
    code = "INVALID_SIGNATURE"


@runtime_checkable
class PaymentGateway(Protocol):
    """One payment gateway. Every method may raise the GatewayError split above; none
    retries on its own except where noted (callers own retry policy, see gateways.retry)."""

    name: Gateway

    @property
    def public_key(self) -> str:
        """The id the browser checkout needs (Razorpay key id, PayPal client id)."""
        ...

    @property
    def checkout_script_url(self) -> str | None:
        """The script the browser loads to open this gateway's checkout (Razorpay's
        checkout.js, or the sandbox's stand-in); None when the checkout is a redirect."""
        ...

    def supports(self, method: MethodKind, currency: str, amount_minor: int) -> bool:
        """Whether this gateway can take this method in this currency for this amount."""
        ...

    async def create_order(self, request: CreateOrderRequest) -> GatewayOrder:
        """Create (or, after an ambiguous failure, find) the order for `request.reference`."""
        ...

    async def fetch_order(self, order_id: str) -> GatewayOrder: ...

    async def list_order_payments(self, order_id: str) -> list[GatewayPayment]: ...

    async def fetch_payment(self, payment_id: str) -> GatewayPayment: ...

    async def capture(
        self, order_id: str, payment_id: str | None, amount_minor: int, currency: str
    ) -> GatewayPayment:
        """Capture an authorized payment (Razorpay) or an approved order (PayPal)."""
        ...

    async def refund(self, request: RefundRequest) -> GatewayRefund: ...

    async def fetch_refund(self, payment_id: str, refund_id: str) -> GatewayRefund: ...

    async def list_refunds(self, payment_id: str) -> list[GatewayRefund]:
        """Every refund the gateway made of this payment (Razorpay payment, PayPal capture),
        whoever asked for it - ours, its dashboard's, its own (Razorpay's refund of an
        uncaptured authorization) - and a chargeback as one more, marked `reversal`."""
        ...

    async def create_customer(self, reference: str) -> str | None:
        """The gateway's customer record for our customer `reference`, for saved cards
        (Razorpay issues and honours a card token only for one customer); None when this
        gateway keeps no customers for us. Each call may make a new record: the caller keeps
        the id it got."""
        ...

    def verify_checkout(self, proof: CheckoutProof) -> bool:
        """Constant-time check of the browser's proof of payment; False when it fails."""
        ...

    async def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> GatewayEvent:
        """Check the webhook's signature over the raw body and normalise it; raises
        WebhookVerificationFailed (bad signature) or ValueError (malformed body)."""
        ...

    async def aclose(self) -> None: ...
