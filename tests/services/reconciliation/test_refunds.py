"""Reconciliation of refunds left PENDING or PROCESSING: settled from the gateway's answer, a
refund whose call never answered replayed (never refunded twice); and refunds made at the
gateway without us (its dashboard, a chargeback), whose webhooks were lost, imported."""

from __future__ import annotations

import uuid

from gateways.paypal.mapping import reversal_id
from models.enums import (
    PaymentStatus,
    ReconciliationTrigger,
    RefundReason,
    RefundSource,
    RefundStatus,
    TransitionSource,
)
from models.payment import Payment
from models.reconciliation import FindingKind
from models.refund import Refund
from tests.resolvers.test_payments_api import order_id
from tests.support.reconciliation import age_refund, paypal, razorpay, verified

CRON = ReconciliationTrigger.CRON


class TestRefunds:
    async def test_refund_stuck_pending_after_a_gateway_timeout_is_settled(
        self, client, core, shopper, admin
    ):
        from tests.resolvers.test_refunds_api import REFUND, sandbox_refunds

        pid, _ = await verified(shopper)
        # Razorpay makes the refund, but every answer (first call and retries) is lost.
        await razorpay(
            client, action="fault", path="/v1/payments/*/refund", phase="after", status=504, count=3
        )
        result = (
            await admin.graphql(
                REFUND,
                {
                    "input": {
                        "idempotencyKey": str(uuid.uuid4()),
                        "paymentId": pid,
                        "amount": "200.00",
                    }
                },
            )
        )["refundPayment"]
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

        pid, _ = await verified(shopper)
        await razorpay(client, action="configure", refund_mode="pending")
        result = (
            await admin.graphql(
                REFUND,
                {
                    "input": {
                        "idempotencyKey": str(uuid.uuid4()),
                        "paymentId": pid,
                        "amount": "100.00",
                    }
                },
            )
        )["refundPayment"]
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


class TestRefundsMadeAtTheGateway:
    async def test_a_dashboard_refund_is_imported_and_moves_the_money(self, client, core, shopper):
        pid, at_gateway = await verified(shopper)  # 499.00, every webhook lost
        made = await razorpay(
            client, action="dashboard_refund", payment_id=at_gateway, amount=10000
        )

        report = await core.reconciliation.reconcile(CRON)

        assert (report.mismatches, report.refunds_imported) == ([], 1)
        [fix] = [f for f in report.fixed if f.kind == FindingKind.REFUND_IMPORTED]
        assert (fix.gateway_refund_id, fix.gateway_payment_id) == (made["result"]["id"], at_gateway)
        refund = await Refund.get(fix.refund_id)
        assert (refund.source, refund.reason, refund.status) == (
            RefundSource.GATEWAY,
            RefundReason.OTHER,
            RefundStatus.COMPLETED,
        )
        assert refund.timeline[-1].source is TransitionSource.RECONCILIATION
        payment = await Payment.get(pid)
        assert (payment.status, payment.refunded_minor) == (PaymentStatus.PARTIALLY_REFUNDED, 10000)
        again = await core.reconciliation.reconcile(CRON)
        assert (again.mismatches, again.refunds_imported) == ([], 0)

    async def test_a_dry_run_says_it_would_import_and_changes_nothing(self, client, core, shopper):
        pid, at_gateway = await verified(shopper)
        await razorpay(client, action="dashboard_refund", payment_id=at_gateway, amount=10000)

        report = await core.reconciliation.reconcile(CRON, dry_run=True)

        [fix] = [f for f in report.fixed if f.kind == FindingKind.REFUND_IMPORTED]
        assert fix.action.startswith("would record it")
        assert await Refund.find({}).count() == 0
        assert (await Payment.get(pid)).refunded_minor == 0

    async def test_a_paypal_chargeback_is_imported_and_the_payment_reads_refunded(
        self, client, core, shopper
    ):
        initiated = await shopper.initiate(
            orderId=order_id(), amount="25.00", currency="USD", paymentMethod="PAYPAL"
        )
        await shopper.approve_paypal(initiated["checkout"]["approveUrl"])
        verified_ = await shopper.verify(paymentId=initiated["payment"]["id"])
        capture_id = verified_["payment"]["gatewayPaymentId"]
        await paypal(client, action="reverse_capture", capture_id=capture_id)

        report = await core.reconciliation.reconcile(CRON)

        assert (report.mismatches, report.refunds_imported) == ([], 1)
        [refund] = await Refund.find({}).to_list()
        assert (refund.reason, refund.source, refund.amount.amount_minor) == (
            RefundReason.CHARGEBACK,
            RefundSource.GATEWAY,
            2500,
        )
        assert refund.gateway_refund_id == reversal_id(capture_id)
        payment = await Payment.get(initiated["payment"]["id"])
        assert (payment.status, payment.refunded_minor) == (PaymentStatus.REFUNDED, 2500)
