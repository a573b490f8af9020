"""Razorpay wire format -> the neutral DTOs and error split of gateways.base.

Every Razorpay status, event name and error body is classified here and nowhere else. Status
tables are total over the values Razorpay documents; an unknown value raises ValueError instead
of being guessed, and tests/gateways/test_razorpay_adapter.py checks each table is complete.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any

from gateways.base import (
    Gateway,
    GatewayError,
    GatewayEvent,
    GatewayEventKind,
    GatewayOrder,
    GatewayOrderStatus,
    GatewayPayment,
    GatewayPaymentStatus,
    GatewayRefund,
    GatewayRefundStatus,
    GatewayRejected,
    GatewayUnavailable,
    MethodKind,
)

GATEWAY = Gateway.RAZORPAY

ORDER_STATUSES: Mapping[str, GatewayOrderStatus] = {
    "created": GatewayOrderStatus.CREATED,
    "attempted": GatewayOrderStatus.ATTEMPTED,
    "paid": GatewayOrderStatus.PAID,
}

# `refunded` means refunded after capture only when `captured` is true; see payment_status().
PAYMENT_STATUSES: Mapping[str, GatewayPaymentStatus] = {
    "created": GatewayPaymentStatus.CREATED,
    "authorized": GatewayPaymentStatus.AUTHORIZED,
    "captured": GatewayPaymentStatus.CAPTURED,
    "refunded": GatewayPaymentStatus.REFUNDED,
    "failed": GatewayPaymentStatus.FAILED,
}

REFUND_STATUSES: Mapping[str, GatewayRefundStatus] = {
    "pending": GatewayRefundStatus.PENDING,
    "processed": GatewayRefundStatus.PROCESSED,
    "failed": GatewayRefundStatus.FAILED,
}

# Events we act on; any other Razorpay event verifies fine and normalises to UNKNOWN. A refund
# event whose payment was never captured is Razorpay's auto-refund of an authorization nobody
# captured, not a refund of money taken: see event_kind().
EVENT_KINDS: Mapping[str, GatewayEventKind] = {
    "payment.authorized": GatewayEventKind.PAYMENT_AUTHORIZED,
    "payment.captured": GatewayEventKind.PAYMENT_CAPTURED,
    "payment.failed": GatewayEventKind.PAYMENT_FAILED,
    "order.paid": GatewayEventKind.ORDER_PAID,
    "refund.created": GatewayEventKind.REFUND_CREATED,
    "refund.processed": GatewayEventKind.REFUND_PROCESSED,
    "refund.failed": GatewayEventKind.REFUND_FAILED,
}

METHODS: Mapping[MethodKind, str] = {
    MethodKind.CARD: "card",
    MethodKind.UPI: "upi",
    MethodKind.NETBANKING: "netbanking",
    MethodKind.WALLET: "wallet",
    MethodKind.EMI: "emi",
}

# Keys the adapter adds to order notes so a Razorpay-side record leads back to us.
NOTE_REFERENCE = "paygraph_reference"
# The note our refund requests carry with our refund id (services/refunds/send.py).
NOTE_REFUND = "refund_id"
NOTE_CUSTOMER = "paygraph_customer_id"

# Razorpay fills source/step/reason with "NA" when they do not apply; we carry None instead.
_NOT_APPLICABLE = "NA"
_IN_PROGRESS_MARKER = "still in progress"


def _na(value: object) -> str | None:
    if isinstance(value, str) and value and value != _NOT_APPLICABLE:
        return value
    return None


def _obj(value: object, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"Razorpay {what} is not a JSON object")
    return value


def _req_str(entity: Mapping[str, Any], key: str) -> str:
    value = entity.get(key)
    if not isinstance(value, str) or not value:
        raise ValueError(f"Razorpay entity field {key!r} is missing or not a string")
    return value


def _opt_str(entity: Mapping[str, Any], key: str) -> str | None:
    value = entity.get(key)
    return value if isinstance(value, str) and value else None


def _req_int(entity: Mapping[str, Any], key: str) -> int:
    value = entity.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"Razorpay entity field {key!r} is missing or not an integer")
    return value


def _opt_int(entity: Mapping[str, Any], key: str) -> int | None:
    value = entity.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


def _status(table: Mapping[str, Any], entity: Mapping[str, Any], what: str) -> Any:
    raw = _req_str(entity, "status")
    try:
        return table[raw]
    except KeyError:
        raise ValueError(f"unclassified Razorpay {what} status {raw!r}") from None


def parse_json(body: bytes) -> dict[str, Any]:
    """Decode a JSON object; ValueError for anything else."""
    try:
        decoded = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"body is not JSON: {exc}") from None
    return _obj(decoded, "body")


def order_from_entity(entity: Mapping[str, Any]) -> GatewayOrder:
    amount = _req_int(entity, "amount")
    return GatewayOrder(
        gateway=GATEWAY,
        id=_req_str(entity, "id"),
        reference=_opt_str(entity, "receipt"),
        amount_minor=amount,
        currency=_req_str(entity, "currency"),
        status=_status(ORDER_STATUSES, entity, "order"),
        amount_paid_minor=_opt_int(entity, "amount_paid") or 0,
        attempts=_opt_int(entity, "attempts") or 0,
    )


def payment_status(entity: Mapping[str, Any]) -> GatewayPaymentStatus:
    """The payment's status. Razorpay's `refunded` with `captured: false` is its refund of an
    authorization nobody captured in time (default 3 days after creation): no money was taken,
    so it is VOIDED, never a capture that was refunded."""
    status: GatewayPaymentStatus = _status(PAYMENT_STATUSES, entity, "payment")
    if status is GatewayPaymentStatus.REFUNDED and entity.get("captured") is not True:
        return GatewayPaymentStatus.VOIDED
    return status


def payment_from_entity(entity: Mapping[str, Any]) -> GatewayPayment:
    card = entity.get("card")
    card_last4 = card_network = None
    if isinstance(card, dict):
        card_last4 = _opt_str(card, "last4")
        card_network = _opt_str(card, "network")
    return GatewayPayment(
        gateway=GATEWAY,
        id=_req_str(entity, "id"),
        order_id=_opt_str(entity, "order_id"),
        amount_minor=_req_int(entity, "amount"),
        currency=_req_str(entity, "currency"),
        status=payment_status(entity),
        method=_opt_str(entity, "method"),
        amount_refunded_minor=_opt_int(entity, "amount_refunded") or 0,
        captured=entity.get("captured") is True,
        error_code=_opt_str(entity, "error_code"),
        error_reason=_na(entity.get("error_reason")),
        error_description=_opt_str(entity, "error_description"),
        card_last4=card_last4,
        card_network=card_network,
        token_id=_opt_str(entity, "token_id"),
        created_at=_opt_int(entity, "created_at"),
    )


def refund_from_entity(entity: Mapping[str, Any]) -> GatewayRefund:
    return GatewayRefund(
        gateway=GATEWAY,
        id=_req_str(entity, "id"),
        payment_id=_req_str(entity, "payment_id"),
        amount_minor=_req_int(entity, "amount"),
        currency=_req_str(entity, "currency"),
        status=_status(REFUND_STATUSES, entity, "refund"),
        error_reason=_na(entity.get("error_reason")),
        reference=_note(entity, NOTE_REFUND),
    )


def customer_id(entity: Mapping[str, Any]) -> str:
    if entity.get("entity") != "customer":
        raise ValueError("Razorpay answer is not a customer")
    return _req_str(entity, "id")


def collection_items(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    items = body.get("items")
    if body.get("entity") != "collection" or not isinstance(items, list):
        raise ValueError("Razorpay response is not a collection")
    return [_obj(item, "collection item") for item in items]


def _payload_entity(payload: Mapping[str, Any], name: str) -> dict[str, Any] | None:
    wrapper = payload.get(name)
    if wrapper is None:
        return None
    return _obj(_obj(wrapper, f"payload.{name}").get("entity"), f"payload.{name}.entity")


def _note(entity: Mapping[str, Any] | None, name: str) -> str | None:
    notes = entity.get("notes") if entity else None
    if isinstance(notes, dict):  # an empty notes object arrives as [] (PHP arrays)
        value = notes.get(name)
        if isinstance(value, str) and value:
            return value
    return None


def _notes_reference(*entities: Mapping[str, Any] | None) -> str | None:
    return next(filter(None, (_note(entity, NOTE_REFERENCE) for entity in entities)), None)


def event_kind(
    raw_type: str, payment: Mapping[str, Any] | None, refund: Mapping[str, Any] | None
) -> GatewayEventKind:
    """What the event means. Razorpay sends its auto-refund of an uncaptured authorization as
    refund.created / refund.processed; "to identify an auto-refund, check
    payload.payment.entity.captured ... false" (its refund webhook docs). Those say the
    authorization was voided; a failed auto-refund says nothing we act on."""
    kind = EVENT_KINDS.get(raw_type, GatewayEventKind.UNKNOWN)
    if refund is not None and payment is not None and payment.get("captured") is False:
        if kind in (GatewayEventKind.REFUND_CREATED, GatewayEventKind.REFUND_PROCESSED):
            return GatewayEventKind.PAYMENT_VOIDED
        return GatewayEventKind.UNKNOWN
    return kind


def event_from_envelope(event_id: str, envelope: Mapping[str, Any]) -> GatewayEvent:
    """Normalise a verified webhook body. ValueError when the envelope is not Razorpay's."""
    if envelope.get("entity") != "event":
        raise ValueError("webhook body is not a Razorpay event envelope")
    raw_type = _req_str(envelope, "event")
    payload = _obj(envelope.get("payload"), "webhook payload")
    payment = _payload_entity(payload, "payment")
    order = _payload_entity(payload, "order")
    refund = _payload_entity(payload, "refund")

    amount: int | None = None
    currency: str | None = None
    source = refund or payment or order
    if source is not None:
        amount = _opt_int(source, "amount")
        currency = _opt_str(source, "currency")
    if order is not None and refund is None and payment is None:
        amount = _opt_int(order, "amount_paid")

    order_id = None
    if order is not None:
        order_id = _opt_str(order, "id")
    elif payment is not None:
        order_id = _opt_str(payment, "order_id")

    reference = (_opt_str(order, "receipt") if order else None) or _notes_reference(order, payment)
    return GatewayEvent(
        gateway=GATEWAY,
        event_id=event_id,
        kind=event_kind(raw_type, payment, refund),
        raw_type=raw_type,
        order_id=order_id,
        payment_id=(_opt_str(payment, "id") if payment else None)
        or (_opt_str(refund, "payment_id") if refund else None),
        refund_id=_opt_str(refund, "id") if refund else None,
        reference=reference,
        refund_reference=_note(refund, NOTE_REFUND),
        amount_minor=amount,
        currency=currency,
        error_code=_opt_str(payment, "error_code") if payment else None,
        error_reason=_na(payment.get("error_reason")) if payment else None,
        created_at=_opt_int(envelope, "created_at"),
    )


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """Retry-After as delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def error_for_response(
    status_code: int, body: bytes, *, retry_after: str | None = None
) -> GatewayError:
    """Classify a non-2xx answer.

    429 and 5xx (JSON or not) are GatewayUnavailable. A 409 "still in progress" on a refund is
    also retryable with the same idempotency key. Every other 4xx with Razorpay's error envelope
    is GatewayRejected carrying code/reason/field; a 409 without a reason gets
    reason="idempotency_conflict" so callers need not read HTTP statuses.
    """
    error: dict[str, Any] = {}
    try:
        error = _obj(parse_json(body).get("error"), "error")
    except ValueError:
        error = {}
    description = error.get("description")
    message = description if isinstance(description, str) and description else None

    if status_code == 429 or status_code >= 500:
        return GatewayUnavailable(
            GATEWAY,
            message or f"Razorpay answered HTTP {status_code}",
            retry_after=retry_after_seconds(retry_after),
        )
    if status_code == 409 and message and _IN_PROGRESS_MARKER in message:
        return GatewayUnavailable(GATEWAY, message, retry_after=retry_after_seconds(retry_after))

    code = error.get("code")
    field = error.get("field")
    reason = _na(error.get("reason"))
    if status_code == 409 and reason is None:
        reason = "idempotency_conflict"
    return GatewayRejected(
        GATEWAY,
        message or f"Razorpay answered HTTP {status_code}",
        gateway_code=code if isinstance(code, str) and code else f"HTTP_{status_code}",
        reason=reason,
        field=field if isinstance(field, str) and field else None,
        http_status=status_code,
    )
