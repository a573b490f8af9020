"""A refund of (part of) a captured payment."""

from __future__ import annotations

from beanie import Document, PydanticObjectId
from pydantic import Field
from pymongo import ASCENDING, IndexModel

from models.clock import UtcDateTime, utcnow
from models.common import RefundTimelineEntry
from models.enums import Gateway, RefundReason, RefundSource, RefundStatus
from models.money import Money


class Refund(Document):
    payment_id: PydanticObjectId
    order_id: str
    customer_id: str
    amount: Money
    reason: RefundReason
    source: RefundSource = RefundSource.API
    notes: dict[str, str] = Field(default_factory=dict)
    status: RefundStatus = RefundStatus.PENDING
    gateway: Gateway
    # The payment's id at the gateway (Razorpay payment, PayPal capture), fixed once it was
    # refundable: what the refund is sent against. Every refund carries it from acceptance on.
    gateway_payment_id: str
    gateway_refund_id: str | None = None
    # The client's key; with `request_fingerprint` it turns a repeat into the same refund and a
    # reuse with different parameters into IDEMPOTENCY_CONFLICT.
    idempotency_key: str = Field(min_length=1, max_length=128)
    request_fingerprint: str
    error_code: str | None = None
    error_message: str | None = None
    created_at: UtcDateTime = Field(default_factory=utcnow)
    updated_at: UtcDateTime = Field(default_factory=utcnow)
    completed_at: UtcDateTime | None = None
    version: int = Field(default=0, ge=0)
    timeline: list[RefundTimelineEntry] = Field(default_factory=list)

    class Settings:
        name = "refunds"
        validate_on_save = True
        indexes = [
            # No (customer, created) index: nothing lists refunds by customer, and an index that
            # no query reads still costs every refund write.
            IndexModel([("payment_id", ASCENDING)], name="payment_id"),
            # Partial rather than sparse: refunds without a key store null, and a sparse
            # compound index would still make two such refunds collide.
            IndexModel(
                [("payment_id", ASCENDING), ("idempotency_key", ASCENDING)],
                name="payment_idempotency_key_unique",
                unique=True,
                partialFilterExpression={"idempotency_key": {"$type": "string"}},
            ),
            IndexModel([("gateway_refund_id", ASCENDING)], name="gateway_refund_id", sparse=True),
            IndexModel([("status", ASCENDING), ("updated_at", ASCENDING)], name="status_updated"),
        ]
