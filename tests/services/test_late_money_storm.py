"""Storm: 300 payments, a random share cancelled, expired or failed for good before the customer
pays anyway; every webhook released three times in random order to the real worker, then
reconciliation. For every payment the money the gateway holds (captured minus refunded) equals
our record's, nothing is captured by us for a closed payment, and under the default
LATE_PAYMENT_POLICY=refund none of it is kept. The summary line is printed for the record."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest

from gateways.base import Gateway, GatewayPaymentStatus
from models.clock import utcnow
from models.enums import (
    PaymentStatus,
    ReconciliationTrigger,
    RefundStatus,
    TransitionSource,
    WebhookEventStatus,
)
from models.payment import Payment
from models.refund import Refund
from models.webhook_event import WebhookEvent
from tests.support.checkout import FAILING_CARD
from tests.support.payments import CUSTOMER, initiate
from tests.support.webhooks import eventually

PAYMENTS = 300
CHUNK = 12
HOLDS_MONEY = (GatewayPaymentStatus.CAPTURED, GatewayPaymentStatus.REFUNDED)


async def control(client: Any, **action: Any) -> None:
    response = await client.post("/sandbox/razorpay/_control", json=action)
    assert response.status_code == 200, response.text


async def pay(client: Any, order: str, card: str = "4100280000001007") -> dict[str, Any]:
    response = await client.post(
        f"/sandbox/razorpay/checkout/{order}/pay", json={"method": "card", "card_number": card}
    )
    answer: dict[str, Any] = response.json()
    return answer


async def one_payment(core: Any, client: Any, fate: str) -> str:
    """Initiate; close it as `fate` says (or not); then the customer pays."""
    initiated = await initiate(core, amount="300.00")
    payment = initiated.payment
    order = initiated.checkout.gateway_order_id
    if fate == "cancel":
        await core.payments.cancel(CUSTOMER, str(payment.id))
    elif fate == "expire":
        await core.payments.expire(payment, TransitionSource.EXPIRY, note="unpaid")
    elif fate == "fail":
        adapter = core.gateways.registry.get(Gateway.RAZORPAY)
        for _ in range(core.settings.payment_max_attempts):
            declined = await pay(client, order, FAILING_CARD)
            found = await adapter.fetch_payment(declined["error"]["metadata"]["payment_id"])
            payment = await core.payments.apply_gateway_payment(
                await Payment.get(payment.id), found, TransitionSource.API
            )
        assert core.payments.is_closed(payment)
    paid = await pay(client, order)  # for a closed payment: late money
    assert paid.get("razorpay_payment_id"), paid
    return str(payment.id)


@pytest.mark.timeout(600)
async def test_late_money_storm(client, core, worker, capsys):
    rng = random.Random(13)
    await control(client, action="reset")
    # Half of the money arrives as captures (auto-capture), half as bare authorizations.
    fates = [rng.choice(["open", "open", "cancel", "expire", "fail"]) for _ in range(PAYMENTS)]
    ids: list[str] = []
    for phase, auto_capture in enumerate((True, False)):
        await control(client, action="configure", webhooks="hold", auto_capture=auto_capture)
        half = fates[phase * PAYMENTS // 2 : (phase + 1) * PAYMENTS // 2]
        for start in range(0, len(half), CHUNK):
            ids += await asyncio.gather(
                *(one_payment(core, client, fate) for fate in half[start : start + CHUNK])
            )
    await control(
        client,
        action="release_webhooks",
        order="shuffle",
        copies=3,
        concurrency=8,
        seed=rng.randrange(1 << 30),
    )

    seen: list[int] = []

    async def inbox_settled() -> bool:
        # Nothing left to process and nothing new arriving for two polls. Copies the sandbox is
        # still retrying may come later: reconciliation, not delivery, is what must settle them.
        if await WebhookEvent.find({"status": WebhookEventStatus.RECEIVED.value}).count():
            return False
        seen.append(await WebhookEvent.find_all().count())
        return len(seen) >= 3 and seen[-1] == seen[-3]

    await eventually(inbox_settled, within=300, every=1)
    # As the hourly run sees it: every payment last changed half an hour ago.
    await Payment.get_pymongo_collection().update_many(
        {}, {"$set": {"updated_at": utcnow() - timedelta(minutes=30)}}
    )
    first = await core.reconciliation.reconcile(ReconciliationTrigger.CRON)

    async def refunds_settled() -> bool:
        return await Refund.find({"status": {"$in": ["PENDING", "PROCESSING"]}}).count() == 0

    await eventually(refunds_settled, within=240, every=1)
    await Payment.get_pymongo_collection().update_many(
        {}, {"$set": {"updated_at": utcnow() - timedelta(minutes=30)}}
    )
    second = await core.reconciliation.reconcile(ReconciliationTrigger.CRON)

    adapter = core.gateways.registry.get(Gateway.RAZORPAY)
    mismatches: list[str] = []
    kept_late = captured_by_us = 0
    late_kinds: Counter[str] = Counter()
    for pid, fate in zip(ids, fates, strict=True):
        payment = await Payment.get(pid)
        assert payment is not None and payment.gateway_order_id is not None
        attempts = await adapter.list_order_payments(payment.gateway_order_id)
        net = sum(
            a.amount_minor - a.amount_refunded_minor for a in attempts if a.status in HOLDS_MONEY
        )
        if net != payment.net_minor:
            mismatches.append(f"{pid} ({fate}): gateway {net}, ours {payment.net_minor}")
        for late in payment.late_payments:
            late_kinds[f"{late.kind.value.lower()}:{late.action.value.lower()}"] += 1
        if fate != "open":
            if net:
                kept_late += 1
            ours = {payment.gateway_payment_id} - {None}
            if any(a.id in ours and a.status in HOLDS_MONEY for a in attempts):
                captured_by_us += 1  # a closed payment must never hold a capture of ours
    refunds_done = await Refund.find({"source": "LATE_PAYMENT", "status": RefundStatus.COMPLETED.value}).count()  # fmt: skip
    closed = sum(fate != "open" for fate in fates)
    with capsys.disabled():
        print(
            f"\nlate-money storm: {len(ids)} payments checked ({closed} closed before their "
            f"money), mismatches {len(mismatches)}, late payments {dict(sorted(late_kinds.items()))}, "
            f"late refunds completed {refunds_done}, kept for closed payments {kept_late}, "
            f"captured by us for closed payments {captured_by_us}; reconciliation issues "
            f"{len(first.mismatches)} then {len(second.mismatches)}"
        )
    assert mismatches == []
    assert (kept_late, captured_by_us) == (0, 0)
    assert sum(late_kinds.values()) == closed  # every closed payment's money was found
    assert [
        f for f in second.mismatches if f.kind not in ("LATE_PAYMENT", "LATE_AUTHORIZATION")
    ] == []
    # Status follows the money: open payments completed; closed ones whose money was captured
    # read REFUNDED once it is returned, closed ones merely authorized stay closed.
    for n, (pid, fate) in enumerate(zip(ids, fates, strict=True)):
        status = (await Payment.get(pid)).status  # type: ignore[union-attr]
        captured_phase = n < PAYMENTS // 2
        if fate == "open":
            assert status is PaymentStatus.COMPLETED, (pid, fate, status)
        elif captured_phase:
            assert status is PaymentStatus.REFUNDED, (pid, fate, status)
        else:
            assert status in (
                PaymentStatus.CANCELLED, PaymentStatus.EXPIRED, PaymentStatus.FAILED
            ), (pid, fate, status)  # fmt: skip
