"""The one gateway-call policy: circuit breaker, in-flight limit and retry with backoff.

`PolicyGateway` wraps any PaymentGateway (the composition root wraps each registered adapter
once), so payments, refunds, saved methods and reconciliation call the gateway plainly and all
get the same behaviour:

- Circuit breaker per gateway: after `breaker_threshold` consecutive failures where the gateway
  was unavailable, calls fail at once with `CircuitOpen` for `breaker_cooldown` seconds (then one
  trial goes through). Our own connection pool running dry (`GatewayUnavailable.local`) says
  nothing about the gateway and is not counted.
- In-flight limit: at most `max_in_flight` calls to one gateway from this process; more wait for
  a slot instead of flooding it. A slot is held for one try, never across a backoff.
- Retry: only what `retryable` allows, up to `attempts` tries, waiting a full-jitter
  `base_delay * 2**(n-1)` capped at `max_delay` (1 s -> 30 s), see gateways.retry.

What is never retried automatically, in one place (`retryable`): `GatewayOutcomeUnknown` (a
request that may have acted at the gateway, such as a create or a capture that timed out after it
was sent: the caller resolves it by fetching, never by repeating), `GatewayRejected` (the gateway
said no), and `CircuitOpen`. Operations in `PASS_THROUGH` get none of the policy.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from gateways.base import Gateway, GatewayUnavailable, PaymentGateway
from gateways.circuit import CircuitBreaker
from gateways.retry import with_retries
from gateways.wrapper import GatewayWrapper

T = TypeVar("T")

# Webhook verification answers the gateway's own delivery, which it repeats on any non-2xx:
# one try, no breaker, no slot (intake must answer in milliseconds).
PASS_THROUGH = frozenset({"verify_webhook"})


class CircuitOpen(GatewayUnavailable):
    """The breaker is open: the gateway was not called (nothing happened there)."""

    def __init__(self, gateway: Gateway) -> None:
        super().__init__(gateway, "circuit open: the gateway failed repeatedly", local=True)


def retryable(exc: BaseException) -> bool:
    """Whether a failed try may be repeated: only when the gateway certainly did nothing."""
    return isinstance(exc, GatewayUnavailable) and not isinstance(exc, CircuitOpen)


@dataclass(frozen=True, slots=True)
class CallPolicy:
    attempts: int = 3  # tries of one call on retryable errors
    base_delay: float = 1.0
    max_delay: float = 30.0
    max_in_flight: int = 32  # GATEWAY_MAX_IN_FLIGHT
    breaker_threshold: int = 5
    breaker_cooldown: float = 30.0


class PolicyGateway(GatewayWrapper):
    def __init__(
        self,
        inner: PaymentGateway,
        policy: CallPolicy,
        *,
        breaker: CircuitBreaker | None = None,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        rng: Callable[[], float] = random.random,
    ) -> None:
        super().__init__(inner)
        self.policy = policy
        self.breaker = breaker or CircuitBreaker(
            threshold=policy.breaker_threshold, cooldown=policy.breaker_cooldown
        )
        self._slots = asyncio.Semaphore(policy.max_in_flight)
        self._sleep = sleep
        self._rng = rng

    async def _around(self, operation: str, call: Callable[[], Awaitable[T]]) -> T:
        if operation in PASS_THROUGH:
            return await call()
        return await with_retries(
            lambda: self._try(call),
            max_attempts=self.policy.attempts,
            base_delay=self.policy.base_delay,
            max_delay=self.policy.max_delay,
            retry_if=retryable,
            sleep=self._sleep,
            rng=self._rng,
        )

    async def _try(self, call: Callable[[], Awaitable[T]]) -> T:
        if self.breaker.open:
            raise CircuitOpen(self.name)
        async with self._slots:
            try:
                result = await call()
            except GatewayUnavailable as exc:
                if not exc.local:
                    self.breaker.record_failure()
                raise
        self.breaker.record_success()
        return result


def with_call_policy(
    adapters: list[PaymentGateway], policy: CallPolicy
) -> tuple[list[PaymentGateway], dict[Gateway, CircuitBreaker]]:
    """Each adapter wrapped in the policy, and the breakers (for the metrics' gauges)."""
    wrapped = [PolicyGateway(adapter, policy) for adapter in adapters]
    return list(wrapped), {gateway.name: gateway.breaker for gateway in wrapped}
