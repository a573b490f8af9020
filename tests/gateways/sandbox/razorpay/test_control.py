"""The Razorpay sandbox's /_control: injected faults and refused settings."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import pytest

from tests.gateways.sandbox.razorpay.conftest import Rzp, error_of

if TYPE_CHECKING:  # fixture types only
    from tests.gateways.conftest import SandboxControl


class TestFaultInjection:
    async def test_next_request_answers_the_injected_status(
        self, rzp: Rzp, razorpay_control: SandboxControl
    ) -> None:
        await razorpay_control.fault("/v1/orders", method="GET", status=503, count=2)
        statuses = [(await rzp.http.get("/v1/orders")).status_code for _ in range(3)]
        assert statuses == [503, 503, 200]

    async def test_429_carries_retry_after_and_the_error_envelope(
        self, rzp: Rzp, razorpay_control: SandboxControl
    ) -> None:
        await razorpay_control.fault("/v1/orders", status=429, retry_after=3)
        answer = await rzp.http.get("/v1/orders")
        assert (answer.status_code, answer.headers["retry-after"]) == (429, "3")
        assert error_of(answer)["description"] == "Request failed. Please try after sometime."

    async def test_html_error_body_is_not_json(
        self, rzp: Rzp, razorpay_control: SandboxControl
    ) -> None:
        await razorpay_control.fault("/v1/orders", status=502, body="html")
        answer = await rzp.http.get("/v1/orders")
        assert answer.status_code == 502
        assert answer.headers["content-type"].startswith("text/html")

    async def test_fault_after_processing_still_changes_state(
        self, rzp: Rzp, razorpay_control: SandboxControl
    ) -> None:
        await razorpay_control.fault("/v1/orders", method="POST", status=500, phase="after")
        answer = await rzp.http.post(
            "/v1/orders", json={"amount": 100, "currency": "INR", "receipt": "after-500"}
        )
        assert answer.status_code == 500
        assert (await rzp.get("/v1/orders", receipt="after-500"))["count"] == 1

    async def test_delay_makes_a_client_time_out(
        self, rzp: Rzp, razorpay_control: SandboxControl
    ) -> None:
        await razorpay_control.fault("/v1/orders", method="GET", delay=0.5)
        with pytest.raises(httpx.ReadTimeout):
            await rzp.http.get("/v1/orders", timeout=0.1)

    async def test_unknown_action_is_a_400(self, razorpay_control: SandboxControl) -> None:
        answer = await razorpay_control.http.post("/_control", json={"action": "explode"})
        assert (answer.status_code, answer.json()) == (400, {"error": "unknown action 'explode'"})

    async def test_invalid_setting_is_a_400(self, razorpay_control: SandboxControl) -> None:
        answer = await razorpay_control.http.post(
            "/_control", json={"action": "configure", "refund_mode": "sometimes"}
        )
        assert answer.status_code == 400
