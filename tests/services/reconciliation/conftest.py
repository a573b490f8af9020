"""Fixtures of the reconciliation tests: a shopper whose webhooks are all lost, and an admin."""

from __future__ import annotations

import pytest

from tests.support.checkout import Shopper
from tests.support.reconciliation import shopper  # noqa: F401


@pytest.fixture
async def admin(client, tokens) -> Shopper:
    return Shopper(client, tokens.mint("ops-recon", admin=True))
