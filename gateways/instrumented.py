"""A PaymentGateway wrapper that times every call and classifies its outcome.

app.py wraps each adapter once at composition time, so no adapter carries metrics code and a new
gateway is measured without edits. The wrapper changes nothing: same arguments, same results,
same exceptions. Outcomes: `ok`, or the error split of gateways.base (`unavailable`, `rejected`,
`unknown`, `invalid_signature`), `cancelled`, or `error` for anything else (a bug or malformed answer).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol, TypeVar

from gateways.base import (
    CheckoutProof,
    CreateOrderRequest,
    Gateway,
    GatewayEvent,
    GatewayOrder,
    GatewayOutcomeUnknown,
    GatewayPayment,
    GatewayRefund,
    GatewayRejected,
    GatewayUnavailable,
    MethodKind,
    PaymentGateway,
    RefundRequest,
    WebhookVerificationFailed,
)

T = TypeVar("T")


class GatewayCallRecorder(Protocol):
    def gateway_call(
        self, gateway: Gateway, operation: str, seconds: float, outcome: str
    ) -> None: ...


def outcome_of(exc: BaseException) -> str:
    if isinstance(exc, asyncio.CancelledError):
        return "cancelled"
    if isinstance(exc, GatewayUnavailable):
        return "unavailable"
    if isinstance(exc, GatewayRejected):
        return "rejected"
    if isinstance(exc, GatewayOutcomeUnknown):
        return "unknown"
    if isinstance(exc, WebhookVerificationFailed):
        return "invalid_signature"
    return "error"


class InstrumentedGateway:
    """Delegates to `inner`; reports (gateway, operation, seconds, outcome) for each async call."""

    def __init__(self, inner: PaymentGateway, recorder: GatewayCallRecorder) -> None:
        self.inner = inner
        self.name: Gateway = inner.name
        self._recorder = recorder

    async def _timed(self, operation: str, call: Callable[[], Awaitable[T]]) -> T:
        started = time.perf_counter()
        try:
            result = await call()
        except BaseException as exc:
            self._recorder.gateway_call(
                self.name, operation, time.perf_counter() - started, outcome_of(exc)
            )
            raise
        self._recorder.gateway_call(self.name, operation, time.perf_counter() - started, "ok")
        return result

    @property
    def public_key(self) -> str:
        return self.inner.public_key

    def supports(self, method: MethodKind, currency: str, amount_minor: int) -> bool:
        return self.inner.supports(method, currency, amount_minor)

    def verify_checkout(self, proof: CheckoutProof) -> bool:
        return self.inner.verify_checkout(proof)

    async def create_order(self, request: CreateOrderRequest) -> GatewayOrder:
        return await self._timed("create_order", lambda: self.inner.create_order(request))

    async def fetch_order(self, order_id: str) -> GatewayOrder:
        return await self._timed("fetch_order", lambda: self.inner.fetch_order(order_id))

    async def list_order_payments(self, order_id: str) -> list[GatewayPayment]:
        return await self._timed(
            "list_order_payments", lambda: self.inner.list_order_payments(order_id)
        )

    async def fetch_payment(self, payment_id: str) -> GatewayPayment:
        return await self._timed("fetch_payment", lambda: self.inner.fetch_payment(payment_id))

    async def capture(
        self, order_id: str, payment_id: str | None, amount_minor: int, currency: str
    ) -> GatewayPayment:
        return await self._timed(
            "capture", lambda: self.inner.capture(order_id, payment_id, amount_minor, currency)
        )

    async def refund(self, request: RefundRequest) -> GatewayRefund:
        return await self._timed("refund", lambda: self.inner.refund(request))

    async def fetch_refund(self, payment_id: str, refund_id: str) -> GatewayRefund:
        return await self._timed(
            "fetch_refund", lambda: self.inner.fetch_refund(payment_id, refund_id)
        )

    async def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> GatewayEvent:
        return await self._timed("verify_webhook", lambda: self.inner.verify_webhook(headers, body))

    async def aclose(self) -> None:
        await self.inner.aclose()

    def __getattr__(self, name: str) -> Any:
        # Adapter-specific extras (not on the Protocol) pass through untimed.
        return getattr(self.inner, name)
