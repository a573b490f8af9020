"""What happens to a payment after checkout besides our own API calls, and the refund path they
share with the API: refunds made (by POST /v1/payments/{id}/refund or "in the dashboard") and
settled, a bank's late authorization, and Razorpay's refund of an authorization nobody captured.

The auto-refund of an uncaptured authorization follows Razorpay's documentation: the payment
ends `status: "refunded"` with `captured: false` and `amount_refunded` equal to its amount, a
refund entity (rfnd_...) is made for the whole amount, and the refund webhooks refund.created
and refund.processed go out carrying that payment entity ("to identify an auto-refund, check
payload.payment.entity.captured ... false for an auto-refund", razorpay.com/docs/webhooks/
refunds). Razorpay documents no payment.* event for it, so the sandbox sends none.
"""

from __future__ import annotations

import asyncio
from typing import Any

from gateways.sandbox.common.http import Json
from gateways.sandbox.razorpay.state import Sandbox, new_id, refund_totals
from gateways.sandbox.razorpay.webhooks import emit


def make_refund(
    sandbox: Sandbox,
    payment: Json,
    amount: int,
    *,
    notes: Json | list[Any],
    receipt: object = None,
    speed: str = "normal",
) -> Json:
    """A refund of a captured payment for `amount` (already checked against what is left): the
    payment's totals move, the refund settles as the refund mode says, its webhooks go out."""
    refund = _refund_entity(sandbox, payment, amount, notes, receipt, speed)
    payment["amount_refunded"] += amount
    refund_totals(payment)
    events = [("refund.created", {"refund": refund, "payment": payment})]
    if sandbox.settings.refund_mode == "processed":
        refund["status"] = "processed"
        events[0] = (
            "refund.created",
            {"refund": dict(refund, status="pending"), "payment": payment},
        )
        events.append(("refund.processed", {"refund": refund, "payment": payment}))
    elif sandbox.settings.refund_settle_seconds is not None:
        sandbox.outbox.spawn(
            settle_later(sandbox, refund["id"], sandbox.settings.refund_settle_seconds)
        )
    emit(sandbox, events)
    return refund


def _refund_entity(
    sandbox: Sandbox,
    payment: Json,
    amount: int,
    notes: Json | list[Any],
    receipt: object,
    speed: str,
) -> Json:
    refund = {
        "id": new_id("rfnd"),
        "entity": "refund",
        "amount": amount,
        "currency": payment["currency"],
        "payment_id": payment["id"],
        "notes": notes,
        "receipt": receipt,
        "acquirer_data": {"arn": None},
        "created_at": sandbox.now(),
        "batch_id": None,
        "status": "pending",
        "speed_processed": "normal",
        "speed_requested": speed,
    }
    sandbox.add_refund(refund)
    return refund


def dashboard_refund(sandbox: Sandbox, payment_id: str, amount: object = None) -> Json:
    """A refund made in Razorpay's dashboard: the same refund as the API's, without our call
    (no idempotency key, notes or receipt of ours)."""
    payment = sandbox.payments.get(payment_id)
    if payment is None or payment["status"] != "captured":
        raise ValueError(f"no captured payment {payment_id} with anything left to refund")
    remaining = payment["amount"] - payment["amount_refunded"]
    if amount is None:
        amount = remaining
    if not isinstance(amount, int) or isinstance(amount, bool) or not 100 <= amount <= remaining:
        raise ValueError(f"amount must be an integer from 100 to {remaining} minor units")
    return make_refund(sandbox, payment, amount, notes=[])


async def settle_later(sandbox: Sandbox, refund_id: str, seconds: float) -> None:
    await asyncio.sleep(seconds)
    if sandbox.refunds.get(refund_id, {}).get("status") == "pending":
        settle_refund(sandbox, refund_id, "processed")


def settle_refund(sandbox: Sandbox, refund_id: str, status: object) -> None:
    refund = sandbox.refunds.get(refund_id)
    if refund is None or refund["status"] != "pending":
        raise ValueError(f"no pending refund {refund_id}")
    if status not in ("processed", "failed"):
        raise ValueError("status must be processed or failed")
    payment = sandbox.payments[refund["payment_id"]]
    refund["status"] = status
    if status == "failed":
        payment["amount_refunded"] -= refund["amount"]
        refund_totals(payment)
    emit(sandbox, [(f"refund.{status}", {"refund": refund, "payment": payment})])


def authorized(sandbox: Sandbox, payment: Json) -> None:
    """A payment was just authorized and not captured: with `auto_refund_uncaptured_seconds`
    set, Razorpay refunds it that long from now unless it was captured meanwhile."""
    seconds = sandbox.settings.auto_refund_uncaptured_seconds
    if seconds is not None:
        sandbox.outbox.spawn(_void_later(sandbox, payment["id"], seconds))


async def _void_later(sandbox: Sandbox, payment_id: str, seconds: float) -> None:
    await asyncio.sleep(seconds)
    payment = sandbox.payments.get(payment_id)
    if payment is not None and payment["status"] == "authorized":
        void_authorization(sandbox, payment_id)


def void_authorization(sandbox: Sandbox, payment_id: str) -> Json:
    """Razorpay's refund of an authorization nobody captured (see the module docstring)."""
    payment = sandbox.payments.get(payment_id)
    if payment is None or payment["status"] != "authorized":
        raise ValueError(f"no authorized, uncaptured payment {payment_id}")
    refund = _refund_entity(sandbox, payment, payment["amount"], [], None, "normal")
    refund["status"] = "processed"
    payment.update(status="refunded", amount_refunded=payment["amount"], refund_status="full")
    emit(
        sandbox,
        [
            ("refund.created", {"refund": dict(refund, status="pending"), "payment": payment}),
            ("refund.processed", {"refund": refund, "payment": payment}),
        ],
    )
    return refund


def late_authorize(sandbox: Sandbox, payment_id: str) -> None:
    """A bank's late authorization: failed -> authorized, with late_authorized: true on the
    payment.authorized webhook."""
    payment = sandbox.payments.get(payment_id)
    if payment is None or payment["status"] != "failed":
        raise ValueError(f"no failed payment {payment_id}")
    payment.update(
        status="authorized",
        late_authorized=True,
        error_code=None,
        error_description=None,
        error_source=None,
        error_step=None,
        error_reason=None,
    )
    emit(sandbox, [("payment.authorized", {"payment": payment})])
    authorized(sandbox, payment)
