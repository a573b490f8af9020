"""Fixtures of the events-out tests: a shop's receiver on a loopback port, an endpoint
registered for it, a shopper and an admin on a reset sandbox."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.checkout import Shopper
from tests.support.receiver import Receiver, running_receiver


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with running_receiver() as running:
        yield running


@pytest.fixture
async def endpoint(core, receiver) -> str:
    """An endpoint for every event type, its secret given to the receiver."""
    registered, secret = await core.events_out.create_endpoint(receiver.url, [], "the shop")
    receiver.secrets.append(secret)
    return str(registered.id)


@pytest.fixture
async def shopper(client, tokens) -> Shopper:
    await client.post("/sandbox/razorpay/_control", json={"action": "reset"})
    return Shopper(client, tokens.mint("cust-events"))


@pytest.fixture
async def admin(client, tokens) -> Shopper:
    return Shopper(client, tokens.mint("ops-events", admin=True))
