"""Every webhook delivered three times in random order while payments complete and are
refunded: each payment and refund ends in the state the gateway holds, and no gateway event
appears twice in a timeline. (bench/webhook_storm.py runs the same with 500 payments.)"""

from __future__ import annotations

import itertools
import uuid

import pytest

from models.enums import PaymentStatus, RefundStatus
from models.payment import Payment
from models.refund import Refund
from tests.support.checkout import FAILING_CARD, Shopper
from tests.support.webhooks import eventually

_orders = itertools.count(1)
REFUND = """mutation($input: RefundPaymentInput!) { refundPayment(input: $input) {
  __typename ... on RefundSuccess { refund { id status } } ... on UserError { code } } }"""


@pytest.mark.timeout(180)
async def test_storm_of_shuffled_triplicate_webhooks(client, tokens, settings, worker):
    await client.post("/sandbox/razorpay/_control", json={"action": "reset"})
    await client.post(
        "/sandbox/razorpay/_control",
        json={
            "action": "configure",
            "webhooks": "hold",
            "auto_capture": True,
            "refund_mode": "pending",
        },
    )
    shopper = Shopper(client, tokens.mint("cust-storm"))
    admin = Shopper(client, tokens.mint("ops-storm", admin=True))
    payments: list[tuple[str, str]] = []  # (our id, razorpay payment id)
    for n in range(20):
        initiated = await shopper.initiate(orderId=f"STORM-{next(_orders):04d}", amount="300.00")
        order = initiated["checkout"]["gatewayOrderId"]
        if n % 3 == 0:
            await shopper.pay_razorpay(order, card_number=FAILING_CARD)
        paid = await shopper.pay_razorpay(order)
        payments.append((initiated["payment"]["id"], paid["razorpay_payment_id"]))

    # Nothing was delivered yet: release everything three times over, shuffled, 8 lanes.
    await client.post(
        "/sandbox/razorpay/_control",
        json={
            "action": "release_webhooks",
            "order": "shuffle",
            "copies": 3,
            "concurrency": 8,
            "seed": 7,
        },
    )

    async def all_completed() -> bool:
        found = [await Payment.get(pid) for pid, _ in payments]
        return all(p.status is PaymentStatus.COMPLETED for p in found)

    await eventually(all_completed, within=90, every=0.5)

    # Refund a third of them (pending at the gateway), then settle at the gateway, again with
    # every refund webhook three times in random order.
    refunded = payments[::3]
    refund_ids = []
    for pid, _ in refunded:
        result = (
            await admin.graphql(
                REFUND,
                {
                    "input": {
                        "idempotencyKey": str(uuid.uuid4()),
                        "paymentId": pid,
                        "amount": "100.00",
                    }
                },
            )
        )["refundPayment"]
        assert result["__typename"] == "RefundSuccess", result
        refund_ids.append(result["refund"]["id"])

    async def all_sent() -> bool:  # the worker has sent each (PENDING at the gateway)
        found = [await Refund.get(rid) for rid in refund_ids]
        return all(r.gateway_refund_id is not None for r in found)

    await eventually(all_sent, within=60, every=0.5)
    for rid in refund_ids:
        refund = await Refund.get(rid)
        await client.post(
            "/sandbox/razorpay/_control",
            json={
                "action": "settle_refund",
                "refund_id": refund.gateway_refund_id,
                "status": "processed",
            },
        )
    await client.post(
        "/sandbox/razorpay/_control",
        json={
            "action": "release_webhooks",
            "order": "shuffle",
            "copies": 3,
            "concurrency": 8,
            "seed": 11,
        },
    )

    async def refunds_settled() -> bool:
        found = [await Refund.get(rid) for rid in refund_ids]
        return all(r.status is RefundStatus.COMPLETED for r in found)

    await eventually(refunds_settled, within=90, every=0.5)

    auth = (settings.razorpay_key_id, settings.razorpay_key_secret)
    for pid, gateway_payment_id in payments:
        payment = await Payment.get(pid)
        at_gateway = (
            await client.get(f"/sandbox/razorpay/v1/payments/{gateway_payment_id}", auth=auth)
        ).json()
        assert at_gateway["status"] in ("captured", "refunded")
        assert payment.gateway_payment_id == gateway_payment_id
        assert payment.refunded_minor == at_gateway["amount_refunded"]
        assert payment.refund_reserved_minor == 0
        expected = (
            PaymentStatus.PARTIALLY_REFUNDED
            if at_gateway["amount_refunded"]
            else PaymentStatus.COMPLETED
        )
        assert payment.status is expected
        event_ids = [e.gateway_event_id for e in payment.timeline if e.gateway_event_id]
        assert len(event_ids) == len(set(event_ids)), payment.timeline
        assert payment.attempt_count == (
            1 if payments.index((pid, gateway_payment_id)) % 3 == 0 else 0
        )
