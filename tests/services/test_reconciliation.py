"""Reconciliation against the sandbox gateways over HTTP: recover what the webhooks and the
browser never told us, expire the unpaid, settle stuck refunds, and report - never overwrite -
what disagrees. Payments are aged by rewriting their times in MongoDB."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from bson import ObjectId

from models.clock import utcnow
from models.enums import PaymentStatus, ReconciliationTrigger, RefundStatus, TransitionSource
from models.errors import ReconciliationRunning
from models.payment import Payment
from models.reconciliation import FindingKind, ReconciliationReport
from models.refund import Refund
from services.reconciliation import LOCK_KEY, parse_duration
from tests.resolvers.test_payments_api import order_id
from tests.support.checkout import FAILING_CARD, Shopper

CRON = ReconciliationTrigger.CRON


@pytest.fixture
async def shopper(client, tokens) -> Shopper:
    await client.post("/sandbox/razorpay/_control", json={"action": "reset"})
    await client.post("/sandbox/paypal/_control", json={"action": "reset"})
    # Every webhook lost: only reconciliation can learn what happened.
    await razorpay(client, action="configure", webhooks="drop", auto_capture=True)
    await paypal(client, action="webhooks", drop=1000)
    return Shopper(client, tokens.mint("cust-recon"))


@pytest.fixture
async def admin(client, tokens) -> Shopper:
    return Shopper(client, tokens.mint("ops-recon", admin=True))


async def razorpay(client, **action: Any) -> dict:
    response = await client.post("/sandbox/razorpay/_control", json=action)
    assert response.status_code == 200, response.text
    return response.json()


async def paypal(client, **action: Any) -> dict:
    response = await client.post("/sandbox/paypal/_control", json=action)
    assert response.status_code == 200, response.text
    return response.json()


def gateway_auth(settings) -> tuple[str, str]:
    return (settings.razorpay_key_id, settings.razorpay_key_secret)


async def age(payment_id: str, minutes: float) -> None:
    """As if the payment was created (and last changed) `minutes` ago."""
    then = utcnow() - timedelta(minutes=minutes)
    await Payment.get_pymongo_collection().update_one(
        {"_id": ObjectId(payment_id)},
        {
            "$set": {
                "created_at": then,
                "updated_at": then,
                "expires_at": then + timedelta(minutes=60),
            }
        },
    )


async def age_refund(refund_id: str, minutes: float) -> None:
    then = utcnow() - timedelta(minutes=minutes)
    await Refund.get_pymongo_collection().update_one(
        {"_id": ObjectId(refund_id)}, {"$set": {"created_at": then, "updated_at": then}}
    )


async def paid_without_verify(shopper: Shopper, **pay: Any) -> tuple[str, dict]:
    initiated = await shopper.initiate(orderId=order_id())
    paid = await shopper.pay_razorpay(initiated["checkout"]["gatewayOrderId"], **pay)
    return initiated["payment"]["id"], paid


async def status(payment_id: str) -> PaymentStatus:
    found = await Payment.get(payment_id)
    assert found is not None
    return found.status


async def snapshot(mongo_db) -> dict[str, list[dict]]:
    return {
        name: await mongo_db[name].find({}).sort("_id", 1).to_list(None)
        for name in sorted(await mongo_db.list_collection_names())
    }


class TestRecoversWhatTheWebhooksLost:
    async def test_one_run_completes_every_captured_payment_and_expires_the_unpaid(
        self, client, settings, core, shopper
    ):
        captured = [await paid_without_verify(shopper) for _ in range(2)]
        await razorpay(client, action="configure", auto_capture=False)
        authorized = await paid_without_verify(shopper)  # authorized only: we must capture
        failed = await paid_without_verify(shopper, card_number=FAILING_CARD)
        paypal_order = await shopper.initiate(
            orderId=order_id(), amount="25.00", currency="USD", paymentMethod="PAYPAL"
        )
        await shopper.approve_paypal(paypal_order["checkout"]["approveUrl"])
        unpaid_old = [
            (await shopper.initiate(orderId=order_id()))["payment"]["id"] for _ in range(2)
        ]
        unpaid_young = (await shopper.initiate(orderId=order_id()))["payment"]["id"]

        recovered = [pid for pid, _ in captured] + [authorized[0], paypal_order["payment"]["id"]]
        for pid in recovered:
            await age(pid, 10)
        for pid in [failed[0], *unpaid_old]:
            await age(pid, 90)
        await age(unpaid_young, 10)

        report = await core.reconciliation.reconcile(CRON)

        assert (report.checked_payments, report.recovered, report.expired) == (8, 4, 3)
        assert (report.failed_attempts, report.unchanged, report.gateway_errors) == (1, 1, 0)
        assert report.mismatches == []
        for pid in recovered:
            payment = await Payment.get(pid)
            assert payment.status is PaymentStatus.COMPLETED
            assert payment.gateway_payment_id
            assert payment.timeline[-1].source is TransitionSource.RECONCILIATION
        for pid in unpaid_old:
            assert await status(pid) is PaymentStatus.EXPIRED
        gone = await Payment.get(failed[0])
        assert (gone.status, gone.attempt_count) == (PaymentStatus.EXPIRED, 1)
        assert [e.to_status for e in gone.timeline[-2:]] == [
            PaymentStatus.FAILED,
            PaymentStatus.EXPIRED,
        ]
        assert await status(unpaid_young) is PaymentStatus.INITIATED
        at_gateway = await client.get(
            f"/sandbox/razorpay/v1/payments/{authorized[1]['razorpay_payment_id']}",
            auth=gateway_auth(settings),
        )
        assert at_gateway.json()["status"] == "captured"
        stored = await ReconciliationReport.get(report.id)
        assert stored is not None and stored.recovered == 4 and stored.finished_at is not None

    async def test_a_second_run_finds_nothing_to_do(self, core, shopper):
        pid, _ = await paid_without_verify(shopper)
        await age(pid, 10)
        first = await core.reconciliation.reconcile(CRON)
        assert first.recovered == 1
        second = await core.reconciliation.reconcile(CRON)
        # The recovered payment is now checked for drift and found consistent.
        assert (second.checked_payments, second.recovered, second.unchanged) == (1, 0, 1)
        assert second.mismatches == [] and second.fixed == []

    async def test_recent_payments_are_left_to_the_webhooks(self, core, shopper):
        pid, _ = await paid_without_verify(shopper)
        report = await core.reconciliation.reconcile(CRON)
        assert report.checked_payments == 0
        assert await status(pid) is PaymentStatus.INITIATED


class TestReportsWithoutOverwriting:
    async def test_amount_mismatch_injected_at_the_gateway(self, client, core, shopper):
        pid, paid = await paid_without_verify(shopper)
        await razorpay(
            client, action="alter_payment", payment_id=paid["razorpay_payment_id"], amount=99900
        )
        await age(pid, 10)

        report = await core.reconciliation.reconcile(CRON)

        assert report.recovered == 0
        [issue] = report.mismatches
        assert issue.kind == FindingKind.AMOUNT_MISMATCH
        assert (issue.expected, issue.actual) == ("999.00 INR", "499.00 INR")
        assert issue.gateway_payment_id == paid["razorpay_payment_id"]
        assert str(issue.payment_id) == pid
        payment = await Payment.get(pid)
        assert payment.status is PaymentStatus.INITIATED
        assert payment.amount.amount_minor == 49900
        assert all(e.source is not TransitionSource.RECONCILIATION for e in payment.timeline)

    async def test_amount_drift_on_a_completed_payment(self, client, core, shopper):
        pid, paid = await paid_without_verify(shopper)
        verified = await shopper.verify(
            paymentId=pid,
            gatewayPaymentId=paid["razorpay_payment_id"],
            signature=paid["razorpay_signature"],
        )
        assert verified["payment"]["status"] == "COMPLETED"
        await razorpay(
            client, action="alter_payment", payment_id=paid["razorpay_payment_id"], currency="USD"
        )

        report = await core.reconciliation.reconcile(CRON)

        [issue] = report.mismatches
        assert issue.kind == FindingKind.AMOUNT_MISMATCH and issue.expected == "499.00 USD"
        assert (await Payment.get(pid)).amount.currency == "INR"

    async def test_second_captured_payment_on_one_order_is_a_double_charge(
        self, client, settings, core, shopper
    ):
        await razorpay(client, action="configure", auto_capture=False)
        initiated = await shopper.initiate(orderId=order_id())
        order = initiated["checkout"]["gatewayOrderId"]
        declined = await shopper.pay_razorpay(order, card_number=FAILING_CARD)
        first_try = declined["error"]["metadata"]["payment_id"]
        paid = await shopper.pay_razorpay(order)
        verified = await shopper.verify(
            paymentId=initiated["payment"]["id"],
            gatewayPaymentId=paid["razorpay_payment_id"],
            signature=paid["razorpay_signature"],
        )
        assert verified["payment"]["status"] == "COMPLETED"
        # The bank authorizes the declined attempt after all and it is captured: two charges.
        await razorpay(client, action="late_authorize", payment_id=first_try)
        captured = await client.post(
            f"/sandbox/razorpay/v1/payments/{first_try}/capture",
            json={"amount": 49900, "currency": "INR"},
            auth=gateway_auth(settings),
        )
        assert captured.json()["status"] == "captured"

        report = await core.reconciliation.reconcile(CRON)

        [issue] = report.mismatches
        assert issue.kind == FindingKind.DOUBLE_CHARGE
        assert issue.gateway_payment_id == first_try
        assert issue.gateway_order_id == order
        assert paid["razorpay_payment_id"] in issue.detail
        payment = await Payment.get(initiated["payment"]["id"])
        assert payment.status is PaymentStatus.COMPLETED
        assert payment.gateway_payment_id == paid["razorpay_payment_id"]

    async def test_refund_made_at_the_gateway_only_is_reported(
        self, client, settings, core, shopper
    ):
        pid, paid = await paid_without_verify(shopper)
        await shopper.verify(
            paymentId=pid,
            gatewayPaymentId=paid["razorpay_payment_id"],
            signature=paid["razorpay_signature"],
        )
        await client.post(
            f"/sandbox/razorpay/v1/payments/{paid['razorpay_payment_id']}/refund",
            json={"amount": 10000},
            auth=gateway_auth(settings),
        )
        report = await core.reconciliation.reconcile(CRON)
        [issue] = report.mismatches
        assert issue.kind == FindingKind.UNKNOWN_REFUND
        assert (issue.expected, issue.actual) == (
            "100.00 INR refunded",
            "0.00 INR refunded or in flight",
        )
        assert (await Payment.get(pid)).refunded_minor == 0


class TestDryRun:
    async def test_writes_nothing_and_says_what_it_would_do(
        self, client, settings, core, shopper, mongo_db
    ):
        await razorpay(client, action="configure", auto_capture=False)
        pid, paid = await paid_without_verify(shopper)
        unpaid = (await shopper.initiate(orderId=order_id()))["payment"]["id"]
        await age(pid, 10)
        await age(unpaid, 90)
        before = await snapshot(mongo_db)

        report = await core.reconciliation.reconcile(CRON, dry_run=True)

        assert report.dry_run and report.id is None
        assert (report.recovered, report.expired) == (1, 1)
        assert {f.kind for f in report.fixed} == {FindingKind.RECOVERED, FindingKind.EXPIRED}
        assert all(f.action.startswith("would ") for f in report.fixed)
        assert await snapshot(mongo_db) == before
        at_gateway = await client.get(
            f"/sandbox/razorpay/v1/payments/{paid['razorpay_payment_id']}",
            auth=gateway_auth(settings),
        )
        assert at_gateway.json()["status"] == "authorized"  # not captured by a dry run


class TestRunsNeverOverlap:
    async def test_two_concurrent_runs_one_runs_one_reports_the_lock(self, client, core, shopper):
        pid, _ = await paid_without_verify(shopper)
        await age(pid, 10)
        # Slow the gateway so the first run is certainly still going when the second starts.
        await razorpay(client, action="fault", path="/v1/orders/*/payments", delay=1.0, count=1)

        results = await asyncio.gather(
            core.reconciliation.reconcile(CRON),
            core.reconciliation.reconcile(ReconciliationTrigger.CLI),
            return_exceptions=True,
        )

        reports = [r for r in results if isinstance(r, ReconciliationReport)]
        refused = [r for r in results if isinstance(r, ReconciliationRunning)]
        assert len(reports) == 1 and len(refused) == 1
        assert reports[0].recovered == 1
        assert "already in progress" in refused[0].message
        assert await ReconciliationReport.find_all().count() == 1

    async def test_a_crashed_runs_lock_expires(self, core, redis, shopper):
        await redis.set(LOCK_KEY, "a-run-that-died", px=600)
        with pytest.raises(ReconciliationRunning) as refused:
            await core.reconciliation.reconcile(CRON)
        assert refused.value.retry_after_seconds <= 1
        await asyncio.sleep(0.7)
        report = await core.reconciliation.reconcile(CRON)
        assert report.finished_at is not None
        assert await redis.get(LOCK_KEY) is None  # released after the run


class TestRefunds:
    async def test_refund_stuck_pending_after_a_gateway_timeout_is_settled(
        self, client, core, shopper, admin
    ):
        from tests.resolvers.test_refunds_api import REFUND, sandbox_refunds

        pid, paid = await paid_without_verify(shopper)
        await shopper.verify(
            paymentId=pid,
            gatewayPaymentId=paid["razorpay_payment_id"],
            signature=paid["razorpay_signature"],
        )
        # Razorpay makes the refund, but every answer (first call and retries) is lost.
        await razorpay(
            client, action="fault", path="/v1/payments/*/refund", phase="after", status=504, count=3
        )
        result = (await admin.graphql(REFUND, {"input": {"paymentId": pid, "amount": "200.00"}}))[
            "refundPayment"
        ]
        assert result["refund"]["status"] == "PENDING"
        refund_id = result["refund"]["id"]
        # What the worker's job does (no worker runs here): the call and its retries time out.
        assert (await core.refunds.send(refund_id)).status is RefundStatus.PENDING
        await age_refund(refund_id, 10)

        report = await core.reconciliation.reconcile(CRON)

        assert (report.checked_refunds, report.refunds_settled) == (1, 1)
        refund = await Refund.get(refund_id)
        assert refund.status is RefundStatus.COMPLETED and refund.gateway_refund_id
        assert refund.timeline[-1].source is TransitionSource.RECONCILIATION
        payment = await Payment.get(pid)
        assert (payment.status, payment.refunded_minor, payment.refund_reserved_minor) == (
            PaymentStatus.PARTIALLY_REFUNDED, 20000, 0,
        )  # fmt: skip
        assert await sandbox_refunds(client) == 1  # replayed, not refunded twice

    async def test_processing_refund_settled_at_the_gateway(self, client, core, shopper, admin):
        from tests.resolvers.test_refunds_api import REFUND

        pid, paid = await paid_without_verify(shopper)
        await shopper.verify(
            paymentId=pid,
            gatewayPaymentId=paid["razorpay_payment_id"],
            signature=paid["razorpay_signature"],
        )
        await razorpay(client, action="configure", refund_mode="pending")
        result = (await admin.graphql(REFUND, {"input": {"paymentId": pid, "amount": "100.00"}}))[
            "refundPayment"
        ]
        sent = await core.refunds.send(result["refund"]["id"])  # the worker's job
        assert sent.status is RefundStatus.PROCESSING
        await razorpay(
            client, action="settle_refund", refund_id=sent.gateway_refund_id, status="failed"
        )
        await age_refund(result["refund"]["id"], 10)

        report = await core.reconciliation.reconcile(CRON)

        assert report.refunds_settled == 1
        assert (await Refund.get(result["refund"]["id"])).status is RefundStatus.FAILED
        payment = await Payment.get(pid)
        assert (payment.status, payment.refunded_minor, payment.refund_reserved_minor) == (
            PaymentStatus.COMPLETED, 0, 0,
        )  # fmt: skip


class TestGatewayErrors:
    @pytest.fixture
    async def quick(self, core):
        """The service reading through gateways with a short backoff, one call at a time."""
        from core import build_gateways
        from gateways.policy import CallPolicy
        from services.reconciliation import ReconciliationPolicy, ReconciliationService

        gateways = build_gateways(
            core.settings,
            serve_sandboxes=False,
            policy=CallPolicy(attempts=3, base_delay=0.01, max_delay=0.1),
        )
        yield ReconciliationService(
            core.payments,
            core.refunds,
            gateways.registry,
            core.redis,
            ReconciliationPolicy(concurrency=1),
        )
        await gateways.registry.aclose()

    async def test_rate_limited_gateway_is_retried_with_backoff(self, client, quick, shopper):
        pid, _ = await paid_without_verify(shopper)
        await age(pid, 10)
        await razorpay(client, action="fault", path="/v1/orders/*/payments", status=429, count=2)
        report = await quick.reconcile(CRON)
        assert (report.recovered, report.gateway_errors) == (1, 0)
        assert await status(pid) is PaymentStatus.COMPLETED

    async def test_a_gateway_that_stays_down_is_counted_not_fatal(self, client, quick, shopper):
        for _ in range(2):
            pid, _ = await paid_without_verify(shopper)
            await age(pid, 10)
        # All three tries of one payment's read fail; the other payment's read succeeds.
        await razorpay(client, action="fault", path="/v1/orders/*/payments", status=503, count=3)
        report = await quick.reconcile(CRON)
        assert (report.gateway_errors, report.recovered, report.checked_payments) == (1, 1, 2)
        assert report.errors[0].startswith("RAZORPAY payment ")


class TestParseDuration:
    @pytest.mark.parametrize(
        ("text", "seconds"), [("90", 90), ("90s", 90), ("30m", 1800), ("6h", 21600), ("2d", 172800)]
    )
    def test_units(self, text, seconds):
        assert parse_duration(text) == timedelta(seconds=seconds)

    @pytest.mark.parametrize("text", ["", "soon", "-5m", "0h"])
    def test_rejects(self, text):
        from models.errors import ValidationFailed

        with pytest.raises(ValidationFailed):
            parse_duration(text)
