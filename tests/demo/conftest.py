"""Browser fixtures: the real app served like `paygraph dev` serves it (its own port, the PayPal
return URLs pointing back at it), an arq worker on it, and headless Debian Chromium
(tests/support/browser.py) while the test's event loop keeps serving."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from infra import embedded
from settings import Settings
from tests.support.browser import BrowserThread, running_browser, skip_browser_tests
from tests.support.server import RunningServer, serve
from tests.support.worker import running_worker

SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1180, "height": 900}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip_browser_tests(items)


@pytest.fixture(scope="module")
def demo_settings(settings: Settings) -> Settings:
    port = embedded.free_port()
    base = f"http://127.0.0.1:{port}"
    return settings.model_copy(
        update={
            "port": port,
            "paypal_return_url": f"{base}/checkout/success",
            "paypal_cancel_url": f"{base}/checkout/cancel",
        }
    )


@pytest.fixture(scope="module")
async def demo_server(
    demo_settings: Settings, _mongo_database: Any
) -> AsyncIterator[RunningServer]:
    from app import create_app

    async with serve(create_app(demo_settings), port=demo_settings.port) as running:
        yield running


@pytest.fixture
async def demo(
    demo_server: RunningServer, mongo_db: Any, redis: Any
) -> AsyncIterator[RunningServer]:
    """The demo server with an empty database, flushed Redis and reset sandboxes."""
    import httpx

    async with httpx.AsyncClient(base_url=demo_server.url) as http:
        await http.post("/sandbox/razorpay/_control", json={"action": "reset"})
        await http.post("/sandbox/paypal/_control", json={"action": "reset"})
    yield demo_server


@pytest.fixture
async def demo_worker(demo_settings: Settings, demo: RunningServer) -> AsyncIterator[Any]:
    """A real arq worker for the demo server (it sends refunds; webhooks settle them)."""
    async with running_worker(demo_settings) as running:
        yield running


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[BrowserThread]:
    async with running_browser(SCREENSHOTS) as running:
        yield running
