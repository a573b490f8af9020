"""Reconciliation of payments against the sandbox gateways over HTTP: recover what the webhooks
and the browser never told us, expire the unpaid, and report - never overwrite - what
disagrees. Payments are aged by rewriting their times in MongoDB."""

from __future__ import annotations

from models.enums import PaymentStatus, ReconciliationTrigger, TransitionSource
from models.payment import Payment
from models.reconciliation import FindingKind, ReconciliationReport
from tests.resolvers.test_payments_api import order_id
from tests.support.checkout import FAILING_CARD
from tests.support.reconciliation import (
    age,
    gateway_auth,
    paid_without_verify,
    razorpay,
    status,
    verified,
)

CRON = ReconciliationTrigger.CRON


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
        pid, at_gateway = await verified(shopper)  # COMPLETED here
        await razorpay(client, action="alter_payment", payment_id=at_gateway, currency="USD")

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
        pid, at_gateway = await verified(shopper)
        await client.post(
            f"/sandbox/razorpay/v1/payments/{at_gateway}/refund",
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
