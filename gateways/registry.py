"""The gateways this process can use, keyed by base.Gateway.

The registry only holds adapters; app.py and the worker settings construct and register them,
so adding a gateway is one folder in gateways/ plus one `register` call at those roots.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import AsyncExitStack

from gateways.base import Gateway, PaymentGateway


class GatewayNotRegistered(KeyError):
    """No adapter is registered for this gateway (not configured in this process)."""

    code = "GATEWAY_NOT_REGISTERED"

    def __init__(self, gateway: Gateway) -> None:
        super().__init__(gateway)
        self.gateway = gateway

    def __str__(self) -> str:
        return f"no adapter registered for gateway {self.gateway}"


class GatewayRegistry:
    """Gateway -> adapter. Iteration yields adapters in registration order (primary first)."""

    def __init__(self, adapters: Iterable[PaymentGateway] = ()) -> None:
        self._adapters: dict[Gateway, PaymentGateway] = {}
        for adapter in adapters:
            self.register(adapter)

    def register(self, adapter: PaymentGateway) -> None:
        if adapter.name in self._adapters:
            raise ValueError(f"an adapter for {adapter.name} is already registered")
        self._adapters[adapter.name] = adapter

    def get(self, gateway: Gateway) -> PaymentGateway:
        try:
            return self._adapters[gateway]
        except KeyError:
            raise GatewayNotRegistered(gateway) from None

    def __contains__(self, gateway: object) -> bool:
        return gateway in self._adapters

    def __iter__(self) -> Iterator[PaymentGateway]:
        return iter(list(self._adapters.values()))

    def __len__(self) -> int:
        return len(self._adapters)

    async def aclose(self) -> None:
        """Close every adapter, even when one fails; the first failure is raised afterwards
        (later ones chained as its context). Adapters close in reverse registration order."""
        async with AsyncExitStack() as stack:
            for adapter in self._adapters.values():
                stack.push_async_callback(adapter.aclose)
