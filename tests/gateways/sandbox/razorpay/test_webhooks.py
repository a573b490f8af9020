"""The Razorpay sandbox's webhooks: signed, retried, dropped, duplicated, reordered, held."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import TYPE_CHECKING, Any

from tests.gateways.sandbox.razorpay.conftest import VISA, Rzp, error_of

if TYPE_CHECKING:  # fixture types only
    from tests.gateways.conftest import RazorpayCredentials, SandboxControl, WebhookInbox


def verify(hook_body: bytes, headers: dict[str, str], secret: str) -> bool:
    expected = hmac.new(secret.encode(), hook_body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers["x-razorpay-signature"])


def event_names(hooks: list[Any]) -> list[str]:
    return [json.loads(hook.body)["event"] for hook in hooks]


class TestWebhooks:
    async def test_auto_captured_payment_emits_three_signed_events_in_order(
        self,
        rzp: Rzp,
        razorpay_webhooks: WebhookInbox,
        razorpay_control: SandboxControl,
        razorpay_credentials: RazorpayCredentials,
    ) -> None:
        await razorpay_control.post(action="configure", auto_capture=True)
        await rzp.authorized()
        hooks = await razorpay_webhooks.wait_for(3)
        assert event_names(hooks) == ["payment.authorized", "payment.captured", "order.paid"]
        for hook in hooks:
            assert verify(hook.body, hook.headers, razorpay_credentials.webhook_secret)
            assert hook.headers["x-razorpay-event-id"] == hook.headers["request-id"]
            assert hook.headers["user-agent"] == "Razorpay-Webhook/v1"
            assert b", " not in hook.body and b": " not in hook.body  # compact JSON
        authorized = json.loads(hooks[0].body)
        assert authorized["payload"]["payment"]["entity"]["status"] == "authorized"
        assert authorized["contains"] == ["payment"]
        assert json.loads(hooks[2].body)["contains"] == ["payment", "order"]

    async def test_failed_deliveries_are_retried_until_2xx(
        self, rzp: Rzp, razorpay_webhooks: WebhookInbox, razorpay_control: SandboxControl
    ) -> None:
        razorpay_webhooks.fail_next(3)
        await rzp.authorized()
        [hook] = await razorpay_webhooks.wait_for(1)
        assert razorpay_webhooks.refused == 3
        [delivery] = (await razorpay_control.state())["deliveries"]
        assert delivery["attempts"] == 4
        assert delivery["statuses"] == ["500", "500", "500", "204"]
        assert delivery["event_id"] == hook.headers["x-razorpay-event-id"]

    async def test_api_answer_does_not_wait_for_a_failing_endpoint(
        self, rzp: Rzp, razorpay_webhooks: WebhookInbox
    ) -> None:
        razorpay_webhooks.fail_next(1_000)
        order = await rzp.order()
        started = time.monotonic()
        answer = await rzp.pay(order["id"], method="card", card_number=VISA)
        assert answer.status_code == 200
        assert time.monotonic() - started < 0.5

    async def test_dropped_webhooks_are_never_sent(
        self, rzp: Rzp, razorpay_webhooks: WebhookInbox, razorpay_control: SandboxControl
    ) -> None:
        await razorpay_control.post(action="configure", webhooks="drop")
        await rzp.authorized()
        assert await razorpay_webhooks.settle() == []
        assert [d["dropped"] for d in (await razorpay_control.state())["deliveries"]] == [True]

    async def test_duplicated_webhooks_share_one_event_id(
        self, rzp: Rzp, razorpay_webhooks: WebhookInbox, razorpay_control: SandboxControl
    ) -> None:
        await razorpay_control.post(action="configure", duplicate_webhooks=True)
        await rzp.authorized()
        first, second = await razorpay_webhooks.wait_for(2)
        assert first.headers["x-razorpay-event-id"] == second.headers["x-razorpay-event-id"]
        assert first.body == second.body

    async def test_reordered_webhooks_arrive_last_first(
        self, rzp: Rzp, razorpay_webhooks: WebhookInbox, razorpay_control: SandboxControl
    ) -> None:
        await razorpay_control.post(action="configure", auto_capture=True, reorder_webhooks=True)
        await rzp.authorized()
        hooks = await razorpay_webhooks.wait_for(3)
        assert event_names(hooks) == ["order.paid", "payment.captured", "payment.authorized"]

    async def test_held_webhooks_are_released_in_reverse(
        self, rzp: Rzp, razorpay_webhooks: WebhookInbox, razorpay_control: SandboxControl
    ) -> None:
        await razorpay_control.post(action="configure", webhooks="hold")
        payment = await rzp.authorized()
        await rzp.http.post(
            f"/v1/payments/{payment['id']}/capture", json={"amount": 50_000, "currency": "INR"}
        )
        assert await razorpay_webhooks.settle(0.05) == []
        await razorpay_control.post(action="release_webhooks", order="reverse")
        hooks = await razorpay_webhooks.wait_for(3)
        assert event_names(hooks) == ["order.paid", "payment.captured", "payment.authorized"]

    async def test_refund_emits_created_then_processed(
        self, rzp: Rzp, razorpay_webhooks: WebhookInbox
    ) -> None:
        payment = await rzp.captured()
        await razorpay_webhooks.wait_for(3)
        await rzp.refund(payment["id"], "webhook-key-01", amount=10_000)
        hooks = (await razorpay_webhooks.wait_for(5))[3:]
        assert event_names(hooks) == ["refund.created", "refund.processed"]
        created = json.loads(hooks[0].body)
        assert created["contains"] == ["refund", "payment"]
        assert created["payload"]["refund"]["entity"]["status"] == "pending"

    async def test_late_authorisation_turns_a_failed_payment_authorized(
        self, rzp: Rzp, razorpay_webhooks: WebhookInbox, razorpay_control: SandboxControl
    ) -> None:
        order = await rzp.order()
        failed = await rzp.pay(order["id"], method="card", card_number="4100280000090000")
        payment_id = error_of(failed)["metadata"]["payment_id"]
        await razorpay_control.post(action="late_authorize", payment_id=payment_id)
        hooks = await razorpay_webhooks.wait_for(2)
        assert event_names(hooks) == ["payment.failed", "payment.authorized"]
        late = json.loads(hooks[1].body)["payload"]["payment"]["entity"]
        assert (late["status"], late["late_authorized"]) == ("authorized", True)
