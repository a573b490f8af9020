"""Property: any permutation with any duplication of a payment's real webhook events ends in
the same final state and amounts as in-order delivery."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from models.enums import PaymentStatus
from models.payment import Payment
from tests.resolvers.test_payments_api import order_id
from tests.support.checkout import FAILING_CARD, Shopper
from tests.support.webhooks import mounted_state


@pytest.fixture
async def harness(app_server, client, tokens, settings, redis):
    """Builds a payment whose real sandbox events (a failed attempt, then an auto-captured
    success) are held back, and applies any delivery order through inbox + processor."""
    from core import build_core

    sandbox = mounted_state(app_server.server.config.app, "/sandbox/razorpay", "razorpay_sandbox")
    core = build_core(settings, serve_sandboxes=False)
    adapter = core.gateways.registry.get("RAZORPAY")
    shopper = Shopper(client, tokens.mint("cust-prop"))

    class Harness:
        async def real_events(self):
            await client.post(
                "/sandbox/razorpay/_control",
                json={"action": "configure", "webhooks": "hold", "auto_capture": True},
            )
            initiated = await shopper.initiate(orderId=order_id())
            order = initiated["checkout"]["gatewayOrderId"]
            await shopper.pay_razorpay(order, card_number=FAILING_CARD)
            paid = await shopper.pay_razorpay(order)
            hooks = [h for h in sandbox.held if order.encode() in h.body]
            sandbox.held = [h for h in sandbox.held if h not in hooks]
            return initiated["payment"]["id"], paid["razorpay_payment_id"], hooks

        async def deliver(self, hook):
            headers = {
                "X-Razorpay-Signature": _sign(settings, hook.body),
                "X-Razorpay-Event-Id": hook.event_id,
            }
            event = await adapter.verify_webhook(headers, hook.body)
            await core.inbox.receive(event, json.loads(hook.body))
            await core.processor.process(event.gateway, event.event_id)

    try:
        yield Harness()
    finally:
        await core.aclose()


def _sign(settings, body: bytes) -> str:
    from tests.support.webhooks import razorpay_signature

    return razorpay_signature(settings.razorpay_webhook_secret, body)


async def final_state(payment_id: str) -> tuple:
    payment = await Payment.get(payment_id)
    event_ids = [e.gateway_event_id for e in payment.timeline if e.gateway_event_id]
    assert len(event_ids) == len(set(event_ids)), "a gateway event appears twice in the timeline"
    return (
        payment.status,
        payment.attempt_count,
        payment.gateway_payment_id,
        payment.amount,
        payment.refunded_minor,
    )


class TestAnyOrderSameOutcome:
    async def test_in_order_delivery(self, harness, worker):
        payment_id, good_payment, hooks = await harness.real_events()
        assert [h.event for h in hooks] == [
            "payment.failed",
            "payment.authorized",
            "payment.captured",
            "order.paid",
        ]
        for hook in hooks:
            await harness.deliver(hook)
        status, attempts, gateway_payment, _amount, refunded = await final_state(payment_id)
        assert (status, attempts, gateway_payment, refunded) == (
            PaymentStatus.COMPLETED,
            1,
            good_payment,
            0,
        )

    @hsettings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    async def test_any_permutation_with_duplicates(self, harness, data):
        payment_id, good_payment, hooks = await harness.real_events()
        copies = data.draw(st.lists(st.integers(1, 3), min_size=len(hooks), max_size=len(hooks)))
        sequence = [hook for hook, n in zip(hooks, copies, strict=True) for _ in range(n)]
        order = data.draw(st.permutations(sequence))
        for hook in order:
            await harness.deliver(hook)
        status, attempts, gateway_payment, _amount, refunded = await final_state(payment_id)
        assert (status, attempts, gateway_payment, refunded) == (
            PaymentStatus.COMPLETED,
            1,
            good_payment,
            0,
        )
