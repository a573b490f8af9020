"""Fixtures of the payment service's tests. The service under test is the worker's (`core`),
talking HTTP to the app server's sandboxes; their webhooks are dropped, so each test hands the
service its events itself."""

from __future__ import annotations

import pytest

from tests.support.payments import Sandboxes


@pytest.fixture
async def sandboxes(client) -> Sandboxes:
    sandboxes = Sandboxes(client)
    await sandboxes.razorpay(action="reset")
    await sandboxes.paypal(action="reset")
    await sandboxes.razorpay(action="configure", webhooks="drop")
    await sandboxes.paypal(action="webhooks", drop=1000)
    return sandboxes
