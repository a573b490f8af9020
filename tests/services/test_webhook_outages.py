"""Webhook intake and processing through outages: Redis down, a worker killed, MongoDB
refusing writes. Nothing is lost; every event is applied once things come back."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from app import create_app
from core import build_core
from infra import embedded
from infra.db import init_models
from models.clock import utcnow
from models.enums import PaymentStatus, WebhookEventStatus
from models.payment import Payment
from models.webhook_event import WebhookEvent
from tests.resolvers.test_payments_api import order_id
from tests.support.checkout import Shopper
from tests.support.server import serve
from tests.support.webhooks import eventually, razorpay_envelope, razorpay_signature
from tests.support.worker import running_worker

REPO = Path(__file__).resolve().parents[2]
RAZORPAY = "/api/webhooks/razorpay"


@pytest.fixture
async def shopper(client, tokens) -> Shopper:
    await client.post("/sandbox/razorpay/_control", json={"action": "reset"})
    return Shopper(client, tokens.mint("cust-outage"))


async def captured_payments(client, settings, shopper, count: int) -> list[tuple[str, bytes]]:
    """`count` payments captured at the sandbox whose webhooks were dropped: for each, our
    payment id and a payment.captured body as Razorpay would send it."""
    await client.post(
        "/sandbox/razorpay/_control",
        json={"action": "configure", "webhooks": "drop", "auto_capture": True},
    )
    auth = (settings.razorpay_key_id, settings.razorpay_key_secret)
    made = []
    for _ in range(count):
        initiated = await shopper.initiate(orderId=order_id())
        paid = await shopper.pay_razorpay(initiated["checkout"]["gatewayOrderId"])
        entity = (
            await client.get(
                f"/sandbox/razorpay/v1/payments/{paid['razorpay_payment_id']}", auth=auth
            )
        ).json()
        made.append(
            (initiated["payment"]["id"], razorpay_envelope("payment.captured", payment=entity))
        )
    return made


def headers(settings, body: bytes, event_id: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-Razorpay-Signature": razorpay_signature(settings.razorpay_webhook_secret, body),
        "X-Razorpay-Event-Id": event_id,
    }


async def all_completed(payment_ids: list[str]) -> bool:
    statuses = [(await Payment.get(pid)).status for pid in payment_ids]
    return all(s is PaymentStatus.COMPLETED for s in statuses)


@pytest.mark.timeout(120)
class TestRedisDownDuringIntake:
    async def test_every_event_is_answered_200_and_applied_after_redis_returns(
        self, client, settings, shopper, _mongo_database
    ):
        made = await captured_payments(client, settings, shopper, 5)
        own_redis = embedded.start_redis()
        port = int(own_redis.url.rsplit(":", 1)[1].split("/")[0])
        isolated = settings.model_copy(update={"redis_url": own_redis.url})
        try:
            async with (
                serve(create_app(isolated)) as running,
                httpx.AsyncClient(base_url=running.url) as http,
            ):
                own_redis.stop()
                answers = [
                    await http.post(
                        RAZORPAY, content=body, headers=headers(settings, body, f"evt_rd_{i}")
                    )
                    for i, (_, body) in enumerate(made)
                ]
            await rebind_models(_mongo_database)
            assert [a.status_code for a in answers] == [200] * len(made)
            assert await WebhookEvent.find({"status": "RECEIVED"}).count() == len(made)
            own_redis = embedded.start_redis(port=port)
            core = build_core(isolated, serve_sandboxes=False)
            try:
                assert await core.inbox.sweep(now=utcnow() + timedelta(minutes=5)) == len(made)
            finally:
                await core.aclose()
            await run_worker_until(isolated, lambda: all_applied(made))
        finally:
            own_redis.stop()
            await rebind_models(_mongo_database)
        assert await WebhookEvent.find({"status": "PROCESSED"}).count() == len(made)


async def all_applied(made: list[tuple[str, bytes]]) -> bool:
    """Every payment completed and every inbox row marked processed (the row is marked just
    after its effect is written)."""
    processed = await WebhookEvent.find({"status": WebhookEventStatus.PROCESSED.value}).count()
    return processed == len(made) and await all_completed([pid for pid, _ in made])


async def rebind_models(database) -> None:
    """The isolated app bound the documents to its own (now closed) client: bind them back."""
    await init_models(database.client, database.name)


async def run_worker_until(settings, condition, within: float = 60.0) -> None:
    async with running_worker(settings):
        await eventually(condition, within=within)


@pytest.mark.timeout(240)
class TestWorkerKilled:
    async def test_events_of_a_killed_worker_are_applied_by_the_next(
        self, client, settings, shopper, mongo_db
    ):
        made = await captured_payments(client, settings, shopper, 30)
        env = {
            **os.environ,
            "APP_ENV": "test",
            "PORT": str(settings.port),
            "MONGODB_URL": settings.mongodb_url,
            "MONGODB_DB": settings.mongodb_db,
            "REDIS_URL": settings.redis_url,
            "JWT_SECRET": settings.jwt_secret,
            "RAZORPAY_KEY_ID": settings.razorpay_key_id,
            "RAZORPAY_KEY_SECRET": settings.razorpay_key_secret,
            "RAZORPAY_WEBHOOK_SECRET": settings.razorpay_webhook_secret,
            "PAYPAL_CLIENT_ID": settings.paypal_client_id,
            "PAYPAL_CLIENT_SECRET": settings.paypal_client_secret,
            "PAYPAL_WEBHOOK_ID": settings.paypal_webhook_id,
        }
        first = subprocess.Popen([sys.executable, "-m", "cli", "worker"], cwd=REPO, env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        second = None
        try:
            for i, (_, body) in enumerate(made):
                response = await client.post(
                    RAZORPAY, content=body, headers=headers(settings, body, f"evt_wk_{i}")
                )
                assert response.status_code == 200

            async def some_processed() -> bool:
                return await WebhookEvent.find({"status": "PROCESSED"}).count() >= 1

            await eventually(some_processed, within=60)
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
            second = subprocess.Popen([sys.executable, "-m", "cli", "worker"], cwd=REPO, env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
            core = build_core(settings, serve_sandboxes=False)

            async def recovered() -> bool:
                # What the sweep cron does each minute: re-enqueue rows left unprocessed, which
                # also frees the killed worker's jobs once they are older than a job may run.
                await core.inbox.sweep()
                processed = await WebhookEvent.find(
                    {"status": WebhookEventStatus.PROCESSED.value}
                ).count()
                # A job killed between applying its event and marking the row leaves the
                # payment completed and the row pending: it must be finished too.
                return processed == len(made) and await all_completed([pid for pid, _ in made])

            try:
                await eventually(recovered, within=150, every=2)
            finally:
                await core.aclose()
        finally:
            for process in (first, second):
                if process is not None and process.poll() is None:
                    process.terminate()
                    process.wait(timeout=30)
        assert await WebhookEvent.find(
            {"status": WebhookEventStatus.PROCESSED.value}
        ).count() == len(made)


@pytest.mark.timeout(60)
class TestMongoRefusingWrites:
    async def test_intake_answers_503_and_the_gateway_retry_is_applied(
        self, client, settings, shopper, worker, _mongo_database
    ):
        initiated = await shopper.initiate(orderId=order_id())
        await client.post(
            "/sandbox/razorpay/_control", json={"action": "configure", "auto_capture": True}
        )
        admin = _mongo_database.client.admin
        await admin.command(
            {
                "configureFailPoint": "failCommand",
                # A plain, non-retryable write error on the next insert (the webhook row).
                "mode": {"times": 1},
                "data": {"failCommands": ["insert"], "errorCode": 2},
            }
        )
        try:
            await shopper.pay_razorpay(initiated["checkout"]["gatewayOrderId"])
            pid = initiated["payment"]["id"]
            await eventually(lambda: _completed(pid), within=30)
        finally:
            await admin.command({"configureFailPoint": "failCommand", "mode": "off"})

        async def retried_and_delivered() -> list[dict]:
            deliveries = (await client.get("/sandbox/razorpay/_control")).json()["deliveries"]
            return deliveries if all(d["delivered"] for d in deliveries) else []

        deliveries = await eventually(retried_and_delivered, within=20)
        refused = [d for d in deliveries if "503" in [str(s) for s in d["statuses"]]]
        assert len(refused) == 1 and [str(s) for s in refused[0]["statuses"]][-1] == "200"
        row = await WebhookEvent.find_one({"gateway_event_id": refused[0]["event_id"]})
        assert row is not None
        await eventually(lambda: _processed(row.gateway_event_id), within=20)


async def _processed(event_id: str) -> bool:
    row = await WebhookEvent.find_one({"gateway_event_id": event_id})
    return row is not None and row.status is WebhookEventStatus.PROCESSED


async def _completed(pid: str) -> bool:
    payment = await Payment.get(pid)
    return payment.status is PaymentStatus.COMPLETED
