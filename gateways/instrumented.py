"""A PaymentGateway wrapper that times every call and classifies its outcome.

The composition root wraps each adapter once, so no adapter carries metrics code and a new
gateway is measured without edits. The wrapper changes nothing: same arguments, same results,
same exceptions. Outcomes: `ok`, or the error split of gateways.base (`unavailable`, `rejected`,
`unknown`, `invalid_signature`), `cancelled`, or `error` for anything else (a bug or malformed answer).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from gateways.base import (
    Gateway,
    GatewayOutcomeUnknown,
    GatewayRejected,
    GatewayUnavailable,
    PaymentGateway,
    WebhookVerificationFailed,
)
from gateways.wrapper import GatewayWrapper

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


class InstrumentedGateway(GatewayWrapper):
    """Delegates to `inner`; reports (gateway, operation, seconds, outcome) for each async call
    (one try: the call policy wraps this, so each retry is timed on its own)."""

    def __init__(self, inner: PaymentGateway, recorder: GatewayCallRecorder) -> None:
        super().__init__(inner)
        self._recorder = recorder

    async def _around(self, operation: str, call: Callable[[], Awaitable[T]]) -> T:
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
