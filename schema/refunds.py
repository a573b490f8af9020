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
    idempotency_key: strawberry.ID | None = strawberry.field(
        default=None, description="Repeat with the same key to get the same refund back."
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
