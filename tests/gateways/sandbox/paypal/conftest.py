"""The PayPal sandbox's test helpers: the served sandbox (tests/gateways/paypal_fixtures.py),
`api` (raw PayPal calls with a bearer token) and request bodies."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.gateways.paypal_fixtures import (
    SandboxHandle,
    paypal_sandbox,
    paypal_sandbox_url,
    paypal_webhook_receiver,
)

__all__ = ["paypal_sandbox", "paypal_sandbox_url", "paypal_webhook_receiver"]


ID_RE = re.compile(r"^[A-Z0-9]{17}$")


def order_body(currency: str = "USD", value: str = "10.00", **unit: Any) -> dict[str, Any]:
    """Current style: payment_source.paypal.experience_context (PAYER_ACTION_REQUIRED)."""
    return {
        "intent": "CAPTURE",
        "purchase_units": [{"amount": {"currency_code": currency, "value": value}, **unit}],
        "payment_source": {
            "paypal": {
                "experience_context": {
                    "return_url": "https://shop.example/return",
                    "cancel_url": "https://shop.example/cancel",
                }
            }
        },
    }


class Api:
    """Raw PayPal calls with a bearer token, as any PayPal client would make them."""

    def __init__(self, sandbox: SandboxHandle, token: str) -> None:
        self.sandbox = sandbox
        self.headers = {"Authorization": f"Bearer {token}"}

    async def post(
        self, path: str, body: dict[str, Any] | None = None, **headers: str
    ) -> httpx.Response:
        return await self.sandbox.http.post(
            self.sandbox.url + path,
            json=body if body is not None else {},
            headers={**self.headers, **{k.replace("_", "-"): v for k, v in headers.items()}},
        )

    async def get(self, path: str) -> httpx.Response:
        return await self.sandbox.http.get(self.sandbox.url + path, headers=self.headers)

    async def approved_order(self, **kwargs: Any) -> str:
        created = await self.post("/v2/checkout/orders", order_body(**kwargs))
        order_id: str = created.json()["id"]
        assert (await self.sandbox.buyer(order_id)).status_code == 200
        return order_id

    async def capture(self, order_id: str, **headers: str) -> httpx.Response:
        return await self.post(
            f"/v2/checkout/orders/{order_id}/capture", Prefer="return=representation", **headers
        )

    async def captured(self, **kwargs: Any) -> dict[str, Any]:
        order_id = await self.approved_order(**kwargs)
        response = await self.capture(order_id)
        capture: dict[str, Any] = response.json()["purchase_units"][0]["payments"]["captures"][0]
        return capture


@pytest.fixture
async def api(paypal_sandbox: SandboxHandle) -> Api:
    return Api(paypal_sandbox, await paypal_sandbox.token())


def issue_of(response: httpx.Response) -> str:
    issue: str = response.json()["details"][0]["issue"]
    return issue
