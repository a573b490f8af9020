"""gateways.retry.with_retries: which errors are retried, and how long it waits."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from gateways.base import Gateway, GatewayOutcomeUnknown, GatewayRejected, GatewayUnavailable
from gateways.retry import backoff_cap, with_retries

RZP = Gateway.RAZORPAY


class Script:
    """A call that raises the scripted errors in turn, then returns "done"."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "done"


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def unavailable(retry_after: float | None = None) -> GatewayUnavailable:
    return GatewayUnavailable(RZP, "HTTP 503", retry_after=retry_after)


async def run(
    call: Callable[[], Awaitable[str]], sleeps: Sleeps, *, rng: float = 1.0, attempts: int = 8
) -> str:
    return await with_retries(call, max_attempts=attempts, sleep=sleeps, rng=lambda: rng)


class TestRetriesUnavailable:
    async def test_returns_the_result_after_transient_failures(self) -> None:
        call, sleeps = Script(unavailable(), unavailable()), Sleeps()
        assert await run(call, sleeps) == "done"
        assert call.calls == 3
        assert len(sleeps.waits) == 2

    async def test_raises_the_last_error_when_attempts_run_out(self) -> None:
        last = unavailable()
        call, sleeps = Script(unavailable(), unavailable(), last), Sleeps()
        with pytest.raises(GatewayUnavailable) as caught:
            await run(call, sleeps, attempts=3)
        assert caught.value is last
        assert call.calls == 3
        assert len(sleeps.waits) == 2  # no sleep after the final attempt

    async def test_real_sleep_is_the_default(self) -> None:
        call = Script(unavailable())
        result = await with_retries(call, max_attempts=2, base_delay=0.001, max_delay=0.002)
        assert result == "done"


class TestNeverRetries:
    async def test_rejected_is_raised_at_once(self) -> None:
        rejected = GatewayRejected(RZP, "declined", gateway_code="BAD_REQUEST_ERROR")
        call, sleeps = Script(rejected), Sleeps()
        with pytest.raises(GatewayRejected):
            await run(call, sleeps)
        assert (call.calls, sleeps.waits) == (1, [])

    async def test_outcome_unknown_is_raised_at_once(self) -> None:
        call, sleeps = Script(GatewayOutcomeUnknown(RZP, "read timeout")), Sleeps()
        with pytest.raises(GatewayOutcomeUnknown):
            await run(call, sleeps)
        assert (call.calls, sleeps.waits) == (1, [])

    async def test_unrelated_exceptions_are_raised_at_once(self) -> None:
        call, sleeps = Script(RuntimeError("bug")), Sleeps()
        with pytest.raises(RuntimeError):
            await run(call, sleeps)
        assert (call.calls, sleeps.waits) == (1, [])


class TestBackoffBounds:
    async def test_upper_bound_doubles_from_one_second_to_thirty(self) -> None:
        call, sleeps = Script(*(unavailable() for _ in range(7))), Sleeps()
        await run(call, sleeps, rng=1.0)
        assert sleeps.waits == [1, 2, 4, 8, 16, 30, 30]

    async def test_full_jitter_scales_the_bound_by_rng(self) -> None:
        call, sleeps = Script(*(unavailable() for _ in range(4))), Sleeps()
        await run(call, sleeps, rng=0.5)
        assert sleeps.waits == [0.5, 1, 2, 4]

    async def test_jitter_can_reach_zero(self) -> None:
        call, sleeps = Script(unavailable(), unavailable()), Sleeps()
        await run(call, sleeps, rng=0.0)
        assert sleeps.waits == [0, 0]

    def test_cap_never_exceeds_max_delay(self) -> None:
        caps = [backoff_cap(n, base_delay=1.0, max_delay=30.0) for n in range(1, 40)]
        assert max(caps) == 30.0
        assert caps[0] == 1.0


class TestRetryAfter:
    async def test_retry_after_raises_the_wait(self) -> None:
        call, sleeps = Script(unavailable(retry_after=5.0)), Sleeps()
        await run(call, sleeps, rng=0.0)
        assert sleeps.waits == [5.0]

    async def test_jitter_above_retry_after_is_kept(self) -> None:
        call, sleeps = Script(unavailable(), unavailable(retry_after=0.5)), Sleeps()
        await run(call, sleeps, rng=1.0)
        assert sleeps.waits == [1.0, 2.0]

    async def test_retry_after_beyond_max_delay_gives_up_without_waiting(self) -> None:
        call, sleeps = Script(unavailable(retry_after=120.0)), Sleeps()
        with pytest.raises(GatewayUnavailable):
            await run(call, sleeps)
        assert (call.calls, sleeps.waits) == (1, [])


class TestBadArguments:
    async def test_zero_attempts_is_a_value_error(self) -> None:
        with pytest.raises(ValueError, match="max_attempts"):
            await with_retries(Script(), max_attempts=0)

    async def test_max_delay_below_base_delay_is_a_value_error(self) -> None:
        with pytest.raises(ValueError, match="base_delay"):
            await with_retries(Script(), max_attempts=2, base_delay=5, max_delay=1)
