"""The circuit breaker counts the gateway's failures, not our own connection pool running dry."""

from __future__ import annotations

import itertools

import pytest

from gateways.base import Gateway, GatewayUnavailable, MethodKind
from gateways.circuit import CircuitBreaker
from gateways.policy import CallPolicy, PolicyGateway
from gateways.registry import GatewayRegistry
from models.enums import Role
from models.errors import GatewayUnavailableError
from models.payment import ClientMetadata
from services.auth import Principal
from services.events import EventBus
from services.payments import InitiateCommand, PaymentPolicy, PaymentService

_orders = itertools.count(1)


class DownGateway:
    """A stand-in gateway whose every order call fails as unavailable (unit test only)."""

    name = Gateway.RAZORPAY
    public_key = "rzp_test_stub"

    def __init__(self, *, local: bool) -> None:
        self.local = local
        self.calls = 0

    def supports(self, method: MethodKind, currency: str, amount_minor: int) -> bool:
        return currency == "INR"

    async def create_order(self, request: object) -> object:
        self.calls += 1
        raise GatewayUnavailable(self.name, "down", local=self.local)

    async def aclose(self) -> None:
        return None


@pytest.mark.parametrize(("local", "expected_calls"), [(True, 8), (False, 3)])
async def test_breaker_counts_only_gateway_failures(mongo_db, redis, local, expected_calls):
    gateway = DownGateway(local=local)
    guarded = PolicyGateway(
        gateway,  # type: ignore[arg-type]
        CallPolicy(attempts=1),
        breaker=CircuitBreaker(threshold=3, cooldown=60),
    )
    service = PaymentService(GatewayRegistry([guarded]), EventBus(redis), PaymentPolicy())
    customer = Principal("cust-breaker", frozenset({Role.CUSTOMER}))
    for _ in range(8):
        with pytest.raises(GatewayUnavailableError):
            await service.initiate(
                customer,
                InitiateCommand(order_id=f"BRK-{next(_orders)}", amount="10.00"),
                ClientMetadata(),
            )
    assert gateway.calls == expected_calls
