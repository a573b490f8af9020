"""Expected failures as schema data (STYLE.md 4).

Every mutation returns a union of its success type and error types implementing `UserError`.
`from_domain_error` translates a models.errors.DomainError into its GraphQL error type once, at
the GraphQL boundary.
"""

from __future__ import annotations

import strawberry

from models import errors as domain


@strawberry.interface(description="An expected failure: `code` is stable, `message` is for people.")
class UserError:
    code: str
    message: str


@strawberry.type
class UnauthenticatedError(UserError):
    pass


@strawberry.type
class ForbiddenError(UserError):
    pass


@strawberry.type
class NotFoundError(UserError):
    pass


@strawberry.type
class ValidationError(UserError):
    field: str | None = strawberry.field(description="The input field at fault, if one is.")


@strawberry.type
class DuplicateOrderError(UserError):
    existing_payment_id: strawberry.ID


@strawberry.type
class RateLimitedError(UserError):
    retry_after_seconds: int


@strawberry.type
class InvalidSignatureError(UserError):
    pass


@strawberry.type
class InvalidStateError(UserError):
    pass


@strawberry.type
class GatewayError(UserError):
    retryable: bool = strawberry.field(description="Whether the same request may succeed later.")
    gateway_code: str | None = None


@strawberry.type
class UnsupportedMethodError(UserError):
    pass


@strawberry.type
class MaxAttemptsExceededError(UserError):
    pass


@strawberry.type
class RefundError(UserError):
    pass


@strawberry.type
class PanNotAcceptedError(UserError):
    field: str | None = None


@strawberry.type
class IdempotencyConflictError(UserError):
    pass


@strawberry.type
class ReconciliationRunningError(UserError):
    retry_after_seconds: int = strawberry.field(
        description="When the running lock expires at the latest (a crashed run's lock lapses)."
    )


ALL_ERROR_TYPES: tuple[type, ...] = (
    UnauthenticatedError,
    ForbiddenError,
    NotFoundError,
    ValidationError,
    DuplicateOrderError,
    RateLimitedError,
    InvalidSignatureError,
    InvalidStateError,
    GatewayError,
    UnsupportedMethodError,
    MaxAttemptsExceededError,
    RefundError,
    PanNotAcceptedError,
    IdempotencyConflictError,
    ReconciliationRunningError,
)


def from_domain_error(error: domain.DomainError) -> UserError:
    """The schema type for a domain error; its code is always the domain error's code."""
    code, message = error.code, error.message
    match error:
        case domain.Unauthenticated():
            return UnauthenticatedError(code=code, message=message)
        case domain.Forbidden():
            return ForbiddenError(code=code, message=message)
        case domain.NotFound():
            return NotFoundError(code=code, message=message)
        case domain.DuplicateOrder():
            return DuplicateOrderError(
                code=code,
                message=message,
                existing_payment_id=strawberry.ID(error.existing_payment_id),
            )
        case domain.RateLimited():
            return RateLimitedError(
                code=code, message=message, retry_after_seconds=error.retry_after_seconds
            )
        case domain.InvalidSignature():
            return InvalidSignatureError(code=code, message=message)
        case domain.InvalidState():
            return InvalidStateError(code=code, message=message)
        case domain.MaxAttemptsExceeded():
            return MaxAttemptsExceededError(code=code, message=message)
        case domain.RefundExceedsCaptured() | domain.RefundWindowExpired():
            return RefundError(code=code, message=message)
        case domain.PanNotAccepted():
            return PanNotAcceptedError(code=code, message=message, field=error.field)
        case domain.IdempotencyConflict():
            return IdempotencyConflictError(code=code, message=message)
        case domain.ReconciliationRunning():
            return ReconciliationRunningError(
                code=code, message=message, retry_after_seconds=error.retry_after_seconds
            )
        case domain.ValidationFailed():
            return ValidationError(code=code, message=message, field=error.field)
    if code in ("GATEWAY_UNAVAILABLE", "GATEWAY_REJECTED"):
        return GatewayError(
            code=code,
            message=message,
            retryable=code == "GATEWAY_UNAVAILABLE",
            gateway_code=getattr(error, "gateway_code", None),
        )
    if code == "UNSUPPORTED_METHOD":
        return UnsupportedMethodError(code=code, message=message)
    return ValidationError(code=code, message=message, field=error.field)
