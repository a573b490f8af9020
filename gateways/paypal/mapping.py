"""PayPal JSON -> gateway-neutral DTOs, and PayPal error answers -> the base error split.

Status tables are total over the enums PayPal documents; a value outside them is a
PayPalFormatError (a ValueError) rather than a silent guess.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypeVar

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
)
from gateways.paypal.money import MoneyFormatError, from_paypal_value

PAYPAL = Gateway.PAYPAL
_T = TypeVar("_T")


class PayPalFormatError(ValueError):
    """A PayPal body (answer or webhook) that does not have the documented shape."""


# Orders v2 `order_status`. COMPLETED is refined by the capture status (see order_status()).
ORDER_STATUS: dict[str, GatewayOrderStatus] = {
    "CREATED": GatewayOrderStatus.CREATED,
    "SAVED": GatewayOrderStatus.CREATED,
    "PAYER_ACTION_REQUIRED": GatewayOrderStatus.CREATED,
    "APPROVED": GatewayOrderStatus.APPROVED,
    "VOIDED": GatewayOrderStatus.VOIDED,
    "COMPLETED": GatewayOrderStatus.PAID,
}

# Payments v2 capture status. Only COMPLETED (and its refunded forms: money captured, then
# refunds tracked as refunds) is money taken; PENDING (held for review) has not moved yet;
# DECLINED/FAILED, and DENIED as PAYMENT.CAPTURE.DENIED names the outcome, took nothing;
# REVERSED is a capture taken back by a chargeback.
CAPTURE_STATUS: dict[str, GatewayPaymentStatus] = {
    "COMPLETED": GatewayPaymentStatus.CAPTURED,
    "PARTIALLY_REFUNDED": GatewayPaymentStatus.CAPTURED,
    "REFUNDED": GatewayPaymentStatus.REFUNDED,
    "PENDING": GatewayPaymentStatus.PENDING,
    "DECLINED": GatewayPaymentStatus.FAILED,
    "DENIED": GatewayPaymentStatus.FAILED,
    "FAILED": GatewayPaymentStatus.FAILED,
    "REVERSED": GatewayPaymentStatus.REVERSED,
}
_MONEY_MOVED = frozenset({"COMPLETED", "PARTIALLY_REFUNDED", "REFUNDED"})
# Captured at some point: the money moved, even if a chargeback took it back since.
_CAPTURED_ONCE = _MONEY_MOVED | {"REVERSED"}

# Payments v2 refund status.
REFUND_STATUS: dict[str, GatewayRefundStatus] = {
    "COMPLETED": GatewayRefundStatus.PROCESSED,
    "PENDING": GatewayRefundStatus.PENDING,
    "FAILED": GatewayRefundStatus.FAILED,
    "CANCELLED": GatewayRefundStatus.FAILED,
}

# Webhook event types we act on. Anything else normalises to UNKNOWN (stored, not applied).
# CHECKOUT.ORDER.COMPLETED is refined by its capture's status (see to_event()): "a completed
# order can indicate ... a payment was declined".
EVENT_KINDS: dict[str, GatewayEventKind] = {
    "CHECKOUT.ORDER.APPROVED": GatewayEventKind.ORDER_APPROVED,
    "CHECKOUT.ORDER.COMPLETED": GatewayEventKind.ORDER_PAID,
    "PAYMENT.CAPTURE.COMPLETED": GatewayEventKind.PAYMENT_CAPTURED,
    "PAYMENT.CAPTURE.PENDING": GatewayEventKind.PAYMENT_PENDING,
    "PAYMENT.CAPTURE.DENIED": GatewayEventKind.PAYMENT_FAILED,
    "PAYMENT.CAPTURE.DECLINED": GatewayEventKind.PAYMENT_FAILED,
    "PAYMENT.CAPTURE.REFUNDED": GatewayEventKind.REFUND_PROCESSED,
    "PAYMENT.CAPTURE.REVERSED": GatewayEventKind.PAYMENT_REVERSED,
}
# What a capture's status says about the payment, for events that carry a capture.
_CAPTURE_EVENT_KINDS: dict[GatewayPaymentStatus, GatewayEventKind] = {
    GatewayPaymentStatus.CAPTURED: GatewayEventKind.PAYMENT_CAPTURED,
    GatewayPaymentStatus.REFUNDED: GatewayEventKind.PAYMENT_CAPTURED,
    GatewayPaymentStatus.PENDING: GatewayEventKind.PAYMENT_PENDING,
    GatewayPaymentStatus.FAILED: GatewayEventKind.PAYMENT_FAILED,
    GatewayPaymentStatus.REVERSED: GatewayEventKind.PAYMENT_REVERSED,
}


# Events that report a capture's status (a reversal is reported as such whatever it carries).
_CAPTURE_STATUS_EVENTS = frozenset(
    {
        GatewayEventKind.PAYMENT_CAPTURED,
        GatewayEventKind.PAYMENT_PENDING,
        GatewayEventKind.PAYMENT_FAILED,
    }
)


def _order_completed_kind(capture: GatewayPayment | None) -> GatewayEventKind:
    if capture is None:
        return GatewayEventKind.UNKNOWN
    if capture.status is GatewayPaymentStatus.CAPTURED:
        return GatewayEventKind.ORDER_PAID
    return _CAPTURE_EVENT_KINDS[capture.status]


def reversal_id(capture_id: str) -> str:
    """The id we file a capture's reversal (chargeback) under when PayPal names only the
    capture. A reversal happens at most once per capture; the "-" keeps it apart from any id
    PayPal issues ([A-Z0-9] only)."""
    return f"{capture_id}-REVERSAL"


# --- small typed accessors over parsed JSON -------------------------------------------------


def _obj(value: object, what: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise PayPalFormatError(f"{what}: expected an object")
    return value


def _list(value: object, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise PayPalFormatError(f"{what}: expected an array")
    return value


def _str(obj: Mapping[str, Any], key: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        raise PayPalFormatError(f"missing string field {key!r}")
    return value


def _opt_str(obj: Mapping[str, Any], key: str) -> str | None:
    value = obj.get(key)
    return value if isinstance(value, str) and value else None


def _amount(obj: Mapping[str, Any], what: str) -> tuple[int, str]:
    amount = _obj(obj.get("amount"), f"{what}.amount")
    currency = _str(amount, "currency_code")
    try:
        return from_paypal_value(_str(amount, "value"), currency), currency
    except MoneyFormatError as exc:
        raise PayPalFormatError(f"{what}.amount: {exc}") from exc


def _link(obj: Mapping[str, Any], *rels: str) -> str | None:
    for link in _list(obj.get("links"), "links"):
        if isinstance(link, dict) and link.get("rel") in rels and isinstance(link.get("href"), str):
            return str(link["href"])
    return None


def _last_segment(url: str | None) -> str | None:
    return url.rstrip("/").rsplit("/", 1)[-1] if url else None


def parse_time(value: object) -> int | None:
    """RFC 3339 (PayPal's create_time) -> unix seconds; None when absent or unreadable."""
    if not isinstance(value, str):
        return None
    try:
        return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())
    except ValueError:
        return None


