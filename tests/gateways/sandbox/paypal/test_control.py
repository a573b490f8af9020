"""The PayPal sandbox's /_control: injected faults, per-endpoint request counts, and money
moving outside our calls (a pending capture settling, a chargeback, a dashboard refund)."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.gateways.paypal_fixtures import SandboxHandle, WebhookReceiver, wait_for
from tests.gateways.sandbox.paypal.conftest import Api, order_body


class TestFaultInjection:
    async def test_next_requests_fail_then_recover(self, api: Api) -> None:
        await api.sandbox.control(action="fail", path="/v2/checkout/orders", status=500, count=2)
        answers = [
            (await api.post("/v2/checkout/orders", order_body())).status_code for _ in range(3)
        ]
        assert answers == [500, 500, 201]
        assert (await api.sandbox.state())["orders"] == 1

    async def test_rate_limit_carries_retry_after(self, api: Api) -> None:
        await api.sandbox.control(
            action="fail", path="/v2/checkout/orders/*", status=429, retry_after="2"
        )
        response = await api.get("/v2/checkout/orders/ANY")
        assert response.status_code == 429
        assert response.json()["name"] == "RATE_LIMIT_REACHED"
        assert response.headers["Retry-After"] == "2"

    async def test_method_filter_spares_other_methods(self, api: Api) -> None:
        await api.sandbox.control(action="fail", path="/v2/checkout/orders", method="GET")
        response = await api.post("/v2/checkout/orders", order_body())
        assert response.status_code == 201
        assert len((await api.sandbox.state())["faults"]) == 1

    async def test_delay_answers_after_acting(self, api: Api) -> None:
        await api.sandbox.control(action="delay", path="/v2/checkout/orders", seconds=0.5)
        with pytest.raises(httpx.ReadTimeout):
            await api.sandbox.http.post(
                f"{api.sandbox.url}/v2/checkout/orders",
                json=order_body(),
                headers=api.headers,
                timeout=httpx.Timeout(5, read=0.1),
            )
        assert (await api.sandbox.state())["orders"] == 1

    async def test_requests_are_counted_per_endpoint(self, api: Api) -> None:
        await api.post("/v2/checkout/orders", order_body())
        await api.get("/v2/checkout/orders/NOSUCH")
        state = await api.sandbox.state()
        assert state["requests"]["POST /v2/checkout/orders"] == 1
        assert state["requests"]["GET /v2/checkout/orders/{id}"] == 1
        assert state["request_count"] == 3  # including the token request

    async def test_a_request_answered_by_a_fault_still_counts(self, api: Api) -> None:
        await api.sandbox.control(action="fail", path="/v2/checkout/orders/*", status=503)
        assert (await api.get("/v2/checkout/orders/ANY")).status_code == 503
        state = await api.sandbox.state()
        assert state["requests"]["GET /v2/checkout/orders/{id}"] == 1
        assert state["faults"] == []

    async def test_unknown_action_is_400(self, paypal_sandbox: SandboxHandle) -> None:
        response = await paypal_sandbox.http.post(
            f"{paypal_sandbox.url}/_control", json={"action": "explode"}
        )
        assert response.status_code == 400


class TestPendingCaptures:
    async def test_a_pending_capture_completes_later_on_its_own(
        self, api: Api, paypal_webhook_receiver: WebhookReceiver
    ) -> None:
        await api.sandbox.control(action="capture_outcome", outcome="PENDING", count=1)
        capture = await api.captured()
        assert (capture["status"], capture["status_details"]["reason"]) == (
            "PENDING",
            "PENDING_REVIEW",
        )
        await api.sandbox.control(
            action="settle_capture", capture_id=capture["id"], outcome="COMPLETED", after=0.1
        )
        assert (await api.get(f"/v2/payments/captures/{capture['id']}")).json()[
            "status"
        ] == "PENDING"
        await wait_for(
            lambda: len(paypal_webhook_receiver.of_type("PAYMENT.CAPTURE.COMPLETED")) == 1
        )
        after = (await api.get(f"/v2/payments/captures/{capture['id']}")).json()
        assert (after["status"], "status_details" in after) == ("COMPLETED", False)

    async def test_only_a_pending_capture_settles(self, api: Api) -> None:
        capture = await api.captured()
        answer = await api.sandbox.http.post(
            f"{api.sandbox.url}/_control",
            json={"action": "settle_capture", "capture_id": capture["id"], "outcome": "DENIED"},
        )
        assert answer.status_code == 400


class TestReversal:
    async def test_a_chargeback_reverses_the_capture_and_says_so(
        self, api: Api, paypal_webhook_receiver: WebhookReceiver
    ) -> None:
        capture = await api.captured()
        await api.sandbox.control(action="reverse_capture", capture_id=capture["id"])
        after = (await api.get(f"/v2/payments/captures/{capture['id']}")).json()
        assert (after["status"], after["status_details"]["reason"]) == ("REVERSED", "CHARGEBACK")
        await wait_for(
            lambda: len(paypal_webhook_receiver.of_type("PAYMENT.CAPTURE.REVERSED")) == 1
        )
        [event] = paypal_webhook_receiver.of_type("PAYMENT.CAPTURE.REVERSED")
        envelope = json.loads(event.body)
        assert (envelope["resource_type"], envelope["resource"]["id"]) == ("capture", capture["id"])
        assert envelope["resource"]["status"] == "REVERSED"

    async def test_a_reversed_capture_cannot_be_refunded(self, api: Api) -> None:
        capture = await api.captured()
        await api.sandbox.control(action="reverse_capture", capture_id=capture["id"])
        answer = await api.post(f"/v2/payments/captures/{capture['id']}/refund", {})
        assert answer.status_code == 422
        assert answer.json()["details"][0]["issue"] == "REFUND_NOT_PERMITTED_DUE_TO_CHARGEBACK"


class TestDashboardRefund:
    async def test_refunds_without_the_api_and_sends_the_refund_event(
        self, api: Api, paypal_webhook_receiver: WebhookReceiver
    ) -> None:
        capture = await api.captured(value="10.00")
        state = await api.sandbox.control(
            action="dashboard_refund", capture_id=capture["id"], amount=400
        )
        refund = state["result"]
        assert (refund["status"], refund["amount"]["value"]) == ("COMPLETED", "4.00")
        after = (await api.get(f"/v2/payments/captures/{capture['id']}")).json()
        assert after["status"] == "PARTIALLY_REFUNDED"
        await wait_for(
            lambda: len(paypal_webhook_receiver.of_type("PAYMENT.CAPTURE.REFUNDED")) == 1
        )
        [event] = paypal_webhook_receiver.of_type("PAYMENT.CAPTURE.REFUNDED")
        assert json.loads(event.body)["resource"]["id"] == refund["id"]

    async def test_defaults_to_all_that_is_left(self, api: Api) -> None:
        capture = await api.captured(value="10.00")
        state = await api.sandbox.control(action="dashboard_refund", capture_id=capture["id"])
        assert state["result"]["amount"]["value"] == "10.00"
        after = (await api.get(f"/v2/payments/captures/{capture['id']}")).json()
        assert after["status"] == "REFUNDED"
