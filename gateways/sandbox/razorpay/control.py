"""`/_control`: `GET` shows the simulator's state, `POST` changes it. Actions (JSON body,
"action" picks one):

- {"action": "reset"}: forget every entity, fault, setting and webhook record (common to
   every sandbox, see common/http.py).
- {"action": "fault", "path": "/v1/orders" (fnmatch pattern, e.g. "/v1/payments/*/refund"),
   "method": "POST"|null (any), "status": 429|500|503|...|null (answer normally),
   "delay": seconds, "count": N (default 1), "phase": "before"|"after",
   "retry_after": seconds|null, "body": "json"|"html", "skip": M (default 0)}: after
   letting M matching requests through, the next N fail. With "rate": 0.3 (and "seed"),
   each matching request fails with that probability, deterministically for a seed.
   "before" reads the request, waits `delay`, then answers `status` without processing (or,
   with no status, processes it late); "after" processes first, then waits and/or replaces
   the answer - the way to make a caller time out on an order that exists.
- {"action": "clear_faults"}
- {"action": "configure", any of "refund_settle_seconds": seconds|null,
   "auto_capture": bool, "refund_mode": "processed"|"pending", "order_receipt_unique": bool,
   "webhooks": "deliver"|"drop"|"hold", "duplicate_webhooks": bool, "reorder_webhooks": bool}
- {"action": "release_webhooks", "order": "fifo"|"reverse"|"shuffle", "seed": any,
   "copies": 1-5, "concurrency": 1-64}: send held webhooks, each `copies` times (same event
   id, as Razorpay's redeliveries), over `concurrency` parallel lanes.
- {"action": "settle_refund", "refund_id": ..., "status": "processed"|"failed"}
- {"action": "late_authorize", "payment_id": ...}: failed -> authorized, with
   late_authorized: true on the payment.authorized webhook.
- {"action": "alter_payment", "payment_id": ..., "amount"?: N, "currency"?: C}: rewrite a
   payment's amount and/or currency (no webhook), so the merchant's record and Razorpay's
   disagree - the drift reconciliation must report, never copy over.
"""

from __future__ import annotations

import asyncio
import random

from starlette.requests import Request

from gateways.sandbox.common.faults import Fault
from gateways.sandbox.common.http import Json
from gateways.sandbox.razorpay.config import CURRENCIES
from gateways.sandbox.razorpay.state import Sandbox, Settings, refund_totals, sandbox_of
from gateways.sandbox.razorpay.webhooks import deliver_in_order, duplicate, emit


def snapshot(request: Request) -> Json:
    sandbox = sandbox_of(request)
    return {
        "settings": sandbox.settings.describe(),
        "faults": [_describe(fault) for fault in sandbox.faults],
        "held_webhooks": [hook.event for hook in sandbox.held],
        "deliveries": [
            {
                "event_id": d.event_id,
                "event": d.event,
                "attempts": d.attempts,
                "statuses": d.statuses,
                "delivered": d.delivered,
                "gave_up": d.gave_up,
                "dropped": d.dropped,
            }
            for d in sandbox.deliveries
        ],
        "counts": {
            "orders": len(sandbox.orders),
            "payments": len(sandbox.payments),
            "refunds": len(sandbox.refunds),
        },
    }


def _describe(fault: Fault) -> Json:
    return {
        "path": fault.path,
        "method": fault.method,
        "status": fault.status,
        "delay": fault.delay,
        "count": fault.count,
        "phase": fault.phase,
        "retry_after": fault.retry_after,
        "body": "html" if fault.html else "json",
        "skip": fault.skip,
    }


async def act(request: Request, body: Json) -> None:
    sandbox = sandbox_of(request)
    action = body.get("action")
    if action == "fault":
        sandbox.faults.append(_fault(body))
    elif action == "clear_faults":
        sandbox.faults.clear()
    elif action == "configure":
        _configure(sandbox.settings, body)
    elif action == "release_webhooks":
        _release_webhooks(sandbox, body)
    elif action == "settle_refund":
        settle_refund(sandbox, str(body["refund_id"]), body.get("status", "processed"))
    elif action == "late_authorize":
        _late_authorize(sandbox, str(body["payment_id"]))
    elif action == "alter_payment":
        _alter_payment(sandbox, str(body["payment_id"]), body)
    else:
        raise ValueError(f"unknown action {action!r}")


