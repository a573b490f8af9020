"""Live status over graphql-transport-ws, across API processes; fallback; rate limits."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import websockets

from app import create_app
from infra.embedded import free_port
from tests.resolvers.test_payments_api import order_id, pay_and_verify
from tests.support.checkout import Shopper
from tests.support.server import serve
from tests.support.windows import inside_one_window

REPO = Path(__file__).resolve().parents[2]
SUBSCRIBE = (
    """subscription($id: ID!) { paymentStatusChanged(paymentId: $id) { id status attemptCount } }"""
)


@pytest.fixture
async def shopper(client, tokens) -> Shopper:
    return Shopper(client, tokens.mint("cust-live"))


async def open_subscription(base_url: str, token: str, payment_id: str):
    ws = await websockets.connect(
        base_url.replace("http://", "ws://") + "/graphql", subprotocols=["graphql-transport-ws"]
    )
    await ws.send(
        json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
    )
    assert json.loads(await ws.recv())["type"] == "connection_ack"
    await ws.send(
        json.dumps(
            {
                "id": "s1",
                "type": "subscribe",
                "payload": {"query": SUBSCRIBE, "variables": {"id": payment_id}},
            }
        )
    )
    return ws


async def statuses_until_complete(ws, timeout: float = 20.0) -> list[str]:
    seen = []
    async with asyncio.timeout(timeout):
        while True:
            message = json.loads(await ws.recv())
            if message["type"] == "complete":
                return seen
            assert message["type"] == "next", message
            assert "errors" not in message["payload"], message
            seen.append(message["payload"]["data"]["paymentStatusChanged"]["status"])


class TestPaymentStatusChanged:
    async def test_subscriber_opened_before_verify_receives_completed(
        self, app_server, shopper, tokens
    ):
        initiated = await shopper.initiate(orderId=order_id())
        ws = await open_subscription(app_server.url, shopper.token, initiated["payment"]["id"])
        try:
            first = json.loads(await ws.recv())
            assert first["payload"]["data"]["paymentStatusChanged"]["status"] == "INITIATED"
            await pay_and_verify(shopper, initiated)
            rest = await statuses_until_complete(ws)
        finally:
            await ws.close()
        assert rest[-1] == "COMPLETED"

    async def test_reconnecting_client_gets_the_final_state_first(self, app_server, shopper):
        initiated = await shopper.initiate(orderId=order_id())
        await pay_and_verify(shopper, initiated)
        ws = await open_subscription(app_server.url, shopper.token, initiated["payment"]["id"])
        try:
            assert await statuses_until_complete(ws) == ["COMPLETED"]
        finally:
            await ws.close()

    async def test_another_customer_gets_not_found(self, app_server, shopper, tokens):
        initiated = await shopper.initiate(orderId=order_id())
        ws = await open_subscription(
            app_server.url, tokens.mint("intruder"), initiated["payment"]["id"]
        )
        try:
            message = json.loads(await ws.recv())
        finally:
            await ws.close()
        assert message["type"] == "error" or message["payload"].get("errors")
        payload = message["payload"]
        errors = payload if isinstance(payload, list) else payload["errors"]
        assert errors[0]["extensions"]["code"] == "NOT_FOUND"


@pytest.mark.timeout(120)
class TestAcrossProcesses:
    async def test_change_on_one_api_process_reaches_a_subscriber_on_another(
        self, app_server, settings, shopper
    ):
        port = free_port()
        env = {
            **os.environ,
            "APP_ENV": "test",
            "PORT": str(port),
            "MONGODB_URL": settings.mongodb_url,
            "MONGODB_DB": settings.mongodb_db,
            "REDIS_URL": settings.redis_url,
            "JWT_SECRET": settings.jwt_secret,
            "RAZORPAY_KEY_ID": settings.razorpay_key_id,
            "RAZORPAY_KEY_SECRET": settings.razorpay_key_secret,
            "PAYPAL_CLIENT_ID": settings.paypal_client_id,
            "PAYPAL_CLIENT_SECRET": settings.paypal_client_secret,
        }
        other = subprocess.Popen(
            [sys.executable, "-m", "cli", "serve", "--port", str(port)],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        other_url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            async with httpx.AsyncClient() as http:
                while time.monotonic() < deadline:
                    try:
                        if (await http.get(f"{other_url}/readyz")).status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    await asyncio.sleep(0.3)
            initiated = await shopper.initiate(orderId=order_id())
            ws = await open_subscription(other_url, shopper.token, initiated["payment"]["id"])
            try:
                first = json.loads(await ws.recv())
                assert first["payload"]["data"]["paymentStatusChanged"]["status"] == "INITIATED"
                await pay_and_verify(shopper, initiated)  # on the suite's own API process
                rest = await statuses_until_complete(ws)
            finally:
                await ws.close()
            assert rest[-1] == "COMPLETED"
        finally:
            other.terminate()
            other.wait(timeout=20)


class TestFallback:
    async def test_card_in_usd_moves_to_paypal_when_razorpay_is_down(self, client, shopper):
        await client.post("/sandbox/razorpay/_control", json={"action": "reset"})
        await client.post(
            "/sandbox/razorpay/_control",
            json={
                "action": "fault",
                "path": "/v1/orders",
                "method": "POST",
                "status": 503,
                "count": 10,
            },
        )
        try:
            result = await shopper.initiate(
                orderId=order_id(), amount="40.00", currency="USD", paymentMethod="CARD"
            )
        finally:
            await client.post("/sandbox/razorpay/_control", json={"action": "reset"})
        assert result["__typename"] == "InitiatePaymentSuccess", result
        assert result["checkout"]["gateway"] == "PAYPAL"
        assert result["checkout"]["approveUrl"]
        note = result["payment"]["timeline"][-1]["note"]
        assert "RAZORPAY unavailable" in note

    async def test_inr_never_falls_back(self, client, shopper):
        await client.post(
            "/sandbox/razorpay/_control",
            json={
                "action": "fault",
                "path": "/v1/orders",
                "method": "POST",
                "status": 503,
                "count": 10,
            },
        )
        try:
            result = await shopper.initiate(
                orderId=order_id(), amount="40.00", currency="INR", paymentMethod="CARD"
            )
        finally:
            await client.post("/sandbox/razorpay/_control", json={"action": "reset"})
        assert result["code"] == "GATEWAY_UNAVAILABLE"
        assert result["retryable"] is True

    async def test_unknown_outcome_does_not_fall_back_and_a_repeat_resumes(self, client, shopper):
        await client.post("/sandbox/razorpay/_control", json={"action": "reset"})
        # The order is made but its answer comes too late (the suite's read timeout is 2 s),
        # and so does the adapter's lookup by receipt right after (the first GET: a new
        # payment's first create does not look before it creates).
        faults = [
            {"path": "/v1/orders", "method": "POST", "phase": "after", "delay": 4},
            {"path": "/v1/orders", "method": "GET", "phase": "before", "delay": 4},
        ]
        for fault in faults:
            await client.post("/sandbox/razorpay/_control", json={"action": "fault", **fault})
        oid = order_id()
        try:
            result = await shopper.initiate(
                orderId=oid, amount="40.00", currency="USD", paymentMethod="CARD"
            )
        finally:
            await client.post("/sandbox/razorpay/_control", json={"action": "clear_faults"})
        assert result["code"] == "GATEWAY_UNAVAILABLE", result
        again = await shopper.initiate(
            orderId=oid, amount="40.00", currency="USD", paymentMethod="CARD"
        )
        assert again["checkout"]["gateway"] == "RAZORPAY"
        state = (await client.get("/sandbox/razorpay/_control")).json()
        assert state["counts"]["orders"] == 1


class TestRateLimit:
    async def test_sixth_initiation_in_a_minute_is_rate_limited(
        self, app_server, settings, tokens, mongo_db, redis
    ):
        # app_server: the sandbox gateways this second app calls are mounted there.
        limited = settings.model_copy(update={"rate_limit_initiate": "5/minute"})
        async with (
            serve(create_app(limited)) as running,
            httpx.AsyncClient(base_url=running.url) as http,
        ):
            shopper = Shopper(http, tokens.mint("cust-rl"))
            await inside_one_window()  # the six are counted in one clock minute
            results = [await shopper.initiate(orderId=order_id(), amount="10.00") for _ in range(6)]
        assert [r["__typename"] for r in results[:5]] == ["InitiatePaymentSuccess"] * 5, results
        assert results[5]["code"] == "RATE_LIMITED"
        assert 0 < results[5]["retryAfterSeconds"] <= 60
