"""Admin GraphQL over reconciliation: runReconciliation and reconciliationReports."""

from __future__ import annotations

import pytest

from models.enums import PaymentStatus
from models.payment import Payment
from services.reconciliation import LOCK_KEY
from tests.resolvers.test_metrics_api import samples, value
from tests.support.checkout import Shopper
from tests.support.reconciliation import (  # noqa: F401
    age,
    paid_without_verify,
    razorpay,
    shopper,
    verified,
)

REPORT_FIELDS = """
    id dryRun trigger startedAt finishedAt checkedPayments checkedRefunds recovered expired
    failedAttempts refundsSettled unchanged gatewayErrors fixesNotListed errors
    fixes { kind paymentId orderId gateway gatewayOrderId gatewayPaymentId expected actual action detail }
    issues { kind paymentId gatewayPaymentId expected actual action }
"""

RUN = (
    """
mutation($dryRun: Boolean!, $since: Int) {
  runReconciliation(dryRun: $dryRun, sinceSeconds: $since) {
    __typename
    ... on ReconciliationRunSuccess { report { %s } }
    ... on UserError { code message }
    ... on ReconciliationRunningError { retryAfterSeconds }
  }
}"""
    % REPORT_FIELDS
)

REPORTS = """
query($first: Int!, $after: String) {
  reconciliationReports(first: $first, after: $after) {
    edges { cursor node { id trigger recovered } }
    pageInfo { hasNextPage endCursor }
  }
}"""


@pytest.fixture
async def admin(client, tokens) -> Shopper:
    return Shopper(client, tokens.mint("ops-recon-api", admin=True))


async def run(who: Shopper, dry_run: bool = False, since: int | None = None) -> dict:
    return (await who.graphql(RUN, {"dryRun": dry_run, "since": since}))["runReconciliation"]


class TestRunReconciliation:
    async def test_dry_run_then_real_run(self, admin, shopper):
        pid, _ = await paid_without_verify(shopper)
        await age(pid, 10)

        dry = await run(admin, dry_run=True)
        assert dry["__typename"] == "ReconciliationRunSuccess"
        report = dry["report"]
        assert (report["id"], report["dryRun"], report["trigger"]) == (None, True, "ADMIN")
        [fix] = report["fixes"]
        assert fix["kind"] == "RECOVERED" and fix["paymentId"] == pid
        assert fix["action"] == "would complete (dry run)"
        assert (await Payment.get(pid)).status is PaymentStatus.INITIATED

        real = (await run(admin))["report"]
        assert real["id"] and real["recovered"] == 1 and real["fixes"][0]["action"] == "complete"
        assert (await Payment.get(pid)).status is PaymentStatus.COMPLETED

    async def test_since_limits_the_run(self, admin, shopper):
        pid, _ = await paid_without_verify(shopper)
        await age(pid, 10)
        report = (await run(admin, since=60))["report"]
        assert report["checkedPayments"] == 0
        assert (await run(admin, since=0))["__typename"] == "ValidationError"

    async def test_a_running_lock_is_a_typed_error(self, admin, redis, shopper):
        await redis.set(LOCK_KEY, "another-run", px=30_000)
        result = await run(admin)
        assert result["__typename"] == "ReconciliationRunningError"
        assert result["code"] == "RECONCILIATION_RUNNING"
        assert 0 < result["retryAfterSeconds"] <= 30

    async def test_customers_are_forbidden(self, client, tokens, shopper):
        response = await client.post(
            "/graphql",
            json={"query": RUN, "variables": {"dryRun": True}},
            headers={"Authorization": f"Bearer {shopper.token}"},
        )
        body = response.json()
        assert body["data"] is None
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


class TestRunsAreCounted:
    async def test_once_per_run_with_its_issues_and_never_for_a_dry_run(
        self, client, admin, shopper
    ):
        _, at_gateway = await verified(shopper)
        await razorpay(client, action="alter_payment", payment_id=at_gateway, amount=99900)
        counted = [
            ("paygraph_reconciliation_runs_total", {"trigger": "ADMIN", "outcome": "issues"}),
            ("paygraph_reconciliation_issues_total", {"kind": "AMOUNT_MISMATCH"}),
            ("paygraph_alerts_total", {"kind": "RECONCILIATION_ISSUE"}),
        ]

        async def counts() -> list[float]:
            # The suite's app server counts every test's runs: compare before and after.
            found = samples((await client.get("/metrics")).text)
            return [value(found, name, **labels) for name, labels in counted]

        before = await counts()
        assert len((await run(admin, dry_run=True))["report"]["issues"]) == 1
        assert await counts() == before
        assert len((await run(admin))["report"]["issues"]) == 1
        assert await counts() == [count + 1 for count in before]


class TestReconciliationReports:
    async def test_newest_first_with_cursor_pagination(self, admin, shopper):
        ids = [(await run(admin))["report"]["id"] for _ in range(3)]
        await run(admin, dry_run=True)  # not stored

        first = (await admin.graphql(REPORTS, {"first": 2}))["reconciliationReports"]
        assert [e["node"]["id"] for e in first["edges"]] == [ids[2], ids[1]]
        assert first["pageInfo"]["hasNextPage"] is True
        rest = (
            await admin.graphql(REPORTS, {"first": 2, "after": first["pageInfo"]["endCursor"]})
        )["reconciliationReports"]
        assert [e["node"]["id"] for e in rest["edges"]] == [ids[0]]
        assert rest["pageInfo"]["hasNextPage"] is False
        assert {e["node"]["trigger"] for e in first["edges"]} == {"ADMIN"}

    async def test_customers_are_forbidden(self, client, shopper):
        response = await client.post(
            "/graphql",
            json={"query": REPORTS, "variables": {"first": 1}},
            headers={"Authorization": f"Bearer {shopper.token}"},
        )
        assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
