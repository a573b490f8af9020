"""A PaymentGateway that delegates every call to another one through one hook.

The composition root stacks wrappers around each adapter (the call policy around the
instrumentation around the adapter), so no adapter carries cross-cutting code and a new gateway
gets all of it without edits. A subclass overrides `_around(operation, call)`; every network
operation of the Protocol goes through it, the synchronous ones (`supports`, `verify_checkout`,
`public_key`) do not.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from gateways.base import (
    CheckoutProof,
    CreateOrderRequest,
    Gateway,
    GatewayEvent,
    GatewayOrder,
    GatewayPayment,
    GatewayRefund,
    MethodKind,
    PaymentGateway,
    RefundRequest,
)

T = TypeVar("T")


class GatewayWrapper:
    """Delegates to `inner`; subclasses decide what happens around each async call."""

    def __init__(self, inner: PaymentGateway) -> None:
        self.inner = inner
        self.name: Gateway = inner.name

    async def _around(self, operation: str, call: Callable[[], Awaitable[T]]) -> T:
        return await call()

    @property
    def public_key(self) -> str:
        return self.inner.public_key

    @property
    def checkout_script_url(self) -> str | None:
        return self.inner.checkout_script_url

    def supports(self, method: MethodKind, currency: str, amount_minor: int) -> bool:
        return self.inner.supports(method, currency, amount_minor)

    def verify_checkout(self, proof: CheckoutProof) -> bool:
        return self.inner.verify_checkout(proof)

    async def create_order(self, request: CreateOrderRequest) -> GatewayOrder:
        return await self._around("create_order", lambda: self.inner.create_order(request))

    async def fetch_order(self, order_id: str) -> GatewayOrder:
        return await self._around("fetch_order", lambda: self.inner.fetch_order(order_id))

    async def list_order_payments(self, order_id: str) -> list[GatewayPayment]:
        return await self._around(
            "list_order_payments", lambda: self.inner.list_order_payments(order_id)
        )

    async def fetch_payment(self, payment_id: str) -> GatewayPayment:
        return await self._around("fetch_payment", lambda: self.inner.fetch_payment(payment_id))

    async def capture(
        self, order_id: str, payment_id: str | None, amount_minor: int, currency: str
    ) -> GatewayPayment:
        return await self._around(
            "capture", lambda: self.inner.capture(order_id, payment_id, amount_minor, currency)
        )

    async def refund(self, request: RefundRequest) -> GatewayRefund:
        return await self._around("refund", lambda: self.inner.refund(request))

    async def fetch_refund(self, payment_id: str, refund_id: str) -> GatewayRefund:
        return await self._around(
            "fetch_refund", lambda: self.inner.fetch_refund(payment_id, refund_id)
        )

    async def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> GatewayEvent:
        return await self._around(
            "verify_webhook", lambda: self.inner.verify_webhook(headers, body)
        )

    async def aclose(self) -> None:
        await self.inner.aclose()

    def __getattr__(self, name: str) -> Any:
        # Adapter-specific extras (not on the Protocol) pass through untouched.
        return getattr(self.inner, name)
