"""Browser apps on other origins: CORS on /graphql and /demo/token, the Origin check of
WebSocket upgrades, and CORS_ALLOW_ORIGINS parsing."""

from __future__ import annotations

import json

import pytest
import websockets

from settings import AppEnv, ConfigurationError, Settings, load_settings

SHOP = "http://localhost:5173"  # a Vite dev server: on the development default list
EVIL = "https://evil.example"
PREFLIGHT = {"access-control-request-method": "POST", "access-control-request-headers": "authorization,content-type"}  # fmt: skip


class TestPreflight:
    @pytest.mark.parametrize("path", ["/graphql", "/demo/token"])
    async def test_an_allowed_origin_may_post(self, client, path):
        answer = await client.options(path, headers={"origin": SHOP, **PREFLIGHT})
        assert answer.status_code == 200
        assert answer.headers["access-control-allow-origin"] == SHOP
        assert "authorization" in answer.headers["access-control-allow-headers"].lower()
        assert "access-control-allow-credentials" not in answer.headers

    async def test_another_origin_is_refused(self, client):
        answer = await client.options("/graphql", headers={"origin": EVIL, **PREFLIGHT})
        assert answer.status_code == 400
        assert "access-control-allow-origin" not in answer.headers

    async def test_webhooks_are_not_opened_to_browsers(self, client):
        answer = await client.options(
            "/api/webhooks/razorpay", headers={"origin": SHOP, **PREFLIGHT}
        )
        assert "access-control-allow-origin" not in answer.headers


class TestSimpleRequests:
    async def test_a_query_from_an_allowed_origin_carries_the_header(self, client, tokens):
        answer = await client.post(
            "/graphql",
            json={"query": "{ viewer { customerId } }"},
            headers={"origin": SHOP, "authorization": f"Bearer {tokens.mint('cors-1')}"},
        )
        assert answer.status_code == 200
        assert answer.json()["data"]["viewer"]["customerId"] == "cors-1"
        assert answer.headers["access-control-allow-origin"] == SHOP
        # A browser app may read the request id and, on a 503, when to try again.
        exposed = answer.headers["access-control-expose-headers"].lower()
        assert "x-request-id" in exposed and "retry-after" in exposed

    async def test_a_query_from_another_origin_gets_no_header(self, client, tokens):
        answer = await client.post(
            "/graphql",
            json={"query": "{ viewer { customerId } }"},
            headers={"origin": EVIL, "authorization": f"Bearer {tokens.mint('cors-2')}"},
        )
        assert "access-control-allow-origin" not in answer.headers


def ws_url(app_server) -> str:
    return app_server.url.replace("http://", "ws://") + "/graphql"


async def _acknowledged(url: str, token: str, **connect) -> bool:
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"], **connect) as ws:
        init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
        await ws.send(json.dumps(init))
        return json.loads(await ws.recv())["type"] == "connection_ack"


class TestWebSocketOrigin:
    async def test_a_socket_from_another_origin_is_refused_before_it_opens(self, app_server):
        with pytest.raises(websockets.InvalidStatus) as refused:
            await _acknowledged(ws_url(app_server), "x", origin=EVIL)
        assert refused.value.response.status_code == 403

    @pytest.mark.parametrize("origin", [SHOP, None, "same"])
    async def test_allowed_own_or_no_origin_connects(self, app_server, tokens, origin):
        if origin == "same":
            origin = app_server.url  # the demo page on this server
        extra = {"origin": origin} if origin else {}
        assert await _acknowledged(ws_url(app_server), tokens.mint("cors-ws"), **extra)


class TestConfiguration:
    def test_development_default_is_this_server_and_local_dev_ports(self):
        settings = Settings(_env_file=None, port=8123)  # type: ignore[call-arg]
        assert "http://127.0.0.1:8123" in settings.cors_origins
        assert "http://localhost:5173" in settings.cors_origins
        assert EVIL not in settings.cors_origins

    def test_production_default_is_no_origin(self):
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            app_env=AppEnv.PRODUCTION,
            jwt_secret="p" * 40,
            encryption_keys="Dqp2l_F5gF5e5H8KGdgmK-Qw1dYyGQ9U2o9m6yJgq2s=",
            mongodb_url="mongodb://db/?replicaSet=rs0",
            redis_url="redis://cache:6379/0",
            razorpay_key_id="rzp_live_x",
            razorpay_key_secret="s",
        )
        assert settings.cors_origins == ()

    def test_a_list_is_taken_as_given(self):
        settings = Settings(_env_file=None, cors_allow_origins=f"{SHOP}, https://shop.example")  # type: ignore[call-arg]
        assert settings.cors_origins == (SHOP, "https://shop.example")

    @pytest.mark.parametrize("value", ["*", "https://shop.example/checkout", "shop.example"])
    def test_anything_but_origins_is_refused_naming_the_variable(self, value):
        with pytest.raises(ConfigurationError, match="CORS_ALLOW_ORIGINS"):
            load_settings(_env_file=None, cors_allow_origins=value)
