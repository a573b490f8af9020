"""Refund inputs and results (the Refund type itself lives with Payment in schema/payments.py)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from models.enums import RefundReason
from schema.errors import (
    ForbiddenError,
    GatewayError,
    IdempotencyConflictError,
    InvalidStateError,
    NotFoundError,
    PanNotAcceptedError,
    RefundError,
    ValidationError,
)
from schema.payments import RefundType


@strawberry.input
class RefundPaymentInput:
    payment_id: strawberry.ID
    amount: str | None = strawberry.field(
        default=None, description="Major units; omitted: everything still refundable."
    )
    reason: RefundReason = RefundReason.CUSTOMER_REQUEST
    notes: str | None = None
    idempotency_key: strawberry.ID = strawberry.field(
        description=(
            "Required, 1-128 characters, chosen by the client per refund (a UUID): repeating "
            "the request with the same key returns the first refund instead of a second one."
        )
    )


@strawberry.type
class RefundSuccess:
    refund: RefundType


RefundPaymentResult = Annotated[
    RefundSuccess
    | ValidationError
    | RefundError
    | InvalidStateError
    | ForbiddenError
    | NotFoundError
    | IdempotencyConflictError
    | GatewayError
    | PanNotAcceptedError,
    strawberry.union("RefundPaymentResult"),
]
