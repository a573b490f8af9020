"""GET /metrics and admin paymentStats after a scripted scenario: exact counts.

The scenario runs against an app and a worker of their own (own port, sandboxes and metrics
registries, the worker's served on WORKER_METRICS_PORT), so every counter starts at zero and the
expected values are exact, not deltas. Each process counts what it does: the API counts accepted
refunds, the worker the refunds it sends and settles and the events it processes."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from app import create_app
from infra import embedded
from tests.resolvers.test_payments_api import pay_and_verify
from tests.resolvers.test_webhooks_api import RAZORPAY, _signed
from tests.support.checkout import FAILING_CARD, Shopper
from tests.support.server import serve
from tests.support.webhooks import eventually, razorpay_envelope
from tests.support.worker import running_worker

REFUND = """
mutation($input: RefundPaymentInput!) {
  refundPayment(input: $input) { __typename ... on RefundSuccess { refund { id status } } ... on UserError { code } }
}"""
REFUND_STATUS = "query($id: ID!) { refund(id: $id) { status } }"

STATS = """
query($groupBy: PaymentStatsGroupBy) {
  paymentStats(groupBy: $groupBy) {
    groupBy
    total { ...G }
    groups { ...G }
  }
}
fragment G on PaymentStatsGroup {
  key payments succeeded failed failedAttempts successRate errorRate averageSecondsToComplete
  byStatus { status count }
  revenue { currency payments captured { amount minor } refunded { minor } net { amount minor }
            averageTransaction { amount minor } }
}"""

N_RAZORPAY, N_PAYPAL, M_FAILED, K_REFUNDED = 3, 1, 2, 1


def _oid() -> str:
    return "MET-" + uuid.uuid4().hex[:12]


@pytest.fixture
def own(settings):
    return settings.model_copy(
        update={"port": embedded.free_port(), "worker_metrics_port": embedded.free_port()}
    )


@pytest.fixture
async def isolated(
    own, tokens, mongo_db, redis, _mongo_database
) -> AsyncIterator[httpx.AsyncClient]:
    try:
        async with serve(create_app(own), port=own.port) as running:
            async with httpx.AsyncClient(base_url=running.url, timeout=15) as http:
                # Gateway webhooks would race the scrape; this test delivers its own.
                await http.post(
                    "/sandbox/razorpay/_control", json={"action": "configure", "webhooks": "drop"}
                )
                await http.post(
                    "/sandbox/paypal/_control", json={"action": "webhooks", "drop": 1000}
                )
                async with running_worker(own):
                    yield http
    finally:
        # The app bound the documents to its own (now closed) client: bind them back.
        from infra.db import init_models

        await init_models(_mongo_database.client, _mongo_database.name)


async def scenario(http: httpx.AsyncClient, tokens: Any) -> None:
    """N card payments completed on Razorpay, one PayPal payment completed, M declined,
    K refunded in full."""
    shopper = Shopper(http, tokens.mint("cust-metrics"))
    admin = Shopper(http, tokens.mint("ops-metrics", admin=True))
    completed = []
    for _ in range(N_RAZORPAY):
        initiated = await shopper.initiate(orderId=_oid(), amount="1000.00")
        verified = await pay_and_verify(shopper, initiated)
        assert verified["payment"]["status"] == "COMPLETED", verified
        completed.append(initiated["payment"]["id"])
    paypal = await shopper.initiate(
        orderId=_oid(), amount="25.00", currency="USD", paymentMethod="PAYPAL"
    )
    await shopper.approve_paypal(paypal["checkout"]["approveUrl"])
    assert (await shopper.verify(paymentId=paypal["payment"]["id"]))["payment"][
        "status"
    ] == "COMPLETED"
    for _ in range(M_FAILED):
        initiated = await shopper.initiate(orderId=_oid(), amount="500.00")
        failed = await shopper.pay_razorpay(
            initiated["checkout"]["gatewayOrderId"], card_number=FAILING_CARD
        )
        result = await shopper.verify(
            paymentId=initiated["payment"]["id"],
            gatewayPaymentId=failed["error"]["metadata"]["payment_id"],
        )
        assert result["payment"]["status"] == "FAILED"
    for pid in completed[:K_REFUNDED]:
        answer = (
            await admin.graphql(
                REFUND, {"input": {"idempotencyKey": str(uuid.uuid4()), "paymentId": pid}}
            )
        )["refundPayment"]
        assert answer["refund"]["status"] == "PENDING", answer

        async def sent(rid: str = answer["refund"]["id"]) -> bool:
            found = await admin.graphql(REFUND_STATUS, {"id": rid})
            return found["refund"]["status"] == "COMPLETED"

        await eventually(sent)


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(found: dict, name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


class TestMetricsOfAScriptedScenario:
    async def test_counters_are_exact(self, isolated, own, tokens, settings):
        await scenario(isolated, tokens)
        body = razorpay_envelope("virtual_account.created", virtual_account={"id": "va_metrics"})
        for _ in range(2):  # delivered twice: one new, one duplicate
            await isolated.post(
                RAZORPAY, content=body, headers=_signed(settings, body, "evt_metrics_1")
            )
        await isolated.post(
            RAZORPAY, content=body, headers=_signed(settings, body, "evt_metrics_2", secret="wrong")
        )

        worker_metrics = f"http://{own.host}:{own.worker_metrics_port}/metrics"

        async def worker_done() -> dict | None:
            # the worker processed the one new event (an ignored type) and left the queue empty
            found = samples((await isolated.get(worker_metrics)).text)
            api = samples((await isolated.get("/metrics")).text)
            processed = "paygraph_webhooks_processed_total"
            done = value(found, processed, gateway="RAZORPAY", outcome="ignored") == 1 and (
                value(api, "paygraph_queue_depth", queue="paygraph:queue") == 0
            )
            return found if done else None

        w = await eventually(worker_done)
        response = await isolated.get("/metrics")
        assert response.status_code == 200
        m = samples(response.text)

        payments = "paygraph_payments_total"
        assert (
            value(m, payments, gateway="RAZORPAY", method="CARD", status="COMPLETED") == N_RAZORPAY
        )
        assert value(m, payments, gateway="RAZORPAY", method="CARD", status="FAILED") == M_FAILED
        # the worker settled the refund, so it moved the payment to REFUNDED
        assert value(m, payments, gateway="RAZORPAY", method="CARD", status="REFUNDED") == 0
        assert (
            value(w, payments, gateway="RAZORPAY", method="CARD", status="REFUNDED") == K_REFUNDED
        )
        assert (
            value(m, payments, gateway="RAZORPAY", method="CARD", status="INITIATED")
            == N_RAZORPAY + M_FAILED
        )
        assert value(m, payments, gateway="PAYPAL", method="PAYPAL", status="COMPLETED") == N_PAYPAL
        assert value(m, payments, gateway="PAYPAL", method="PAYPAL", status="FAILED") == 0
        assert (
            value(m, "paygraph_payment_failed_attempts_total", gateway="RAZORPAY", method="CARD")
            == M_FAILED
        )
        assert (
            value(m, "paygraph_payment_completion_seconds_count", gateway="RAZORPAY", method="CARD")
            == N_RAZORPAY
        )
        assert (
            value(m, "paygraph_payment_completion_seconds_count", gateway="PAYPAL", method="PAYPAL")
            == N_PAYPAL
        )

        # accepted by the API, sent and settled by the worker
        assert (
            value(m, "paygraph_refunds_total", gateway="RAZORPAY", status="PENDING") == K_REFUNDED
        )
        assert value(m, "paygraph_refunds_total", gateway="RAZORPAY", status="COMPLETED") == 0
        assert (
            value(w, "paygraph_refunds_total", gateway="RAZORPAY", status="COMPLETED") == K_REFUNDED
        )
        assert value(w, "paygraph_refunds_total", gateway="RAZORPAY", status="FAILED") == 0

        calls = "paygraph_gateway_calls_total"
        assert (
            value(m, calls, gateway="RAZORPAY", operation="create_order", outcome="ok")
            == N_RAZORPAY + M_FAILED
        )
        assert value(m, calls, gateway="PAYPAL", operation="create_order", outcome="ok") == N_PAYPAL
        assert value(m, calls, gateway="RAZORPAY", operation="refund", outcome="ok") == 0
        assert value(w, calls, gateway="RAZORPAY", operation="refund", outcome="ok") == K_REFUNDED
        assert value(m, calls, gateway="RAZORPAY", operation="verify_webhook", outcome="ok") == 2
        assert (
            value(
                m,
                calls,
                gateway="RAZORPAY",
                operation="verify_webhook",
                outcome="invalid_signature",
            )
            == 1
        )
        assert (
            value(w, "paygraph_gateway_call_seconds_count", gateway="RAZORPAY", operation="refund")
            == K_REFUNDED
        )

        intake = "paygraph_webhooks_received_total"
        assert value(m, intake, gateway="RAZORPAY", outcome="new") == 1
        assert value(m, intake, gateway="RAZORPAY", outcome="duplicate") == 1
        assert value(m, intake, gateway="RAZORPAY", outcome="invalid_signature") == 1

        assert value(m, "paygraph_gateway_circuit_state", gateway="RAZORPAY") == 0
        assert value(m, "paygraph_gateway_circuit_state", gateway="PAYPAL") == 0
        assert value(m, "paygraph_queue_depth", queue="paygraph:queue") == 0

    async def test_payment_stats_totals_match_the_scenario(self, isolated, tokens):
        await scenario(isolated, tokens)
        admin = Shopper(isolated, tokens.mint("ops-stats", admin=True))
        stats = (await admin.graphql(STATS, {"groupBy": "GATEWAY"}))["paymentStats"]
        total = stats["total"]
        assert total["payments"] == N_RAZORPAY + N_PAYPAL + M_FAILED
        assert total["succeeded"] == N_RAZORPAY + N_PAYPAL
        assert total["failed"] == M_FAILED
        assert total["failedAttempts"] == M_FAILED
        assert total["successRate"] == round(4 / 6, 4)
        assert total["errorRate"] == round(2 / 6, 4)
        assert (
            total["averageSecondsToComplete"] is not None and total["averageSecondsToComplete"] >= 0
        )
        assert {s["status"]: s["count"] for s in total["byStatus"]} == {
            "COMPLETED": N_RAZORPAY - K_REFUNDED + N_PAYPAL, "REFUNDED": K_REFUNDED, "FAILED": M_FAILED,
        }  # fmt: skip
        revenue = {r["currency"]: r for r in total["revenue"]}
        assert revenue["INR"] == {
            "currency": "INR",
            "payments": N_RAZORPAY,
            "captured": {"amount": "3000.00", "minor": 300000},
            "refunded": {"minor": 100000},
            "net": {"amount": "2000.00", "minor": 200000},
            "averageTransaction": {"amount": "1000.00", "minor": 100000},
        }
        assert revenue["USD"]["net"] == {"amount": "25.00", "minor": 2500}
        groups = {g["key"]: g for g in stats["groups"]}
        assert set(groups) == {"RAZORPAY", "PAYPAL"}
        assert (groups["RAZORPAY"]["payments"], groups["RAZORPAY"]["failed"]) == (
            N_RAZORPAY + M_FAILED,
            M_FAILED,
        )
        assert (groups["PAYPAL"]["payments"], groups["PAYPAL"]["errorRate"]) == (N_PAYPAL, 0.0)

    async def test_customers_cannot_read_stats(self, isolated, tokens):
        response = await isolated.post(
            "/graphql",
            json={"query": STATS},
            headers={"Authorization": f"Bearer {tokens.mint('cust-nosy')}"},
        )
        body = response.json()
        assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
