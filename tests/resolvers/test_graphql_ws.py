"""GraphQL over WebSocket (graphql-transport-ws only), authenticated in connection_init."""

from __future__ import annotations

import json

import pytest
import websockets

PROTOCOL = "graphql-transport-ws"


def ws_url(app_server) -> str:
    return app_server.url.replace("http://", "ws://") + "/graphql"


async def _recv(ws) -> dict:
    return json.loads(await ws.recv())


class TestConnectionInit:
    async def test_valid_token_is_acknowledged_and_queries_run(self, app_server, tokens, mongo_db):
        async with websockets.connect(ws_url(app_server), subprotocols=[PROTOCOL]) as ws:
            token = tokens.mint("ws-cust")
            await ws.send(
                json.dumps(
                    {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
                )
            )
            assert (await _recv(ws))["type"] == "connection_ack"
            await ws.send(
                json.dumps(
                    {
                        "id": "1",
                        "type": "subscribe",
                        "payload": {"query": "{ viewer { customerId } }"},
                    }
                )
            )
            message = await _recv(ws)
            assert message["type"] == "next"
            assert message["payload"]["data"] == {"viewer": {"customerId": "ws-cust"}}
            assert (await _recv(ws))["type"] == "complete"

    @pytest.mark.parametrize(
        ("payload", "reason"),
        [
            ({}, "missing"),
            ({"Authorization": "Bearer garbage"}, "malformed"),
            ({"Authorization": "Token abc"}, "Bearer"),
        ],
    )
    async def test_bad_or_missing_token_closes_with_unauthenticated(
        self, app_server, payload, reason
    ):
        async with websockets.connect(ws_url(app_server), subprotocols=[PROTOCOL]) as ws:
            await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await ws.recv()
        assert closed.value.rcvd.code == 4401
        assert closed.value.rcvd.reason.startswith("UNAUTHENTICATED")
        assert reason in closed.value.rcvd.reason

    async def test_expired_token_is_refused(self, app_server, tokens):
        async with websockets.connect(ws_url(app_server), subprotocols=[PROTOCOL]) as ws:
            token = tokens.mint("c", ttl_seconds=-300)
            await ws.send(
                json.dumps(
                    {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
                )
            )
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await ws.recv()
        assert closed.value.rcvd.code == 4401
        assert "expired" in closed.value.rcvd.reason

    async def test_legacy_graphql_ws_protocol_is_refused(self, app_server):
        async with websockets.connect(ws_url(app_server), subprotocols=["graphql-ws"]) as ws:
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await ws.recv()
        assert closed.value.rcvd.code == 4406
