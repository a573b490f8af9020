"""Fixtures of the refund service tests: a shopper on a reset sandbox, and an admin."""

from __future__ import annotations

import pytest

from tests.support.checkout import Shopper


@pytest.fixture
async def shopper(client, tokens) -> Shopper:
    await client.post("/sandbox/razorpay/_control", json={"action": "reset"})
    return Shopper(client, tokens.mint("cust-sending"))


@pytest.fixture
async def admin(client, tokens) -> Shopper:
    return Shopper(client, tokens.mint("ops-sending", admin=True))
