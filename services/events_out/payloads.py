"""The catalog's events as outbox entries, built at the change from the records as written.

Field names are the GraphQL schema's (camelCase; the same Payment, Refund, Money and
ReconciliationFinding fields), so a shop reads one vocabulary whether it queries or listens;
tests/services/events_out/test_payloads.py holds them to schema.graphql. Left out of `payment`:
`timeline` and `refunds` (lists that grow; query them when needed) and `checkout` (browser
parameters, none of the backend's business). `version` is the resource's version after the
change: a receiver drops an event whose version is not above the last one it applied.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

from ulid import ULID

from models.enums import PaymentStatus, RefundStatus
from models.events_out import EventType, OutboxEntry
from models.money import Money
from models.payment import Payment
from models.reconciliation import ReconciliationFinding, ReconciliationReport
from models.refund import Refund

PAYMENT_EVENT_TYPES: Mapping[PaymentStatus, EventType] = {
    PaymentStatus.INITIATED: EventType.PAYMENT_INITIATED,
    PaymentStatus.AUTHORIZED: EventType.PAYMENT_AUTHORIZED,
    PaymentStatus.COMPLETED: EventType.PAYMENT_COMPLETED,
    PaymentStatus.FAILED: EventType.PAYMENT_FAILED,
    PaymentStatus.CANCELLED: EventType.PAYMENT_CANCELLED,
    PaymentStatus.EXPIRED: EventType.PAYMENT_EXPIRED,
    PaymentStatus.PARTIALLY_REFUNDED: EventType.PAYMENT_PARTIALLY_REFUNDED,
    PaymentStatus.REFUNDED: EventType.PAYMENT_REFUNDED,
}
"""A payment entering one of these statuses is told; PENDING (our record before the gateway
order) is not."""

REFUND_EVENT_TYPES: Mapping[RefundStatus, EventType] = {
    RefundStatus.PENDING: EventType.REFUND_CREATED,
    RefundStatus.COMPLETED: EventType.REFUND_COMPLETED,
    RefundStatus.FAILED: EventType.REFUND_FAILED,
}
"""PROCESSING (sent, not final) is not told: nothing a shop does depends on it."""


def new_event_id() -> str:
    """`evt_` + a ULID: unique across processes and sortable by creation time."""
    return f"evt_{ULID()}"


def iso(value: datetime | None) -> str | None:
    """Datetimes as GraphQL's DateTime shows them."""
    return value.isoformat() if value is not None else None


def _name(value: StrEnum | None) -> str | None:
    return value.value if value is not None else None


def money_data(value: Money) -> dict[str, Any]:
    return {
        "amount": value.to_decimal_string(),
        "currency": value.currency,
        "minor": value.amount_minor,
    }


def payment_data(payment: Payment) -> dict[str, Any]:
    return {
        "id": str(payment.id),
        "orderId": payment.order_id,
        "customerId": payment.customer_id,
        "status": payment.status.value,
        "amount": money_data(payment.amount),
        "refundedAmount": money_data(payment.refunded_amount),
        "capturedAmount": money_data(payment.captured_amount),
        "latePayments": [
            {
                "gatewayPaymentId": late.gateway_payment_id,
                "amount": money_data(late.amount),
                "kind": late.kind.value,
                "action": late.action.value,
                "refundId": str(late.refund_id) if late.refund_id else None,
                "detectedAt": iso(late.detected_at),
                "detectedBy": late.source.value,
            }
            for late in payment.late_payments
        ],
        "gateway": _name(payment.gateway),
        "methodType": payment.method_type.value,
        "gatewayOrderId": payment.gateway_order_id,
        "gatewayPaymentId": payment.gateway_payment_id,
        "attemptCount": payment.attempt_count,
        "installments": payment.installments,
        "errorCode": payment.error_code,
        "errorMessage": payment.error_message,
        "createdAt": iso(payment.created_at),
        "updatedAt": iso(payment.updated_at),
        "expiresAt": iso(payment.expires_at),
        "version": payment.version,
    }


