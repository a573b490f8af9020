"""Domain errors: expected failures with a stable code from the public contract.

Each boundary (GraphQL, HTTP, worker) translates these once, by `code`; the message is safe to
show to the caller and never carries secrets or card data. Data only: no behaviour here.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar


class ErrorCode(StrEnum):
    """Every `UserError.code` the API may answer with (CONTRACT.md)."""

    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    VALIDATION_ERROR = "VALIDATION_ERROR"
    DUPLICATE_ORDER = "DUPLICATE_ORDER"
    RATE_LIMITED = "RATE_LIMITED"
    INVALID_SIGNATURE = "INVALID_SIGNATURE"
    INVALID_STATE = "INVALID_STATE"
    GATEWAY_UNAVAILABLE = "GATEWAY_UNAVAILABLE"
    GATEWAY_REJECTED = "GATEWAY_REJECTED"
    UNSUPPORTED_METHOD = "UNSUPPORTED_METHOD"
    MAX_ATTEMPTS_EXCEEDED = "MAX_ATTEMPTS_EXCEEDED"
    REFUND_EXCEEDS_CAPTURED = "REFUND_EXCEEDS_CAPTURED"
    REFUND_WINDOW_EXPIRED = "REFUND_WINDOW_EXPIRED"
    PAN_NOT_ACCEPTED = "PAN_NOT_ACCEPTED"
    IDEMPOTENCY_CONFLICT = "IDEMPOTENCY_CONFLICT"
    RECONCILIATION_RUNNING = "RECONCILIATION_RUNNING"


class DomainError(Exception):
    """Base of every expected failure. `field` names the offending input, when there is one."""

    code: ClassVar[str] = ErrorCode.VALIDATION_ERROR
    default_message: ClassVar[str] = "The request could not be completed."

    def __init__(self, message: str | None = None, *, field: str | None = None) -> None:
        self.message = message if message is not None else self.default_message
        self.field = field
        super().__init__(self.message)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code!r}, message={self.message!r}, "
            f"field={self.field!r})"
        )


class Unauthenticated(DomainError):
    code = ErrorCode.UNAUTHENTICATED
    default_message = "Authentication is required."


class Forbidden(DomainError):
    code = ErrorCode.FORBIDDEN
    default_message = "You are not allowed to do this."


class NotFound(DomainError):
    """Also the answer for another customer's object: existence is not disclosed."""

    code = ErrorCode.NOT_FOUND
    default_message = "Not found."


class PaymentNotFound(NotFound):
    default_message = "Payment not found."


class RefundNotFound(NotFound):
    default_message = "Refund not found."


class SavedMethodNotFound(NotFound):
    default_message = "Saved payment method not found."


class ValidationFailed(DomainError):
    code = ErrorCode.VALIDATION_ERROR
    default_message = "The input is not valid."


class InvalidAmount(ValidationFailed):
    default_message = "The amount is not valid."

    def __init__(self, message: str | None = None, *, field: str | None = "amount") -> None:
        super().__init__(message, field=field)


class UnsupportedCurrency(ValidationFailed):
    default_message = "The currency is not supported."

    def __init__(self, message: str | None = None, *, field: str | None = "currency") -> None:
        super().__init__(message, field=field)


class CurrencyMismatch(ValidationFailed):
    default_message = "Amounts in different currencies cannot be combined."


class DuplicateOrder(DomainError):
    """The customer already has a payment for this order with different parameters."""

    code = ErrorCode.DUPLICATE_ORDER
    default_message = "A payment for this order already exists."

    def __init__(
        self,
        existing_payment_id: str,
        message: str | None = None,
        *,
        field: str | None = "orderId",
    ) -> None:
        super().__init__(message, field=field)
        self.existing_payment_id = existing_payment_id


class RateLimited(DomainError):
    code = ErrorCode.RATE_LIMITED
    default_message = "Too many requests; try again later."

    def __init__(self, retry_after_seconds: int, message: str | None = None) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class GatewayUnavailableError(DomainError):
    """The gateway could not be reached or did not answer; the same request may succeed later."""

    code = ErrorCode.GATEWAY_UNAVAILABLE
    default_message = "The payment gateway is unavailable; try again shortly."


class GatewayRejectedError(DomainError):
    """The gateway answered no; `gateway_code` is its own reason code."""

    code = ErrorCode.GATEWAY_REJECTED
    default_message = "The payment gateway declined the request."

    def __init__(self, message: str | None = None, *, gateway_code: str | None = None) -> None:
        super().__init__(message)
        self.gateway_code = gateway_code


class InvalidSignature(DomainError):
    code = ErrorCode.INVALID_SIGNATURE
    default_message = "The signature does not match."


class InvalidState(DomainError):
    """The object's current status does not allow this operation."""

    code = ErrorCode.INVALID_STATE
    default_message = "The operation is not allowed in the current state."

    def __init__(
        self,
        message: str | None = None,
        *,
        field: str | None = None,
        current_status: str | None = None,
    ) -> None:
        super().__init__(message, field=field)
        self.current_status = current_status


class UnsupportedPaymentMethod(DomainError):
    """No configured gateway takes this method in this currency for this amount."""

    code = ErrorCode.UNSUPPORTED_METHOD
    default_message = "This payment method is not available for this currency and amount."


class MaxAttemptsExceeded(DomainError):
    code = ErrorCode.MAX_ATTEMPTS_EXCEEDED
    default_message = "The maximum number of payment attempts has been reached."

    def __init__(self, max_attempts: int, message: str | None = None) -> None:
        super().__init__(message)
        self.max_attempts = max_attempts


class RefundExceedsCaptured(DomainError):
    code = ErrorCode.REFUND_EXCEEDS_CAPTURED
    default_message = "The refund exceeds the amount that can still be refunded."

    def __init__(
        self,
        refundable_minor: int,
        currency: str,
        message: str | None = None,
        *,
        field: str | None = "amount",
    ) -> None:
        super().__init__(message, field=field)
        self.refundable_minor = refundable_minor
        self.currency = currency


class RefundWindowExpired(DomainError):
    code = ErrorCode.REFUND_WINDOW_EXPIRED
    default_message = "The refund window for this payment has closed."


class PanNotAccepted(DomainError):
    """Something that looks like a card number reached us. The message never echoes it."""

    code = ErrorCode.PAN_NOT_ACCEPTED
    default_message = "Card numbers are not accepted; use the gateway's checkout."


class IdempotencyConflict(DomainError):
    """The idempotency key was used before with different request parameters."""

    code = ErrorCode.IDEMPOTENCY_CONFLICT
    default_message = "This idempotency key was already used with different parameters."

    def __init__(self, message: str | None = None, *, field: str | None = "idempotencyKey") -> None:
        super().__init__(message, field=field)


class ReconciliationRunning(DomainError):
    """Another reconciliation run holds the lock; runs never overlap."""

    code = ErrorCode.RECONCILIATION_RUNNING
    default_message = "A reconciliation run is already in progress."

    def __init__(self, message: str | None = None, *, retry_after_seconds: int = 0) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


# Not user errors: the webhook pipeline's own conditions (never shown through GraphQL).


class InboxUnavailable(Exception):
    """A webhook event could not be stored: the gateway must retry (HTTP 503)."""


class TargetNotFound(Exception):
    """The payment or refund a gateway event is about is not (yet) in our database."""
