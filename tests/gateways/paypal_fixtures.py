"""Fixtures for the PayPal adapter and sandbox tests: the sandbox under uvicorn on a free
port (mounted at /sandbox/paypal, as the app mounts it) and a webhook receiver.

Imported explicitly by the PayPal test modules; the server runner is tests/support/server.py's.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from gateways.paypal import PayPalConfig, PayPalGateway
from gateways.sandbox.paypal import PayPalSandboxConfig, create_paypal_sandbox
from tests.support.server import serve_in_thread

CLIENT_ID = "paypal-test-client"
CLIENT_SECRET = "paypal-test-secret"
WEBHOOK_ID = "8PT597110X687430LKGECATA"
RETURN_URL = "http://127.0.0.1:9/checkout/success"
CANCEL_URL = "http://127.0.0.1:9/checkout/cancel"
MOUNT = "/sandbox/paypal"


@contextmanager
def serve_app(app: Any) -> Iterator[str]:
    """Serve an ASGI app (no lifespan) from a thread on a free loopback port; yields its URL."""
    with serve_in_thread(lambda _url: app, name="paypal-sandbox", lifespan="off") as url:
        yield url


@dataclass
class Delivery:
    headers: dict[str, str]
    body: bytes


@dataclass
class WebhookReceiver:
    """Records webhook deliveries; answers 500 to the next `fail_next` of them."""

    url: str = ""
    deliveries: list[Delivery] = field(default_factory=list)
    fail_next: int = 0
    answered_500: int = 0

    def reset(self) -> None:
        self.deliveries.clear()
        self.fail_next = 0
        self.answered_500 = 0

    async def handle(self, request: Request) -> Response:
        body = await request.body()
        if self.fail_next > 0:
            self.fail_next -= 1
            self.answered_500 += 1
            return JSONResponse({"error": "try later"}, 500)
        self.deliveries.append(Delivery({k.lower(): v for k, v in request.headers.items()}, body))
        return JSONResponse({"ok": True})

    def of_type(self, event_type: str) -> list[Delivery]:
        return [d for d in self.deliveries if json.loads(d.body)["event_type"] == event_type]


async def wait_for(predicate: Callable[[], bool], within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


@dataclass
class SandboxHandle:
    """The running PayPal sandbox: its API base URL (mount prefix included) and helpers
    that speak to /_control and the buyer stand-in over real HTTP."""

    url: str
    http: httpx.AsyncClient

    async def control(self, **action: Any) -> dict[str, Any]:
        response = await self.http.post(f"{self.url}/_control", json=action)
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()
        return data

    async def state(self) -> dict[str, Any]:
        data: dict[str, Any] = (await self.http.get(f"{self.url}/_control")).json()
        return data

    async def buyer(self, order_id: str, action: str = "approve") -> httpx.Response:
        return await self.http.post(
            f"{self.url}/checkoutnow", params={"token": order_id}, json={"action": action}
        )

    async def token(self) -> str:
        response = await self.http.post(
            f"{self.url}/v1/oauth2/token",
            auth=(CLIENT_ID, CLIENT_SECRET),
            data={"grant_type": "client_credentials"},
        )
        value: str = response.json()["access_token"]
        return value


@pytest.fixture(scope="session")
def paypal_webhook_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    app = Starlette(routes=[Route("/webhooks/paypal", receiver.handle, methods=["POST"])])
    with serve_app(app) as url:
        receiver.url = f"{url}/webhooks/paypal"
        yield receiver


@pytest.fixture(scope="session")
def paypal_sandbox_url(paypal_webhook_receiver: WebhookReceiver) -> Iterator[str]:
    """The sandbox mounted at /sandbox/paypal like the app mounts it; public_base_url is left
    unset so links are derived from the request (host + mount point)."""
    sandbox = create_paypal_sandbox(
        PayPalSandboxConfig(
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            webhook_id=WEBHOOK_ID,
            webhook_url=paypal_webhook_receiver.url,
            webhook_retry_base=0.02,
            webhook_retry_cap=0.1,
        )
    )
    with serve_app(Starlette(routes=[Mount(MOUNT, app=sandbox)])) as url:
        yield url + MOUNT


@pytest.fixture
async def paypal_sandbox(
    paypal_sandbox_url: str, paypal_webhook_receiver: WebhookReceiver
) -> AsyncIterator[SandboxHandle]:
    """A freshly reset sandbox (and receiver) for one test."""
    async with httpx.AsyncClient(timeout=10) as http:
        handle = SandboxHandle(paypal_sandbox_url, http)
        await handle.control(action="reset")
        await handle.control(action="webhooks", url=paypal_webhook_receiver.url)
        paypal_webhook_receiver.reset()
        yield handle


def paypal_config(base_url: str, **overrides: Any) -> PayPalConfig:
    values: dict[str, Any] = {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "webhook_id": WEBHOOK_ID,
        "base_url": base_url,
        "return_url": RETURN_URL,
        "cancel_url": CANCEL_URL,
        "connect_timeout": 2.0,
        "read_timeout": 5.0,
    }
    values.update(overrides)
    return PayPalConfig(**values)


@pytest.fixture
async def paypal_gateway(paypal_sandbox: SandboxHandle) -> AsyncIterator[PayPalGateway]:
    gateway = PayPalGateway(paypal_config(paypal_sandbox.url))
    yield gateway
    await gateway.aclose()
