"""The Starlette app every sandbox is built into: the gateway's routes plus `/_control`, fault
injection around all of them, and a lifespan that stops background deliveries."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from gateways.sandbox.common.faults import Fault, FaultInjector
from gateways.sandbox.common.http import Json, control_endpoint
from gateways.sandbox.common.webhooks import Outbox


class BaseSandbox:
    """What every sandbox's in-memory state has: the faults still to inject (forgotten on reset,
    with everything else) and the outbox of background deliveries."""

    def __init__(self, webhook_timeout: float) -> None:
        self.outbox = Outbox(webhook_timeout)
        self.faults: list[Fault] = []

    def reset(self) -> None:
        """Forget every entity, fault, setting and webhook record."""
        raise NotImplementedError

    async def aclose(self) -> None:
        """Cancel pending webhook deliveries and timers (call on shutdown when mounted: a
        mounted app's lifespan does not run)."""
        await self.outbox.aclose()

    async def restart(self) -> None:
        """`/_control`'s reset: stop what runs in the background, then forget everything."""
        await self.aclose()
        self.reset()


def sandbox_app(
    sandbox: BaseSandbox,
    *,
    attribute: str,
    routes: Sequence[BaseRoute],
    answer_fault: Callable[[Fault], Response],
    snapshot: Callable[[Request], Json],
    act: Callable[[Request, Json], Awaitable[None]],
    middleware: Sequence[Middleware] = (),
    exception_handlers: Mapping[Any, Callable[[Request, Exception], Awaitable[Response]]]
    | None = None,
) -> Starlette:
    """The app, with `sandbox` on `app.state.<attribute>`. `middleware` runs outside the fault
    injector (it sees every request, faulted or not)."""

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        await sandbox.aclose()

    app = Starlette(
        routes=[
            *routes,
            Route(
                "/_control",
                control_endpoint(sandbox.restart, snapshot, act),
                methods=["GET", "POST"],
            ),
        ],
        middleware=[
            *middleware,
            Middleware(FaultInjector, faults=lambda: sandbox.faults, answer=answer_fault),
        ],
        exception_handlers=dict(exception_handlers or {}),
        lifespan=lifespan,
    )
    setattr(app.state, attribute, sandbox)
    return app
