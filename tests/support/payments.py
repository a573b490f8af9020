"""The payment service's tests' side of checkout: customers, the sandboxes' control endpoints
and buyer pages, and initiate at the service level (no GraphQL)."""

from __future__ import annotations

import itertools
from typing import Any

import httpx

from models.enums import Role
from models.payment import ClientMetadata, Payment
from services.auth import Principal
from services.payments import InitiateCommand, Initiated
from tests.support.checkout import pay_razorpay

CUSTOMER = Principal("cust-pay", frozenset({Role.CUSTOMER}))
OTHER = Principal("cust-pay-other", frozenset({Role.CUSTOMER}))

_orders = itertools.count(1)


def order_id() -> str:
    return f"PAY-{next(_orders):05d}"


class Sandboxes:
    """The sandboxes' control endpoints and the buyer's side of their checkouts."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def _control(self, gateway: str, action: dict[str, Any] | None) -> dict[str, Any]:
        path = f"/sandbox/{gateway}/_control"
        if action is None:
            response = await self.http.get(path)
        else:
            response = await self.http.post(path, json=action)
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    async def razorpay(self, **action: Any) -> dict[str, Any]:
        return await self._control("razorpay", action or None)

    async def paypal(self, **action: Any) -> dict[str, Any]:
        return await self._control("paypal", action or None)

    async def pay(self, gateway_order_id: str, **body: Any) -> dict[str, Any]:
        return await pay_razorpay(self.http, gateway_order_id, **body)

    async def approve(self, approve_url: str, action: str = "approve") -> None:
        response = await self.http.post(approve_url, json={"action": action})
        assert response.status_code < 400, response.text


async def initiate(core: Any, principal: Principal = CUSTOMER, **fields: Any) -> Initiated:
    fields.setdefault("order_id", order_id())
    fields.setdefault("amount", "499.00")
    initiated: Initiated = await core.payments.initiate(
        principal, InitiateCommand(**fields), ClientMetadata(ip="203.0.113.7")
    )
    return initiated


async def stored(payment_id: object) -> Payment:
    """The payment as the database holds it now."""
    payment = await Payment.get(payment_id)
    assert payment is not None
    return payment
