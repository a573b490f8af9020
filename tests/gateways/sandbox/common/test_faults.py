"""Which request meets which injected fault: method and path pattern, skip, count, rate."""

from __future__ import annotations

import random

from gateways.sandbox.common.faults import Fault, take_fault


def fault(**options: object) -> Fault:
    settings: dict[str, object] = {
        "path": "/v1/orders",
        "method": None,
        "status": 500,
        "delay": 0.0,
        "count": 1,
        "phase": "before",
    }
    settings.update(options)
    return Fault(**settings)  # type: ignore[arg-type]


class TestTakeFault:
    def test_a_used_up_fault_is_forgotten(self) -> None:
        faults = [fault(count=2)]
        assert take_fault(faults, "POST", "/v1/orders") is faults[0]
        assert take_fault(faults, "GET", "/v1/orders") is not None
        assert faults == []
        assert take_fault(faults, "POST", "/v1/orders") is None

    def test_method_and_pattern_must_match(self) -> None:
        faults = [fault(method="POST", path="/v1/payments/*/refund")]
        assert take_fault(faults, "GET", "/v1/payments/pay_1/refund") is None
        assert take_fault(faults, "POST", "/v1/orders") is None
        assert take_fault(faults, "POST", "/v1/payments/pay_1/refund") is not None

    def test_skipped_requests_pass_untouched_first(self) -> None:
        faults = [fault(skip=2)]
        assert [take_fault(faults, "GET", "/v1/orders") for _ in range(2)] == [None, None]
        assert take_fault(faults, "GET", "/v1/orders") is not None

    def test_a_fault_with_nothing_left_stays_listed_and_never_fires(self) -> None:
        faults = [fault(count=0)]
        assert take_fault(faults, "GET", "/v1/orders") is None
        assert len(faults) == 1

    def test_a_rate_fault_applies_to_a_seeded_share(self) -> None:
        def hits(seed: int) -> list[bool]:
            faults = [fault(count=1000, rate=0.3, rng=random.Random(seed))]
            return [take_fault(faults, "GET", "/v1/orders") is not None for _ in range(200)]

        assert hits(7) == hits(7)
        assert 30 < sum(hits(7)) < 90
