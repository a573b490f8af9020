"""CORS for the paths a browser app on another origin calls (the same origins may open the
GraphQL WebSocket: Strawberry's `allowed_origins` checks those upgrades, see resolvers/).

Only the paths given are opened; webhooks, probes and metrics are never called from a browser.
Tokens travel in the Authorization header, never in cookies, so credentials are not allowed.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send


class CrossOriginMiddleware:
    """CORS (Starlette's middleware) on `paths` only; everything else passes untouched."""

    def __init__(self, app: ASGIApp, *, origins: Iterable[str], paths: Iterable[str]) -> None:
        self.app = app
        self.origins = frozenset(origins)
        self.paths = frozenset(paths)
        self.cors = CORSMiddleware(
            app,
            allow_origins=sorted(self.origins),
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["authorization", "content-type", "x-request-id"],
            expose_headers=["x-request-id"],
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in self.paths:
            await self.cors(scope, receive, send)
            return
        await self.app(scope, receive, send)
