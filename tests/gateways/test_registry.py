"""gateways.registry.GatewayRegistry: lookup, iteration and closing."""

from __future__ import annotations

from typing import cast

import pytest

from gateways.base import Gateway, PaymentGateway
from gateways.razorpay import RazorpayConfig, RazorpayGateway
from gateways.registry import GatewayNotRegistered, GatewayRegistry


def razorpay() -> RazorpayGateway:
    # Never called over the network here: the registry only holds and closes adapters.
    return RazorpayGateway(RazorpayConfig(key_id="rzp_test_x", key_secret="secret"))


class ClosingAdapter:
    """The smallest stand-in for a second gateway: a name and an aclose that is recorded."""

    def __init__(self, name: Gateway, closed: list[Gateway], *, fail: bool = False) -> None:
        self.name = name
        self._closed = closed
        self._fail = fail

    async def aclose(self) -> None:
        self._closed.append(self.name)
        if self._fail:
            raise RuntimeError(f"{self.name} failed to close")


def closing(name: Gateway, closed: list[Gateway], *, fail: bool = False) -> PaymentGateway:
    return cast(PaymentGateway, ClosingAdapter(name, closed, fail=fail))


class TestLookup:
    async def test_get_returns_the_registered_adapter(self) -> None:
        adapter = razorpay()
        registry = GatewayRegistry([adapter])
        assert registry.get(Gateway.RAZORPAY) is adapter
        assert Gateway.RAZORPAY in registry
        await registry.aclose()

    def test_unregistered_gateway_is_a_typed_key_error(self) -> None:
        registry = GatewayRegistry()
        with pytest.raises(GatewayNotRegistered) as caught:
            registry.get(Gateway.PAYPAL)
        assert isinstance(caught.value, KeyError)
        assert caught.value.gateway is Gateway.PAYPAL
        assert str(caught.value) == "no adapter registered for gateway PAYPAL"
        assert Gateway.PAYPAL not in registry

    async def test_registering_a_gateway_twice_is_a_value_error(self) -> None:
        first, second = razorpay(), razorpay()
        registry = GatewayRegistry([first])
        with pytest.raises(ValueError, match="already registered"):
            registry.register(second)
        assert registry.get(Gateway.RAZORPAY) is first
        await first.aclose()
        await second.aclose()


class TestIteration:
    async def test_iterates_adapters_in_registration_order(self) -> None:
        closed: list[Gateway] = []
        primary, secondary = razorpay(), closing(Gateway.PAYPAL, closed)
        registry = GatewayRegistry([primary, secondary])
        assert list(registry) == [primary, secondary]
        assert len(registry) == 2
        await registry.aclose()

    def test_razorpay_adapter_satisfies_the_protocol(self) -> None:
        assert isinstance(razorpay(), PaymentGateway)


class TestClose:
    async def test_closes_every_adapter_in_reverse_order(self) -> None:
        closed: list[Gateway] = []
        registry = GatewayRegistry(
            [closing(Gateway.RAZORPAY, closed), closing(Gateway.PAYPAL, closed)]
        )
        await registry.aclose()
        assert closed == [Gateway.PAYPAL, Gateway.RAZORPAY]

    async def test_one_failing_close_does_not_skip_the_others(self) -> None:
        closed: list[Gateway] = []
        registry = GatewayRegistry(
            [closing(Gateway.RAZORPAY, closed), closing(Gateway.PAYPAL, closed, fail=True)]
        )
        with pytest.raises(RuntimeError, match="PAYPAL failed to close"):
            await registry.aclose()
        assert closed == [Gateway.PAYPAL, Gateway.RAZORPAY]

    async def test_closing_the_razorpay_adapter_closes_its_http_client(self) -> None:
        adapter = razorpay()
        await GatewayRegistry([adapter]).aclose()
        assert adapter._client.is_closed
