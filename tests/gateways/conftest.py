"""Gateway-test fixtures: the sandbox gateways served by uvicorn over real loopback HTTP.

The server runner is tests/support/server.py's `serve_in_thread(build)`: a thread with its own
event loop, so that synchronous clients (the razorpay SDK) can call it without deadlocking.

`WebhookInbox` is a webhook receiver for the same server: it records deliveries and can be told
to fail the next N of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp

from gateways.sandbox.razorpay import RazorpaySandboxConfig, create_razorpay_sandbox
from tests.support.server import serve_in_thread

RAZORPAY_PREFIX = "/sandbox/razorpay"
WEBHOOK_SPEED = 1000.0  # webhook retry waits run 1000x faster than Razorpay's schedule


@dataclass(frozen=True)
class ReceivedWebhook:
    path: str
    headers: dict[str, str]
    body: bytes


class WebhookInbox:
    """Records webhook deliveries (thread-safe: the server runs on another thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._received: list[ReceivedWebhook] = []
        self._refused = 0
        self._fail_next = 0

    def app(self) -> Starlette:
        async def receive(request: Request) -> Response:
            body = await request.body()
            with self._lock:
                if self._fail_next:
                    self._fail_next -= 1
                    self._refused += 1
                    return Response(status_code=500)
                self._received.append(
                    ReceivedWebhook(request.url.path, dict(request.headers), body)
                )
            return Response(status_code=204)

        return Starlette(routes=[Route("/{gateway}", receive, methods=["POST"])])

    def clear(self) -> None:
        with self._lock:
            self._received.clear()
            self._refused = 0
            self._fail_next = 0

    def fail_next(self, count: int) -> None:
        with self._lock:
            self._fail_next = count

    @property
    def received(self) -> list[ReceivedWebhook]:
        with self._lock:
            return list(self._received)

    @property
    def refused(self) -> int:
        with self._lock:
            return self._refused

    async def wait_for(self, count: int, *, within: float = 5.0) -> list[ReceivedWebhook]:
        deadline = time.monotonic() + within
        while len(self.received) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} webhooks, got {len(self.received)}")
            await asyncio.sleep(0.01)
        return self.received

    async def settle(self, quiet: float = 0.2) -> list[ReceivedWebhook]:
        """Wait until no new delivery arrived for `quiet` seconds; return everything received."""
        seen = -1
        while seen != len(self.received):
            seen = len(self.received)
            await asyncio.sleep(quiet)
        return self.received


@dataclass(frozen=True)
class RazorpayCredentials:
    key_id: str = "rzp_test_PaygraphSbx01"
    key_secret: str = "sandbox-key-secret-0123456789"
    webhook_secret: str = "sandbox-webhook-secret-987654"


@dataclass(frozen=True)
class _RazorpayServer:
    url: str
    inbox: WebhookInbox


@pytest.fixture(scope="session")
def razorpay_credentials() -> RazorpayCredentials:
    return RazorpayCredentials()


@pytest.fixture(scope="session")
def _razorpay_server(razorpay_credentials: RazorpayCredentials) -> Iterator[_RazorpayServer]:
    inbox = WebhookInbox()

    def build(base_url: str) -> ASGIApp:
        sandbox = create_razorpay_sandbox(
            RazorpaySandboxConfig(
                key_id=razorpay_credentials.key_id,
                key_secret=razorpay_credentials.key_secret,
                webhook_secret=razorpay_credentials.webhook_secret,
                webhook_url=f"{base_url}/hooks/razorpay",
                speed=WEBHOOK_SPEED,
                # These tests walk payments through authorized -> captured themselves.
                auto_capture=False,
            )
        )

        @contextlib.asynccontextmanager
        async def lifespan(app: Starlette) -> AsyncIterator[None]:
            yield
            await sandbox.state.razorpay_sandbox.aclose()  # a mounted app's lifespan never runs

        return Starlette(
            routes=[Mount(RAZORPAY_PREFIX, app=sandbox), Mount("/hooks", app=inbox.app())],
            lifespan=lifespan,
        )

    with serve_in_thread(build, name="razorpay-sandbox") as base_url:
        yield _RazorpayServer(base_url + RAZORPAY_PREFIX, inbox)


@pytest.fixture(scope="session")
def razorpay_sandbox_url(_razorpay_server: _RazorpayServer) -> str:
    """Base URL of the Razorpay sandbox (mounted at /sandbox/razorpay, as in the app)."""
    return _razorpay_server.url


class SandboxControl:
    """The sandbox's /_control endpoint."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def post(self, **body: Any) -> dict[str, Any]:
        answer = await self.http.post("/_control", json=body)
        assert answer.status_code == 200, answer.text
        state: dict[str, Any] = answer.json()
        return state

    async def state(self) -> dict[str, Any]:
        answer = await self.http.get("/_control")
        assert answer.status_code == 200, answer.text
        state: dict[str, Any] = answer.json()
        return state

    async def fault(self, path: str, **options: Any) -> None:
        await self.post(action="fault", path=path, **options)


@pytest.fixture(scope="session")
async def razorpay_http(
    razorpay_sandbox_url: str, razorpay_credentials: RazorpayCredentials
) -> AsyncIterator[httpx.AsyncClient]:
    """A plain HTTP client for the Razorpay sandbox, authenticated with the test keys."""
    async with httpx.AsyncClient(
        base_url=razorpay_sandbox_url,
        auth=(razorpay_credentials.key_id, razorpay_credentials.key_secret),
        timeout=5,
    ) as http:
        yield http


@pytest.fixture
async def razorpay_control(
    _razorpay_server: _RazorpayServer, razorpay_http: httpx.AsyncClient
) -> SandboxControl:
    """Control of the Razorpay sandbox, reset to a clean state (and a quiet inbox) first."""
    control = SandboxControl(razorpay_http)
    await control.post(action="reset")
    _razorpay_server.inbox.clear()
    return control


@pytest.fixture
def razorpay_webhooks(
    _razorpay_server: _RazorpayServer, razorpay_control: SandboxControl
) -> WebhookInbox:
    """Webhooks the Razorpay sandbox delivered during this test."""
    return _razorpay_server.inbox
