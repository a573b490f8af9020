"""Alerts: a signed POST to a real receiver, once per key per window (agreed in Redis), retried
with backoff; the payment error-rate check over real declined payments from the sandbox."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from services.alerts import (
    PAYMENT_ERROR_RATE,
    RECONCILIATION_ISSUE,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    AlertPolicy,
    AlertService,
    AlertWebhook,
)
from services.stats import StatsService
from tests.resolvers.test_payments_api import order_id, pay_and_verify
from tests.support.checkout import FAILING_CARD, Shopper
from tests.support.server import serve

SECRET = "alert-receiver-secret"
WINDOW = 3


@dataclass
class Receiver:
    url: str = ""
    received: list[dict] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)  # statuses to answer first, then 200
    attempts: int = 0


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    state = Receiver()

    async def hook(request: Request) -> Response:
        state.attempts += 1
        if state.answers:
            return Response(status_code=state.answers.pop(0))
        body = await request.body()
        timestamp = request.headers[TIMESTAMP_HEADER]
        expected = hmac.new(
            SECRET.encode(), timestamp.encode() + b"." + body, hashlib.sha256
        ).hexdigest()
        if not hmac.compare_digest(expected, request.headers[SIGNATURE_HEADER]):
            return JSONResponse({"error": "bad signature"}, status_code=401)
        if abs(time.time() - int(timestamp)) > 300:
            return JSONResponse({"error": "stale"}, status_code=401)
        state.received.append(json.loads(body))
        return JSONResponse({"ok": True})

    async with serve(Starlette(routes=[Route("/alerts", hook, methods=["POST"])])) as running:
        state.url = f"{running.url}/alerts"
        yield state


def alert_service(redis, receiver: Receiver | None, **policy) -> AlertService:
    policy.setdefault("window_seconds", WINDOW)
    policy.setdefault("min_attempts", 3)
    policy.setdefault("delivery_base_delay", 0.01)
    return AlertService(
        redis,
        AlertPolicy(**policy),
        webhook=AlertWebhook(receiver.url, SECRET) if receiver else None,
        stats=StatsService(),
    )


async def decline(shopper: Shopper, count: int) -> None:
    for _ in range(count):
        initiated = await shopper.initiate(orderId=order_id(), amount="200.00")
        failed = await shopper.pay_razorpay(
            initiated["checkout"]["gatewayOrderId"], card_number=FAILING_CARD
        )
        result = await shopper.verify(
            paymentId=initiated["payment"]["id"],
            gatewayPaymentId=failed["error"]["metadata"]["payment_id"],
        )
        assert result["payment"]["status"] == "FAILED"


class TestPaymentErrorRate:
    async def test_fires_once_for_a_burst_and_again_only_after_the_window(
        self, client, tokens, redis, receiver
    ):
        shopper = Shopper(client, tokens.mint("cust-alerts"))
        alerts = alert_service(redis, receiver)
        try:
            await decline(shopper, 3)
            first = await alerts.check_error_rate()
            assert [(c.gateway, c.alerting, c.raised) for c in first] == [("RAZORPAY", True, True)]
            started = time.monotonic()
            await decline(shopper, 1)
            again = await alerts.check_error_rate()
            assert [(c.alerting, c.raised) for c in again] == [(True, False)]
            assert len(receiver.received) == 1

            await asyncio.sleep(max(0.0, WINDOW + 0.2 - (time.monotonic() - started)))
            await decline(shopper, 3)
            later = await alerts.check_error_rate()
            assert [(c.alerting, c.raised) for c in later] == [(True, True)]
        finally:
            await alerts.aclose()
        assert len(receiver.received) == 2
        alert = receiver.received[0]
        assert (alert["kind"], alert["key"], alert["severity"]) == (
            PAYMENT_ERROR_RATE,
            "RAZORPAY",
            "error",
        )
        assert alert["details"]["failed_attempts"] == 3 and alert["details"]["error_rate"] == 1.0

    async def test_a_healthy_rate_does_not_alert(self, client, tokens, redis, receiver):
        shopper = Shopper(client, tokens.mint("cust-healthy"))
        for _ in range(3):
            assert (await pay_and_verify(shopper, await shopper.initiate(orderId=order_id())))[
                "payment"
            ]["status"] == "COMPLETED"
        await decline(shopper, 1)
        alerts = alert_service(redis, receiver, error_rate_threshold=0.5)
        try:
            checks = await alerts.check_error_rate()
        finally:
            await alerts.aclose()
        assert [(c.outcomes.failed, c.outcomes.completed, c.alerting) for c in checks] == [
            (1, 3, False)
        ]
        assert receiver.attempts == 0

    async def test_too_few_attempts_to_judge(self, client, tokens, redis, receiver):
        await decline(Shopper(client, tokens.mint("cust-few")), 2)
        alerts = alert_service(redis, receiver, min_attempts=10)
        try:
            checks = await alerts.check_error_rate()
        finally:
            await alerts.aclose()
        assert [c.alerting for c in checks] == [False]
        assert receiver.attempts == 0


class TestRaiseAlert:
    async def test_signed_json_post(self, redis, receiver):
        alerts = alert_service(redis, receiver)
        try:
            assert await alerts.raise_alert(
                RECONCILIATION_ISSUE,
                "DOUBLE_CHARGE:abc",
                {"payment_id": "abc", "amount_minor": 1000},
            )
        finally:
            await alerts.aclose()
        [alert] = receiver.received  # the receiver only keeps verified ones
        assert alert["kind"] == RECONCILIATION_ISSUE and alert["key"] == "DOUBLE_CHARGE:abc"
        assert alert["details"] == {"payment_id": "abc", "amount_minor": 1000}
        assert alert["window_seconds"] == WINDOW

    async def test_once_per_key_per_window_across_processes(self, redis, receiver):
        one, two = alert_service(redis, receiver), alert_service(redis, receiver)
        try:
            assert await one.raise_alert(RECONCILIATION_ISSUE, "k1", {}) is True
            assert await two.raise_alert(RECONCILIATION_ISSUE, "k1", {}) is False
            assert await two.raise_alert(RECONCILIATION_ISSUE, "k2", {}) is True
        finally:
            await one.aclose()
            await two.aclose()
        assert [a["key"] for a in receiver.received] == ["k1", "k2"]

    async def test_retries_a_failing_receiver_then_delivers(self, redis, receiver):
        receiver.answers = [503, 429]
        alerts = alert_service(redis, receiver)
        try:
            assert await alerts.raise_alert(RECONCILIATION_ISSUE, "retry", {})
        finally:
            await alerts.aclose()
        assert receiver.attempts == 3 and len(receiver.received) == 1

    async def test_gives_up_after_bounded_attempts_and_on_a_refusal(self, redis, receiver, caplog):
        receiver.answers = [500] * 10
        alerts = alert_service(redis, receiver, delivery_attempts=3)
        try:
            await alerts.raise_alert(RECONCILIATION_ISSUE, "down", {})
            assert receiver.attempts == 3
            receiver.answers = [400]
            await alerts.raise_alert(RECONCILIATION_ISSUE, "refused", {})
            assert receiver.attempts == 4  # a 4xx is final
        finally:
            await alerts.aclose()
        assert any("was not delivered" in r.getMessage() for r in caplog.records)

    async def test_one_structured_error_log_without_a_webhook(self, redis, caplog):
        alerts = alert_service(redis, None)
        with caplog.at_level(logging.ERROR, logger="paygraph.alerts"):
            assert await alerts.raise_alert(RECONCILIATION_ISSUE, "log-only", {"detail": "x"})
            assert not await alerts.raise_alert(RECONCILIATION_ISSUE, "log-only", {"detail": "x"})
        records = [r for r in caplog.records if r.name == "paygraph.alerts"]
        assert len(records) == 1 and records[0].levelno == logging.ERROR
        assert (records[0].alert_kind, records[0].alert_key) == (RECONCILIATION_ISSUE, "log-only")
