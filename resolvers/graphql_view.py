"""The Strawberry ASGI view: context per request, token check at WebSocket connection_init,
and GraphQL-shaped answers for transport errors (never a stack trace)."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketState
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UnsetType

from models.errors import Unauthenticated
from resolvers.context import AppServices, Context
from schema import PaygraphSchema

log = logging.getLogger("paygraph.graphql")

# graphql-transport-ws leaves 4400-4499 to the application; 4401 says "who are you?".
WS_UNAUTHENTICATED = 4401


def graphql_error_response(status: int, message: str, code: str) -> JSONResponse:
    return JSONResponse(
        {"data": None, "errors": [{"message": message, "extensions": {"code": code}}]},
        status_code=status,
    )


class _WebSocketAdapter(ASGIWebSocketAdapter):
    async def close(self, code: int, reason: str) -> None:
        # on_ws_connect may already have closed the socket with a more precise code.
        if self.ws.application_state != WebSocketState.DISCONNECTED:
            await self.ws.close(code=code, reason=reason)


class PaygraphGraphQL(GraphQL[Context, None]):
    websocket_adapter_class = _WebSocketAdapter

    def __init__(
        self,
        schema: PaygraphSchema,
        services: AppServices,
        *,
        development: bool,
        allowed_origins: Sequence[str] = (),
    ) -> None:
        """`allowed_origins`: the other origins whose pages may open a WebSocket (Strawberry
        refuses any other cross-origin upgrade with 403: cross-site WebSocket hijacking)."""
        super().__init__(
            schema,
            graphql_ide="graphiql" if development else None,
            allow_queries_via_get=development,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            keep_alive=True,
            keep_alive_interval=15,
            allowed_origins=allowed_origins,
        )
        self._services = services

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope=scope, receive=receive)
        try:
            response: Response = await self.run(request)
        except HTTPException as exc:
            code = "BAD_REQUEST" if exc.status_code == 400 else f"HTTP_{exc.status_code}"
            response = graphql_error_response(exc.status_code, exc.reason, code)
        await response(scope, receive, send)

    def decode_json(self, data: str | bytes) -> object:
        return json.loads(data)

    async def get_context(self, request: Request | WebSocket, response: Any = None) -> Context:
        authorization = request.headers.get("authorization")
        if isinstance(request, WebSocket):
            # Browsers cannot set headers on a WebSocket: the token travels in connection_init.
            authorization = None
        return Context(request=request, services=self._services, authorization=authorization)

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        try:
            context.require_principal()
        except Unauthenticated as exc:
            websocket = context.request
            assert isinstance(websocket, WebSocket)
            await websocket.close(code=WS_UNAUTHENTICATED, reason=f"UNAUTHENTICATED: {exc.message}")
            raise ConnectionRejectionError() from None
        return await super().on_ws_connect(context)