def _fault(body: Json) -> Fault:
    phase = body.get("phase", "before")
    status = body.get("status")
    if phase not in ("before", "after"):
        raise ValueError("phase must be before or after")
    if status is not None and not (isinstance(status, int) and 400 <= status <= 599):
        raise ValueError("status must be an HTTP error status or null")
    rate = body.get("rate")
    if rate is not None and not (isinstance(rate, int | float) and 0 < rate <= 1):
        raise ValueError("rate must be a share between 0 and 1")
    # A rate fault applies to that share of matching requests until cleared (or `count`).
    count = int(body.get("count", 1 if rate is None else 1_000_000))
    if count < 1:
        raise ValueError("count must be at least 1")
    retry_after = body.get("retry_after")
    return Fault(
        path=str(body["path"]),
        method=str(body["method"]).upper() if body.get("method") else None,
        status=status,
        delay=float(body.get("delay", 0.0)),
        count=count,
        phase=phase,
        retry_after=str(retry_after) if retry_after is not None else None,
        html=body.get("body") == "html",
        skip=int(body.get("skip", 0)),
        rate=float(rate) if rate is not None else None,
        rng=random.Random(body.get("seed")) if rate is not None else None,  # noqa: S311
    )


def _configure(settings: Settings, body: Json) -> None:
    choices: dict[str, tuple[object, ...]] = {
        "auto_capture": (True, False),
        "refund_mode": ("processed", "pending"),
        "order_receipt_unique": (True, False),
        "webhooks": ("deliver", "drop", "hold"),
        "duplicate_webhooks": (True, False),
        "reorder_webhooks": (True, False),
    }
    for key, value in body.items():
        if key == "action":
            continue
        if key == "refund_settle_seconds":
            if value is not None and not (isinstance(value, int | float) and 0 <= value <= 3600):
                raise ValueError("refund_settle_seconds must be 0-3600 seconds or null")
            settings.refund_settle_seconds = None if value is None else float(value)
            continue
        if key not in choices or value not in choices[key] or type(value) is int:
            raise ValueError(f"cannot set {key} to {value!r}")
        setattr(settings, key, value)


def _release_webhooks(sandbox: Sandbox, body: Json) -> None:
    held, sandbox.held = sandbox.held, []
    copies = int(body.get("copies", 1))
    if not 1 <= copies <= 5:
        raise ValueError("copies must be between 1 and 5")
    held = [
        twin
        for hook in held
        for twin in [hook, *(duplicate(sandbox, hook) for _ in range(copies - 1))]
    ]
    order = body.get("order", "fifo")
    if order == "reverse":
        held.reverse()
    elif order == "shuffle":
        random.Random(body.get("seed")).shuffle(held)  # noqa: S311 - test delivery order
    elif order != "fifo":
        raise ValueError("order must be fifo, reverse or shuffle")
    concurrency = int(body.get("concurrency", 1))
    if not 1 <= concurrency <= 64:
        raise ValueError("concurrency must be between 1 and 64")
    for lane in range(concurrency):
        sandbox.outbox.spawn(deliver_in_order(sandbox, held[lane::concurrency]))


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


def _late_authorize(sandbox: Sandbox, payment_id: str) -> None:
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


def _alter_payment(sandbox: Sandbox, payment_id: str, body: Json) -> None:
    payment = sandbox.payments.get(payment_id)
    if payment is None:
        raise ValueError(f"no payment {payment_id}")
    amount = body.get("amount", payment["amount"])
    currency = body.get("currency", payment["currency"])
    if not isinstance(amount, int) or isinstance(amount, bool) or amount < 100:
        raise ValueError("amount must be an integer of at least 100 minor units")
    if currency not in CURRENCIES:
        raise ValueError(f"currency must be one of {sorted(CURRENCIES)}")
    payment.update(amount=amount, currency=currency)
