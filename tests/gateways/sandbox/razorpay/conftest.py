"""The Razorpay sandbox's test helpers: `rzp` (an authenticated client on a reset sandbox) and
the error envelope's shape. Browser tests here are skipped without Chromium."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.support.browser import skip_browser_tests

if TYPE_CHECKING:  # fixture types only
    from tests.gateways.conftest import SandboxControl


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip_browser_tests(items)  # test_checkout_js.py's browser tests


VISA = "4100 2800 0000 1007"


NA_ENVELOPE = {"source": "NA", "step": "NA", "reason": "NA", "metadata": {}}


@pytest.fixture
def rzp(razorpay_control: SandboxControl, razorpay_http: httpx.AsyncClient) -> Rzp:
    return Rzp(razorpay_http)


class Rzp:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def order(self, amount: int = 50_000, **body: Any) -> dict[str, Any]:
        body.setdefault("currency", "INR")
        body.setdefault("receipt", uuid.uuid4().hex[:20])
        answer = await self.http.post("/v1/orders", json={"amount": amount, **body})
        assert answer.status_code == 200, answer.text
        order: dict[str, Any] = answer.json()
        return order

    async def pay(self, order_id: str, **body: Any) -> httpx.Response:
        return await self.http.post(f"/checkout/{order_id}/pay", json=body)

    async def authorized(self, amount: int = 50_000, card: str = VISA) -> dict[str, Any]:
        order = await self.order(amount)
        answer = await self.pay(order["id"], method="card", card_number=card)
        assert answer.status_code == 200, answer.text
        return await self.get(f"/v1/payments/{answer.json()['razorpay_payment_id']}")

    async def captured(self, amount: int = 50_000) -> dict[str, Any]:
        payment = await self.authorized(amount)
        answer = await self.http.post(
            f"/v1/payments/{payment['id']}/capture", json={"amount": amount, "currency": "INR"}
        )
        assert answer.status_code == 200, answer.text
        captured: dict[str, Any] = answer.json()
        return captured

    async def get(self, path: str, **params: Any) -> dict[str, Any]:
        answer = await self.http.get(path, params=params)
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    async def refund(self, payment_id: str, key: str | None = None, **body: Any) -> httpx.Response:
        headers = {"X-Refund-Idempotency": key} if key else {}
        return await self.http.post(f"/v1/payments/{payment_id}/refund", json=body, headers=headers)


def error_of(answer: httpx.Response) -> dict[str, Any]:
    error: dict[str, Any] = answer.json()["error"]
    return error


async def get_orders(url: str, **options: Any) -> httpx.Response:
    async with httpx.AsyncClient(timeout=5, **options) as http:
        return await http.get(f"{url}/v1/orders")
