"""A shop's webhook receiver on a loopback port: it verifies each delivery with the
`standardwebhooks` library (as a shop would, not with our code), records what arrived and
when, and can be told to be down (503) or slow."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.support.server import serve


@dataclass
class Arrival:
    headers: dict[str, str]
    body: bytes
    at: float  # time.time() when it arrived
    status: int  # what the receiver answered
    verified: dict[str, Any] | None  # the payload when a known secret verified it


@dataclass
class Receiver:
    url: str = ""
    secrets: list[str] = field(default_factory=list)
    status: int = 200
    delay: float = 0.0
    arrivals: list[Arrival] = field(default_factory=list)
    in_flight: int = 0  # requests being answered now
    most_in_flight: int = 0

    def app(self) -> Starlette:
        async def hook(request: Request) -> Response:
            body = await request.body()
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            try:
                if self.delay:
                    await asyncio.sleep(self.delay)
            finally:
                self.in_flight -= 1
            headers = dict(request.headers)
            self.arrivals.append(
                Arrival(headers, body, time.time(), self.status, self.verify(body, headers))
            )
            return Response("ok" if self.status < 300 else "down", status_code=self.status)

        return Starlette(routes=[Route("/hooks", hook, methods=["POST"])])

    def verify(self, body: bytes, headers: dict[str, str]) -> dict[str, Any] | None:
        for secret in self.secrets:
            try:
                payload: dict[str, Any] = Webhook(secret).verify(body, headers)
            except WebhookVerificationError:
                continue
            return payload
        return None

    @property
    def delivered(self) -> list[Arrival]:
        """Arrivals it answered with a 2xx."""
        return [a for a in self.arrivals if a.status < 300]

    def delivered_ids(self) -> list[str]:
        return [a.headers["webhook-id"] for a in self.delivered]

    def types(self) -> list[str]:
        return [a.verified["type"] for a in self.delivered if a.verified is not None]

    async def wait_for(self, count: int, *, timeout: float = 15.0) -> list[Arrival]:
        """Until `count` deliveries were answered 2xx (AssertionError after `timeout`)."""
        deadline = time.monotonic() + timeout
        while len(self.delivered) < count:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{len(self.delivered)} of {count} deliveries arrived: {self.types()}"
                )
            await asyncio.sleep(0.05)
        return self.delivered


@contextlib.asynccontextmanager
async def running_receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    async with serve(receiver.app()) as running:
        receiver.url = f"{running.url}/hooks"
        yield receiver
