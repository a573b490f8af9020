"""Fixtures of the service tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest


@pytest.fixture
async def core(settings, app_server, mongo_db, redis) -> AsyncIterator[Any]:
    """The services as a worker process builds them (no sandboxes of its own: its gateways are
    the running app server's sandboxes), in the test's event loop."""
    from core import build_core

    built = build_core(settings, serve_sandboxes=False)
    try:
        yield built
    finally:
        await built.aclose()
