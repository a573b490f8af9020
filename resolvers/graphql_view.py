"""The Strawberry ASGI view: context per request, token check at WebSocket connection_init,
documents named by hash (resolvers/trusted_documents.py) over HTTP and WebSocket, documents seen
before answered from their prepared plan (resolvers/prepared.py), and GraphQL-shaped answers for
transport errors (never a stack trace)."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from contextvars import ContextVar
from functools import lru_cache
from typing import Any

from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketState
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http.base import BaseRequestProtocol
from strawberry.http.parse_content_type import parse_content_type
from strawberry.http.types import QueryParams
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import SubscribeMessage
from strawberry.types.unset import UnsetType

from infra.http import graphql_error_body
from models.errors import Unauthenticated
from resolvers.context import AppServices, Context
from resolvers.prepared import Fallback, PreparedOperations, Replay
from resolvers.trusted_documents import DocumentRefused, TrustedDocuments
from schema import PaygraphSchema

log = logging.getLogger("paygraph.graphql")

# The request body `_answer_prepared` decoded, and what it decoded to, for the standard path of
# the same request (its own task, so its own context) to reuse.
_parsed_body: ContextVar[tuple[bytes, Any] | None] = ContextVar(
    "paygraph_parsed_body", default=None
)

# graphql-transport-ws leaves 4400-4499 to the application; 4401 says "who are you?".
WS_UNAUTHENTICATED = 4401


@lru_cache(maxsize=64)
def _json_media_type(content_type: str) -> bool:
    """Whether the standard path reads a body of this Content-Type as JSON: Strawberry's own
    test, on the media type alone (`text/plain; charset=application/json` is not JSON)."""
    return "application/json" in parse_content_type(content_type)[0]


def graphql_error_response(status: int, message: str, code: str) -> Response:
    return Response(
        graphql_error_body(message, code), status_code=status, media_type="application/json"
    )


class _WebSocketAdapter(ASGIWebSocketAdapter):
    async def close(self, code: int, reason: str) -> None:
        # on_ws_connect may already have closed the socket with a more precise code.
        if self.ws.application_state != WebSocketState.DISCONNECTED:
            await self.ws.close(code=code, reason=reason)


class _TransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        """A `subscribe` may name its document by hash, as an HTTP request may; a refused one
        gets an `error` message for its id, as a document that does not validate does."""
        assert isinstance(self.view, PaygraphGraphQL)
        payload = message.get("payload")
        if isinstance(payload, dict) and self.connection_acknowledged:
            try:
                message = {**message, "payload": self.view.trusted_documents.resolve(payload)}
            except DocumentRefused as exc:
                refusal = {"id": message["id"], "type": "error", "payload": [exc.formatted]}
                await self.send_message(refusal)  # type: ignore[arg-type]
                return
        await super().handle_subscribe(message)


class PaygraphGraphQL(GraphQL[Context, None]):
    websocket_adapter_class = _WebSocketAdapter
    graphql_transport_ws_handler_class = _TransportWSHandler

    def __init__(
        self,
        schema: PaygraphSchema,
        services: AppServices,
        *,
        development: bool,
        allowed_origins: Sequence[str] = (),
        trusted_documents: TrustedDocuments | None = None,
    ) -> None:
        """`allowed_origins`: the other origins whose pages may open a WebSocket (Strawberry
        refuses any other cross-origin upgrade with 403: cross-site WebSocket hijacking).
        `trusted_documents`: the documents requests may name by hash (none: no manifest)."""
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
        self.trusted_documents = trusted_documents or TrustedDocuments({})
        self.prepared = PreparedOperations(schema)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope=scope, receive=receive)
        try:
            response: Response = await self._answer_prepared(request) or await self.run(request)
        except HTTPException as exc:
            code = "BAD_REQUEST" if exc.status_code == 400 else f"HTTP_{exc.status_code}"
            response = graphql_error_response(exc.status_code, exc.reason, code)
        except DocumentRefused as exc:
            response = graphql_error_response(400, exc.message, exc.code)
        await response(scope, receive, send)

    async def _answer_prepared(self, request: Request) -> Response | None:
        """The answer from a prepared plan, or None: the standard path answers (it also reports
        whatever is wrong with the request, in its own words)."""
        try:
            if request.method == "POST":
                if not _json_media_type(request.headers.get("content-type", "")):
                    return None  # the standard path refuses it, or reads it otherwise
                body = await request.body()
                data = self.parse_json(body)
                _parsed_body.set((body, data))
            elif request.method == "GET" and self.allow_queries_via_get:
                data = self.parse_query_params(request.query_params)
            else:
                return None
        except (ValueError, DocumentRefused):
            return None
        if not isinstance(data, dict):
            return None
        query, variables = data.get("query"), data.get("variables")
        name, extensions = data.get("operationName"), data.get("extensions")
        if not (
            isinstance(query, str)
            and isinstance(variables, dict | None)
            and isinstance(name, str | None)
            and isinstance(extensions, dict | None)
        ):
            return None
        plan = self.prepared.plan(query, name)
        if plan is None or (plan.mutation and request.method != "POST"):
            return None  # the standard path refuses a mutation sent by GET
        context = await self.get_context(request)
        try:
            return await self.prepared.run(plan, variables, name, context)
        except Fallback:
            return None
        except Replay as ran:
            replay = ran
        # The mutation ran: the standard path answers with its outcome, not by running it
        # (outside the handler, so that an error it replays is not chained to the Replay).
        with self.prepared.replaying(replay):
            return await self.run(request)

    def decode_json(self, data: str | bytes) -> object:
        return json.loads(data)

    def should_render_graphql_ide(self, request: BaseRequestProtocol) -> bool:
        # A GET naming its document by hash has no `query` either: it is an operation.
        params = request.query_params
        named = "documentId" in params or "extensions" in params
        return not named and super().should_render_graphql_ide(request)

    def parse_json(self, data: str | bytes) -> Any:
        """A request body (Strawberry's one caller besides `parse_query_params`, which does
        not come here), with a document named by hash filled in. A body the prepared path
        already read (a mutation, a document without a plan yet) is not decoded again."""
        parsed = _parsed_body.get()
        if parsed is not None and parsed[0] is data:
            return parsed[1]
        return self.trusted_documents.resolve(super().parse_json(data))

    def parse_query_params(self, params: QueryParams) -> dict[str, Any]:
        """A GET request's parameters, with a document named by hash filled in."""
        query: dict[str, Any] = dict(params)
        for key in ("variables", "extensions"):
            if query.get(key):
                query[key] = super().parse_json(query[key])
        resolved: dict[str, Any] = self.trusted_documents.resolve_operation(query)
        return resolved

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
