"""The Razorpay sandbox's money outside our API calls, driven through /_control: an order paid
server side at any time (late), an uncaptured authorization refunded by Razorpay (now or after a
delay), a refund made in the dashboard."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

from tests.gateways.sandbox.razorpay.conftest import Rzp, error_of

if TYPE_CHECKING:  # fixture types only
    from tests.gateways.conftest import SandboxControl, WebhookInbox


def events(hooks: list[Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(json.loads(h.body)["event"], json.loads(h.body)["payload"]) for h in hooks]


async def pay(control: SandboxControl, order_id: str, **body: Any) -> dict[str, Any]:
    result: dict[str, Any] = (await control.post(action="pay", order_id=order_id, **body))["result"]
    return result


class TestPay:
    async def test_pays_an_order_server_side_with_the_method_s_test_instrument(
        self, rzp: Rzp, razorpay_control: SandboxControl
    ) -> None:
        order = await rzp.order()
        paid = await pay(razorpay_control, order["id"], method="upi")
        assert paid["razorpay_order_id"] == order["id"]
        assert paid["razorpay_signature"]
        payment = await rzp.get(f"/v1/payments/{paid['razorpay_payment_id']}")
        assert (payment["method"], payment["vpa"], payment["status"]) == (
            "upi",
            "success@razorpay",
            "authorized",  # this test account captures manually
        )
        assert paid["payment"] == payment

    async def test_capture_true_captures_at_once_and_pays_the_order(
        self, rzp: Rzp, razorpay_control: SandboxControl, razorpay_webhooks: WebhookInbox
    ) -> None:
        order = await rzp.order()
        paid = await pay(razorpay_control, order["id"], capture=True)
        assert paid["payment"]["status"] == "captured"
        assert (await rzp.get(f"/v1/orders/{order['id']}"))["status"] == "paid"
        hooks = await razorpay_webhooks.wait_for(3)
        assert [name for name, _ in events(hooks)] == [
            "payment.authorized",
            "payment.captured",
            "order.paid",
        ]

    async def test_capture_false_leaves_an_authorization_on_an_auto_capture_account(
        self, rzp: Rzp, razorpay_control: SandboxControl
    ) -> None:
        await razorpay_control.post(action="configure", auto_capture=True)
        order = await rzp.order()
        paid = await pay(razorpay_control, order["id"], method="card", capture=False)
        assert (paid["payment"]["status"], paid["payment"]["captured"]) == ("authorized", False)

    async def test_a_failing_instrument_answers_razorpay_s_error_with_the_payment(
        self, rzp: Rzp, razorpay_control: SandboxControl
    ) -> None:
        order = await rzp.order()
        answer = await razorpay_control.http.post(
            "/_control",
            json={"action": "pay", "order_id": order["id"], "card_number": "4100280000060003"},
        )
        assert answer.status_code == 400
        failed = await rzp.get(f"/v1/payments/{error_of(answer)['metadata']['payment_id']}")
        assert failed["status"] == "failed"

    async def test_an_unknown_order_is_a_400(self, razorpay_control: SandboxControl) -> None:
        answer = await razorpay_control.http.post(
            "/_control", json={"action": "pay", "order_id": "order_Missing0000000"}
        )
        assert answer.status_code == 400


class TestVoidAuthorization:
    async def test_refunds_an_uncaptured_authorization_as_razorpay_does(
        self, rzp: Rzp, razorpay_control: SandboxControl, razorpay_webhooks: WebhookInbox
    ) -> None:
        payment = await rzp.authorized(amount=70_000)
        refund = (
            await razorpay_control.post(action="void_authorization", payment_id=payment["id"])
        )["result"]
        after = await rzp.get(f"/v1/payments/{payment['id']}")
        assert (after["status"], after["captured"]) == ("refunded", False)
        assert (after["amount_refunded"], after["refund_status"]) == (70_000, "full")
        assert (refund["amount"], refund["status"]) == (70_000, "processed")
        listed = await rzp.get(f"/v1/payments/{payment['id']}/refunds")
        assert [r["id"] for r in listed["items"]] == [refund["id"]]

        hooks = await razorpay_webhooks.wait_for(3)  # payment.authorized, then the two refunds
        refund_events = [(n, p) for n, p in events(hooks) if n.startswith("refund.")]
        assert [n for n, _ in refund_events] == ["refund.created", "refund.processed"]
        for _, payload in refund_events:
            assert payload["payment"]["entity"]["captured"] is False
            assert payload["refund"]["entity"]["id"] == refund["id"]

    async def test_the_order_can_be_paid_again_after_a_void(
        self, rzp: Rzp, razorpay_control: SandboxControl
    ) -> None:
        payment = await rzp.authorized()
        await razorpay_control.post(action="void_authorization", payment_id=payment["id"])
        again = await pay(razorpay_control, payment["order_id"], capture=True)
        assert again["payment"]["status"] == "captured"
        assert (await rzp.get(f"/v1/orders/{payment['order_id']}"))["status"] == "paid"

    async def test_a_captured_payment_cannot_be_voided(
        self, rzp: Rzp, razorpay_control: SandboxControl
    ) -> None:
        payment = await rzp.captured()
        answer = await razorpay_control.http.post(
            "/_control", json={"action": "void_authorization", "payment_id": payment["id"]}
        )
        assert answer.status_code == 400

    async def test_auto_refund_after_a_delay_spares_captured_payments(
        self, rzp: Rzp, razorpay_control: SandboxControl
    ) -> None:
        await razorpay_control.post(action="configure", auto_refund_uncaptured_seconds=0.2)
        left = await rzp.authorized()
        taken = await rzp.captured()
        await asyncio.sleep(0.5)
        left_after = await rzp.get(f"/v1/payments/{left['id']}")
        taken_after = await rzp.get(f"/v1/payments/{taken['id']}")
        assert (left_after["status"], left_after["captured"]) == ("refunded", False)
        assert (taken_after["status"], taken_after["amount_refunded"]) == ("captured", 0)

    async def test_a_late_authorization_is_auto_refunded_too(
        self, rzp: Rzp, razorpay_control: SandboxControl
    ) -> None:
        order = await rzp.order()
        failed = await rzp.pay(order["id"], method="upi", vpa="failure@razorpay")
        payment_id = error_of(failed)["metadata"]["payment_id"]
        await razorpay_control.post(action="configure", auto_refund_uncaptured_seconds=0.1)
        await razorpay_control.post(action="late_authorize", payment_id=payment_id)
        await asyncio.sleep(0.4)
        assert (await rzp.get(f"/v1/payments/{payment_id}"))["status"] == "refunded"


class TestDashboardRefund:
    async def test_refunds_without_the_api_and_sends_the_refund_webhooks(
        self, rzp: Rzp, razorpay_control: SandboxControl, razorpay_webhooks: WebhookInbox
    ) -> None:
        payment = await rzp.captured(amount=50_000)
        refund = (
            await razorpay_control.post(
                action="dashboard_refund", payment_id=payment["id"], amount=20_000
            )
        )["result"]
        assert (refund["amount"], refund["status"]) == (20_000, "processed")
        after = await rzp.get(f"/v1/payments/{payment['id']}")
        assert (after["amount_refunded"], after["refund_status"]) == (20_000, "partial")
        # payment.authorized, payment.captured, order.paid, then the refund's two
        hooks = await razorpay_webhooks.wait_for(5)
        refund_events = [(n, p) for n, p in events(hooks) if n.startswith("refund.")]
        assert [n for n, _ in refund_events] == ["refund.created", "refund.processed"]
        assert refund_events[1][1]["payment"]["entity"]["captured"] is True

    async def test_defaults_to_all_that_is_left(
        self, rzp: Rzp, razorpay_control: SandboxControl
    ) -> None:
        payment = await rzp.captured(amount=30_000)
        await razorpay_control.post(
            action="dashboard_refund", payment_id=payment["id"], amount=10_000
        )
        rest = (await razorpay_control.post(action="dashboard_refund", payment_id=payment["id"]))[
            "result"
        ]
        assert rest["amount"] == 20_000
        assert (await rzp.get(f"/v1/payments/{payment['id']}"))["status"] == "refunded"

    async def test_more_than_is_left_is_a_400(
        self, rzp: Rzp, razorpay_control: SandboxControl
    ) -> None:
        payment = await rzp.captured(amount=30_000)
        answer = await razorpay_control.http.post(
            "/_control",
            json={"action": "dashboard_refund", "payment_id": payment["id"], "amount": 30_001},
        )
        assert answer.status_code == 400
