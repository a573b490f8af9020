"""The PayPal sandbox's /_control: injected faults and per-endpoint request counts."""

from __future__ import annotations

import httpx
import pytest

from tests.gateways.paypal_fixtures import SandboxHandle
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