def refund_data(refund: Refund) -> dict[str, Any]:
    return {
        "id": str(refund.id),
        "paymentId": str(refund.payment_id),
        "orderId": refund.order_id,
        "amount": money_data(refund.amount),
        "reason": refund.reason.value,
        "source": refund.source.value,
        "status": refund.status.value,
        "gateway": refund.gateway.value,
        "gatewayRefundId": refund.gateway_refund_id,
        "errorCode": refund.error_code,
        "errorMessage": refund.error_message,
        "createdAt": iso(refund.created_at),
        "updatedAt": iso(refund.updated_at),
        "completedAt": iso(refund.completed_at),
        "version": refund.version,
    }


def finding_data(finding: ReconciliationFinding) -> dict[str, Any]:
    return {
        "kind": finding.kind,
        "paymentId": str(finding.payment_id) if finding.payment_id else None,
        "refundId": str(finding.refund_id) if finding.refund_id else None,
        "orderId": finding.order_id,
        "gateway": _name(finding.gateway),
        "gatewayOrderId": finding.gateway_order_id,
        "gatewayPaymentId": finding.gateway_payment_id,
        "gatewayRefundId": finding.gateway_refund_id,
        "detail": finding.detail,
        "expected": finding.expected,
        "actual": finding.actual,
        "action": finding.action,
    }


def _entry(
    event_type: EventType, at: datetime, resource_id: str, version: int, data: dict[str, Any]
) -> OutboxEntry:
    return OutboxEntry(
        id=new_event_id(),
        type=event_type,
        timestamp=at,
        resource_id=resource_id,
        version=version,
        data=data,
    )


def payment_changed(
    payment: Payment, from_status: PaymentStatus | None, at: datetime
) -> list[OutboxEntry]:
    """The event of a payment write (`payment` as written): one when its status changed, and
    for every further partial refund (money moved, the status stays); none otherwise."""
    event_type = PAYMENT_EVENT_TYPES.get(payment.status)
    moved = payment.status is not from_status or payment.status is PaymentStatus.PARTIALLY_REFUNDED
    if event_type is None or not moved:
        return []
    return [
        _entry(event_type, at, str(payment.id), payment.version, {"payment": payment_data(payment)})
    ]


def refund_changed(refund: Refund, payment: Payment, at: datetime) -> list[OutboxEntry]:
    """The event of a refund entering its status (`refund` and its payment as written)."""
    event_type = REFUND_EVENT_TYPES.get(refund.status)
    if event_type is None:
        return []
    data = {"refund": refund_data(refund), "payment": payment_data(payment)}
    return [_entry(event_type, at, str(refund.id), refund.version, data)]


def late_payment(
    payment: Payment, *, at: datetime, amount: Money, gateway_payment_id: str, action: str
) -> OutboxEntry:
    """payment.late_payment: money arrived at the gateway for a payment we had closed
    (CANCELLED, EXPIRED, FAILED). `payment` is the payment as the same write leaves it; `action`
    is what LATE_PAYMENT_POLICY did about it (REFUNDED, VOIDED, LAPSING or ACCEPTED). The caller
    pushes it into the payment's outbox in that write."""
    data = {
        "payment": payment_data(payment),
        "latePayment": {
            "amount": money_data(amount),
            "gatewayPaymentId": gateway_payment_id,
            "action": action,
        },
    }
    return _entry(EventType.PAYMENT_LATE_PAYMENT, at, str(payment.id), payment.version, data)


def reconciliation_issues(
    report: ReconciliationReport, payments: Iterable[Payment]
) -> list[OutboxEntry]:
    """One reconciliation.issue_found per issue of a stored report, with the payment it is
    about (as the run left it) when there is one; inserted with the report."""
    by_id = {payment.id: payment for payment in payments}
    at = report.finished_at or report.started_at
    entries = []
    for finding in report.mismatches:
        payment = by_id.get(finding.payment_id) if finding.payment_id else None
        data: dict[str, Any] = {
            "reportId": str(report.id),
            "issue": finding_data(finding),
            "payment": payment_data(payment) if payment is not None else None,
        }
        resource_id = str(payment.id) if payment is not None else str(report.id)
        version = payment.version if payment is not None else 0
        entries.append(_entry(EventType.RECONCILIATION_ISSUE_FOUND, at, resource_id, version, data))
    return entries