def _lookup(table: Mapping[str, _T], status: object, what: str) -> _T:
    if not isinstance(status, str) or status not in table:
        raise PayPalFormatError(f"unknown {what} status {status!r}")
    return table[status]


# --- orders, captures, refunds --------------------------------------------------------------


def _purchase_unit(order: Mapping[str, Any]) -> Mapping[str, Any] | None:
    units = _list(order.get("purchase_units"), "purchase_units")
    return _obj(units[0], "purchase_units[0]") if units else None


def order_captures(order: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    unit = _purchase_unit(order)
    if unit is None:
        return []
    payments = unit.get("payments")
    if payments is None:
        return []
    captures = _list(_obj(payments, "payments").get("captures"), "payments.captures")
    return [_obj(c, "capture") for c in captures]


def order_refunds(order: Mapping[str, Any], capture_id: str) -> list[GatewayRefund]:
    """The refunds of one capture, read from the order's payments.refunds (each names its
    capture in links rel=up)."""
    unit = _purchase_unit(order)
    if unit is None or unit.get("payments") is None:
        return []
    found = []
    for raw in _list(_obj(unit["payments"], "payments").get("refunds"), "payments.refunds"):
        refund = _obj(raw, "refund")
        if _last_segment(_link(refund, "up")) == capture_id:
            found.append(to_refund(refund, payment_id=capture_id))
    return found


def order_refunded_minor(order: Mapping[str, Any], capture_id: str) -> int:
    """Sum of COMPLETED refunds of one capture, read from the order's payments.refunds."""
    return sum(
        refund.amount_minor
        for refund in order_refunds(order, capture_id)
        if refund.status is GatewayRefundStatus.PROCESSED
    )


def capture_refunds(capture: Mapping[str, Any], order: Mapping[str, Any]) -> list[GatewayRefund]:
    """Every refund of a capture, and its reversal (a chargeback) as one more, marked
    `reversal`, for what the refunds had left: the money PayPal returned, whoever asked."""
    capture_id = _str(capture, "id")
    refunds = order_refunds(order, capture_id)
    if capture.get("status") == "REVERSED":
        amount_minor, currency = _amount(capture, "capture")
        refunded = sum(r.amount_minor for r in refunds if r.status is GatewayRefundStatus.PROCESSED)
        refunds.append(
            GatewayRefund(
                gateway=PAYPAL,
                id=reversal_id(capture_id),
                payment_id=capture_id,
                amount_minor=amount_minor - refunded,
                currency=currency,
                status=GatewayRefundStatus.PROCESSED,
                reversal=True,
            )
        )
    return refunds


def order_status(order: Mapping[str, Any]) -> GatewayOrderStatus:
    status = _lookup(ORDER_STATUS, order.get("status"), "order")
    if status is GatewayOrderStatus.PAID and not any(
        c.get("status") in _MONEY_MOVED for c in order_captures(order)
    ):
        # "A completed order can indicate ... a payment was declined" (Orders v2).
        return GatewayOrderStatus.ATTEMPTED
    return status


def order_reference(order: Mapping[str, Any]) -> str | None:
    unit = _purchase_unit(order)
    if unit is None:
        return None
    reference = _opt_str(unit, "custom_id") or _opt_str(unit, "invoice_id")
    if reference is None:
        ref_id = _opt_str(unit, "reference_id")
        reference = ref_id if ref_id != "default" else None
    return reference


def to_order(order: Mapping[str, Any]) -> GatewayOrder:
    unit = _purchase_unit(order)
    if unit is None:
        raise PayPalFormatError("order without purchase_units")
    amount_minor, currency = _amount(unit, "purchase_units[0]")
    captures = order_captures(order)
    paid = sum(_amount(c, "capture")[0] for c in captures if c.get("status") in _MONEY_MOVED)
    return GatewayOrder(
        gateway=PAYPAL,
        id=_str(order, "id"),
        reference=order_reference(order),
        amount_minor=amount_minor,
        currency=currency,
        status=order_status(order),
        amount_paid_minor=paid,
        attempts=len(captures),
        approve_url=_link(order, "approve", "payer-action"),
        capture_id=_opt_str(captures[0], "id") if captures else None,
    )


def to_payment(
    capture: Mapping[str, Any], *, order_id: str | None = None, refunded_minor: int = 0
) -> GatewayPayment:
    raw_status = capture.get("status")
    status = _lookup(CAPTURE_STATUS, raw_status, "capture")
    amount_minor, currency = _amount(capture, "capture")
    related = capture.get("supplementary_data")
    if order_id is None and isinstance(related, dict):
        ids = related.get("related_ids")
        if isinstance(ids, dict):
            order_id = _opt_str(ids, "order_id")
    if order_id is None:
        order_id = _last_segment(_link(capture, "up"))
    details = capture.get("status_details")
    reason = _opt_str(details, "reason") if isinstance(details, dict) else None
    failed = status is GatewayPaymentStatus.FAILED
    # A reversal returns all the refunds had left: nothing of the capture is held any more.
    whole = raw_status in ("REFUNDED", "REVERSED")
    return GatewayPayment(
        gateway=PAYPAL,
        id=_str(capture, "id"),
        order_id=order_id,
        amount_minor=amount_minor,
        currency=currency,
        status=status,
        method="paypal",
        amount_refunded_minor=amount_minor if whole else refunded_minor,
        captured=raw_status in _CAPTURED_ONCE,
        error_code=str(raw_status) if failed else None,
        error_reason=reason if failed else None,
        created_at=parse_time(capture.get("create_time")),
    )


def to_refund(refund: Mapping[str, Any], *, payment_id: str | None = None) -> GatewayRefund:
    amount_minor, currency = _amount(refund, "refund")
    capture_id = payment_id or _last_segment(_link(refund, "up"))
    if capture_id is None:
        raise PayPalFormatError("refund without its capture (links rel=up)")
    details = refund.get("status_details")
    return GatewayRefund(
        gateway=PAYPAL,
        id=_str(refund, "id"),
        payment_id=capture_id,
        amount_minor=amount_minor,
        currency=currency,
        status=_lookup(REFUND_STATUS, refund.get("status"), "refund"),
        error_reason=_opt_str(details, "reason") if isinstance(details, dict) else None,
        reference=_opt_str(refund, "custom_id"),
    )


# --- webhooks -------------------------------------------------------------------------------


def to_event(envelope: Mapping[str, Any]) -> GatewayEvent:
    """Normalise a verified webhook envelope. The envelope id (WH-...) is the event id."""
    event_type = _str(envelope, "event_type")
    kind = EVENT_KINDS.get(event_type, GatewayEventKind.UNKNOWN)
    resource = _obj(envelope.get("resource"), "resource")
    resource_type = envelope.get("resource_type")
    event_id = _str(envelope, "id")
    created_at = parse_time(envelope.get("create_time"))
    if resource_type == "checkout-order" or event_type.startswith("CHECKOUT.ORDER."):
        unit = _purchase_unit(resource)
        amount_minor, currency = (
            _amount(unit, "purchase_units[0]") if unit is not None else (None, None)
        )
        captures = order_captures(resource)
        capture = to_payment(captures[0]) if captures else None
        if kind is GatewayEventKind.ORDER_PAID:
            # Paid only when its capture is COMPLETED; a pending or declined capture says so.
            kind = _order_completed_kind(capture)
        failed = kind is GatewayEventKind.PAYMENT_FAILED and capture is not None
        return GatewayEvent(
            gateway=PAYPAL,
            event_id=event_id,
            kind=kind,
            raw_type=event_type,
            order_id=_str(resource, "id"),
            payment_id=capture.id if capture else None,
            reference=order_reference(resource),
            amount_minor=amount_minor,
            currency=currency,
            error_code=capture.error_code if failed and capture else None,
            error_reason=capture.error_reason if failed and capture else None,
            created_at=created_at,
        )
    if resource_type == "refund":
        refund = to_refund(resource)
        return GatewayEvent(
            gateway=PAYPAL,
            event_id=event_id,
            kind=kind,
            raw_type=event_type,
            payment_id=refund.payment_id,
            refund_id=refund.id,
            refund_reference=refund.reference,
            amount_minor=refund.amount_minor,
            currency=refund.currency,
            created_at=created_at,
        )
    payment = to_payment(resource)
    if kind in _CAPTURE_STATUS_EVENTS:
        # The capture's own status is the truth; the event name only says what changed.
        kind = _CAPTURE_EVENT_KINDS[payment.status]
    failed = kind is GatewayEventKind.PAYMENT_FAILED
    reversed_ = kind is GatewayEventKind.PAYMENT_REVERSED
    return GatewayEvent(
        gateway=PAYPAL,
        event_id=event_id,
        kind=kind,
        raw_type=event_type,
        order_id=payment.order_id,
        payment_id=payment.id,
        refund_id=reversal_id(payment.id) if reversed_ else None,
        reference=_opt_str(resource, "custom_id") or _opt_str(resource, "invoice_id"),
        amount_minor=payment.amount_minor,
        currency=payment.currency,
        error_code=(payment.error_code or event_type.rsplit(".", 1)[-1]) if failed else None,
        error_reason=payment.error_reason,
        created_at=created_at,
    )


# --- errors ---------------------------------------------------------------------------------


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def error_from_response(status: int, body: bytes, headers: Mapping[str, str]) -> GatewayError:
    """Map a non-2xx PayPal answer onto the error split.

    429 and 5xx are retryable (PayPal: a 5xx "might have created a transaction", which is
    why every POST carries a PayPal-Request-Id: the retry replays instead of acting again).
    409 PREVIOUS_REQUEST_IN_PROGRESS is retryable too. Every other 4xx is a rejection
    carrying details[0].issue (or the envelope name, or the OAuth `error`) as gateway_code.
    """
    debug_id = headers.get("paypal-debug-id")
    name: str | None = None
    reason: str | None = None
    issue: str | None = None
    field: str | None = None
    try:
        data = json.loads(body) if body else None
    except ValueError:
        data = None
    if isinstance(data, dict):
        name = _opt_str(data, "name") or _opt_str(data, "error")
        reason = _opt_str(data, "message") or _opt_str(data, "error_description")
        details = data.get("details")
        if isinstance(details, list) and details and isinstance(details[0], dict):
            issue = _opt_str(details[0], "issue")
            reason = _opt_str(details[0], "description") or reason
            field = _opt_str(details[0], "field")
        debug_id = debug_id or _opt_str(data, "debug_id")
    code = issue or name or f"HTTP_{status}"
    message = f"PayPal answered {status} {code}" + (f" (debug_id {debug_id})" if debug_id else "")
    if status == 429 or status >= 500 or code == "PREVIOUS_REQUEST_IN_PROGRESS":
        return GatewayUnavailable(PAYPAL, message, retry_after=_retry_after(headers))
    return GatewayRejected(
        PAYPAL, message, gateway_code=code, reason=reason, field=field, http_status=status
    )
