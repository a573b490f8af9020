"""Property: whatever the order and duplication of a payment's real webhook events, and
whichever way it was closed before its money arrived (cancelled, expired, failed for good),
after the webhooks and a reconciliation run the money the gateway holds for it (captured minus
refunded) equals what our record says, no money is captured by us for the closed payment, and
under LATE_PAYMENT_POLICY=refund none is kept."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from bson import ObjectId
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from core import build_core
from gateways.base import Gateway, GatewayPaymentStatus
from models.clock import utcnow
from models.enums import (
    LatePaymentPolicy,
    PaymentStatus,
    ReconciliationTrigger,
    RefundStatus,
    TransitionSource,
)
from models.payment import Payment
from models.refund import Refund
from tests.support.checkout import FAILING_CARD
from tests.support.payments import CUSTOMER, initiate, stored
from tests.support.webhooks import mounted_state, razorpay_signature

CLOSINGS = ("cancel", "expire", "fail_for_good")
MONEY = ("capture", "authorize")
HOLDS_MONEY = (GatewayPaymentStatus.CAPTURED, GatewayPaymentStatus.REFUNDED)


@pytest.fixture
async def harness(app_server, client, settings, mongo_db, redis):
    sandbox = mounted_state(app_server.server.config.app, "/sandbox/razorpay", "razorpay_sandbox")
    cores = {
        policy: build_core(
            settings.model_copy(update={"late_payment_policy": policy}), serve_sandboxes=False
        )
        for policy in LatePaymentPolicy
    }

    class Harness:
        async def control(self, **action: Any) -> None:
            response = await client.post("/sandbox/razorpay/_control", json=action)
            assert response.status_code == 200, response.text

        async def pay(self, order: str, **body: Any) -> dict[str, Any]:
            response = await client.post(f"/sandbox/razorpay/checkout/{order}/pay", json={"method": "card", "card_number": body.pop("card", "4100280000001007"), **body})  # fmt: skip
            answer: dict[str, Any] = response.json()
            return answer

        def held_for(self, order: str) -> list[Any]:
            hooks = [h for h in sandbox.held if order.encode() in h.body]
            sandbox.held = [h for h in sandbox.held if h not in hooks]
            return hooks

        async def deliver(self, core: Any, hook: Any) -> None:
            adapter = core.gateways.registry.get(Gateway.RAZORPAY)
            headers = {
                "X-Razorpay-Signature": razorpay_signature(
                    settings.razorpay_webhook_secret, hook.body
                ),
                "X-Razorpay-Event-Id": hook.event_id,
            }
            event = await adapter.verify_webhook(headers, hook.body)
            await core.inbox.receive(event, json.loads(hook.body))
            await core.processor.process(event.gateway, event.event_id)

    try:
        yield Harness(), cores
    finally:
        for core in cores.values():
            await core.aclose()


async def gateway_net(core: Any, payment: Payment) -> tuple[int, list[Any]]:
    adapter = core.gateways.registry.get(Gateway.RAZORPAY)
    attempts = await adapter.list_order_payments(payment.gateway_order_id)
    net = sum(a.amount_minor - a.amount_refunded_minor for a in attempts if a.status in HOLDS_MONEY)
    return net, attempts


async def close(harness: Any, core: Any, initiated: Any, how: str) -> Payment:
    payment = initiated.payment
    if how == "cancel":
        return await core.payments.cancel(CUSTOMER, str(payment.id))
    if how == "expire":
        return await core.payments.expire(payment, TransitionSource.EXPIRY, note="unpaid")
    order = initiated.checkout.gateway_order_id
    for _ in range(core.settings.payment_max_attempts):  # declined at the gateway, every time
        await harness.pay(order, card=FAILING_CARD)
    for hook in harness.held_for(order):
        await harness.deliver(core, hook)
    failed = await stored(payment.id)
    assert (failed.status, failed.attempt_count) == (PaymentStatus.FAILED, 3)
    return failed


class TestLateMoneyInvariant:
    @hsettings(max_examples=18, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        how=st.sampled_from(CLOSINGS),
        money=st.sampled_from(MONEY),
        policy=st.sampled_from(list(LatePaymentPolicy)),
        data=st.data(),
    )
    async def test_after_webhooks_and_reconciliation_the_money_agrees(
        self, harness, how, money, policy, data
    ):
        harness, cores = harness
        core = cores[policy]
        await harness.control(action="reset")
        await harness.control(action="configure", webhooks="hold", auto_capture=money == "capture")
        initiated = await initiate(core)
        order = initiated.checkout.gateway_order_id
        closed = await close(harness, core, initiated, how)
        assert core.payments.is_closed(closed)

        paid = await harness.pay(order)  # the customer's money arrives after the close
        assert paid.get("razorpay_payment_id"), paid
        hooks = harness.held_for(order)
        copies = data.draw(st.lists(st.integers(1, 3), min_size=len(hooks), max_size=len(hooks)))
        deliveries = data.draw(
            st.permutations([h for h, n in zip(hooks, copies, strict=True) for _ in range(n)])
        )
        for hook in deliveries:
            await harness.deliver(core, hook)
        # Reconciliation, as the hourly run would see it, then the refund jobs it left.
        await Payment.get_pymongo_collection().update_one(
            {"_id": ObjectId(str(initiated.payment.id))},
            {"$set": {"updated_at": utcnow() - timedelta(minutes=30)}},
        )
        await core.reconciliation.reconcile(ReconciliationTrigger.CRON)
        for refund in await Refund.find({"payment_id": initiated.payment.id}).to_list():
            if refund.status is RefundStatus.PENDING:
                await core.refunds.send(str(refund.id))

        payment = await stored(initiated.payment.id)
        net, attempts = await gateway_net(core, payment)
        assert net == payment.net_minor, (how, money, policy, payment.timeline)
        [late] = payment.late_payments  # recorded once, whatever the duplicates
        assert late.gateway_payment_id == paid["razorpay_payment_id"]
        if money == "authorize":
            # Never captured by us: still only authorized at the gateway, nothing recorded held.
            assert [a.status for a in attempts if a.id == late.gateway_payment_id] == [
                GatewayPaymentStatus.AUTHORIZED
            ]
            assert payment.status is closed.status and net == 0
        elif policy is LatePaymentPolicy.REFUND:
            assert net == 0 and payment.status is PaymentStatus.REFUNDED
        else:
            assert payment.status is PaymentStatus.COMPLETED and net == payment.amount.amount_minor
