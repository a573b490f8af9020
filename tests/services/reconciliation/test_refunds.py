"""Reconciliation of refunds left PENDING or PROCESSING: settled from the gateway's answer, a
refund whose call never answered replayed (never refunded twice)."""

from __future__ import annotations

import uuid

from models.enums import PaymentStatus, ReconciliationTrigger, RefundStatus, TransitionSource
from models.payment import Payment
from models.refund import Refund
from tests.support.reconciliation import age_refund, razorpay, verified

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
