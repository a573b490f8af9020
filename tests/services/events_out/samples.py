"""Records as a real flow leaves them, for payload and catalog tests (built without a database:
`model_construct`, as Beanie documents need one to be validated)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from beanie import PydanticObjectId

from models.enums import (
    Gateway,
    PaymentMethodType,
    PaymentStatus,
    ReconciliationTrigger,
    RefundReason,
    RefundStatus,
)
from models.events_out import EventType, OutboxEntry
from models.money import Money
from models.payment import Payment
from models.reconciliation import ReconciliationFinding, ReconciliationReport
from models.refund import Refund
from services.events_out import (
    late_payment,
    payment_changed,
    reconciliation_issues,
    refund_changed,
)
from services.events_out.payloads import PAYMENT_EVENT_TYPES, REFUND_EVENT_TYPES

AT = datetime(2026, 11, 30, 10, 15, 2, 120000, tzinfo=UTC)


def payment(status: PaymentStatus = PaymentStatus.COMPLETED, **fields: Any) -> Payment:
    values: dict[str, Any] = {
        "id": PydanticObjectId("674ae0f1c2a4b5d6e7f80912"),
        "order_id": "order-1042",
        "customer_id": "cust-7",
        "amount": Money(amount_minor=149900, currency="INR"),
        "gateway": Gateway.RAZORPAY,
        "method_type": PaymentMethodType.CARD,
        "status": status,
        "gateway_order_id": "order_Pq8XyZ12abCDef",
        "gateway_payment_id": "pay_Pq8Y0aB3cdEFgh",
        "attempt_count": 1,
        "request_fingerprint": "f" * 64,
        "created_at": AT - timedelta(seconds=40),
        "updated_at": AT,
        "expires_at": AT + timedelta(minutes=59),
        "version": 3,
    }
    return Payment.model_construct(**{**values, **fields})


def refund(status: RefundStatus = RefundStatus.COMPLETED) -> Refund:
    return Refund.model_construct(
        id=PydanticObjectId("674ae2a7c2a4b5d6e7f80a31"),
        payment_id=PydanticObjectId("674ae0f1c2a4b5d6e7f80912"),
        order_id="order-1042",
        customer_id="cust-7",
        amount=Money(amount_minor=50000, currency="INR"),
        reason=RefundReason.CUSTOMER_REQUEST,
        status=status,
        gateway=Gateway.RAZORPAY,
        gateway_payment_id="pay_Pq8Y0aB3cdEFgh",
        gateway_refund_id="rfnd_Pq9A1bC4deFGhi" if status is not RefundStatus.PENDING else None,
        request_fingerprint="e" * 64,
        created_at=AT - timedelta(seconds=5),
        updated_at=AT,
        completed_at=AT if status in (RefundStatus.COMPLETED, RefundStatus.FAILED) else None,
        version=2,
    )


def report() -> ReconciliationReport:
    return ReconciliationReport.model_construct(
        id=PydanticObjectId("674ae3b0c2a4b5d6e7f80b77"),
        trigger=ReconciliationTrigger.CRON,
        started_at=AT - timedelta(seconds=3),
        finished_at=AT,
        mismatches=[
            ReconciliationFinding(
                kind="AMOUNT_MISMATCH",
                payment_id=PydanticObjectId("674ae0f1c2a4b5d6e7f80912"),
                order_id="order-1042",
                gateway=Gateway.RAZORPAY,
                gateway_order_id="order_Pq8XyZ12abCDef",
                gateway_payment_id="pay_Pq8Y0aB3cdEFgh",
                detail="the gateway captured another amount than we recorded",
                expected="1599.00 INR",
                actual="1499.00 INR",
                action="review: nothing was changed",
            )
        ],
    )


def entry_of(event_type: EventType) -> OutboxEntry:
    """The entry the code builds for `event_type` from the sample records."""
    for status, typed in PAYMENT_EVENT_TYPES.items():
        if typed is event_type:
            return payment_changed(payment(status), PaymentStatus.PENDING, AT)[0]
    for status, typed in REFUND_EVENT_TYPES.items():
        if typed is event_type:
            return refund_changed(refund(status), payment(), AT)[0]
    if event_type is EventType.PAYMENT_LATE_PAYMENT:
        return late_payment(
            payment(PaymentStatus.EXPIRED),
            at=AT,
            amount=Money(amount_minor=149900, currency="INR"),
            gateway_payment_id="pay_Pq8Y0aB3cdEFgh",
            action="REFUNDED",
        )
    assert event_type is EventType.RECONCILIATION_ISSUE_FOUND
    return reconciliation_issues(report(), [payment()])[0]
