"""Reconciliation and late money: cancelled and expired payments within
RECONCILE_CLOSED_LOOKBACK_HOURS are asked about again; money that arrived after the close (every
webhook lost) is recorded, returned, listed once in a report and alerted; nothing already
handled is reported twice."""

from __future__ import annotations

import logging

from models.enums import (
    Gateway,
    LatePaymentAction,
    PaymentStatus,
    ReconciliationTrigger,
    RefundSource,
    RefundStatus,
    TransitionSource,
)
from models.payment import Payment
from models.reconciliation import FindingKind
from models.refund import Refund
from services.payments.late import LATE_PAYMENT_ALERT
from tests.resolvers.test_payments_api import order_id
from tests.support.reconciliation import age, age_refund, razorpay

CRON = ReconciliationTrigger.CRON


async def cancelled_then_paid(shopper) -> tuple[str, str]:
    initiated = await shopper.initiate(orderId=order_id())
    pid = initiated["payment"]["id"]
    assert (await shopper.cancel(pid))["payment"]["status"] == "CANCELLED"
    paid = await shopper.pay_razorpay(initiated["checkout"]["gatewayOrderId"])
    return pid, paid["razorpay_payment_id"]


def late_alerts(caplog) -> list[str]:
    return [
        r.alert_key
        for r in caplog.records
        if r.name == "paygraph.alerts" and getattr(r, "alert_kind", None) == LATE_PAYMENT_ALERT
    ]


class TestClosedPayments:
    async def test_money_after_a_cancel_is_found_returned_reported_and_alerted(
        self, core, shopper, caplog
    ):
        pid, gpid = await cancelled_then_paid(shopper)  # every webhook lost
        await age(pid, 30)

        with caplog.at_level(logging.ERROR, logger="paygraph.alerts"):
            report = await core.reconciliation.reconcile(CRON)

        payment = await Payment.get(pid)
        assert payment.status is PaymentStatus.CANCELLED  # until its refund completes
        [late] = payment.late_payments
        assert (late.gateway_payment_id, late.action, late.reported) == (
            gpid,
            LatePaymentAction.REFUNDED,
            True,
        )
        refund = await Refund.get(late.refund_id)
        assert refund.source is RefundSource.LATE_PAYMENT
        [line] = [f for f in report.mismatches if f.kind == FindingKind.LATE_PAYMENT]
        assert (str(line.payment_id), line.gateway_payment_id, line.action) == (
            pid,
            gpid,
            "refunded",
        )
        assert late_alerts(caplog) == [f"{pid}:{gpid}"]
        samples = core.metrics.registry.get_sample_value(
            "paygraph_late_payments_total",
            {"gateway": "RAZORPAY", "kind": "CAPTURE", "action": "REFUNDED"},
        )
        assert samples == 1

        again = await core.reconciliation.reconcile(CRON)
        assert [f for f in again.mismatches if f.kind == FindingKind.LATE_PAYMENT] == []
        assert await Refund.find({"payment_id": payment.id}).count() == 1

    async def test_late_money_found_by_a_webhook_gets_its_report_line_at_the_next_run(
        self, core, shopper
    ):
        pid, gpid = await cancelled_then_paid(shopper)
        found = await core.gateways.registry.get(Gateway.RAZORPAY).fetch_payment(gpid)
        await core.payments.apply_gateway_payment(
            await Payment.get(pid), found, TransitionSource.WEBHOOK
        )
        report = await core.reconciliation.reconcile(CRON)
        lines = [f for f in report.mismatches if f.kind == FindingKind.LATE_PAYMENT]
        assert [(str(f.payment_id), f.gateway_payment_id) for f in lines] == [(pid, gpid)]
        assert (await Payment.get(pid)).late_payments[0].reported

    async def test_a_closed_payment_past_the_lookback_is_not_asked_again(
        self, core, shopper, settings
    ):
        pid, _ = await cancelled_then_paid(shopper)
        await age(pid, (settings.reconcile_closed_lookback_hours + 1) * 60)
        report = await core.reconciliation.reconcile(CRON)
        assert (await Payment.get(pid)).late_payments == []
        assert report.checked_payments == 0

    async def test_a_dry_run_says_what_it_would_do_and_writes_nothing(self, core, shopper):
        pid, gpid = await cancelled_then_paid(shopper)
        await age(pid, 30)
        report = await core.reconciliation.reconcile(CRON, dry_run=True)
        [line] = [f for f in report.mismatches if f.kind == FindingKind.LATE_PAYMENT]
        assert line.gateway_payment_id == gpid and line.action.startswith("would ")
        assert (await Payment.get(pid)).late_payments == []


class TestLateRefunds:
    """A late refund returns a capture that is not the payment's own (a closed payment has
    none, or a failed attempt's): reconciliation asks the gateway about that capture."""

    async def test_one_settled_at_the_gateway_is_settled_here(self, core, client, shopper):
        pid, gpid = await cancelled_then_paid(shopper)  # every webhook lost
        await age(pid, 30)
        await razorpay(client, action="configure", refund_mode="pending")
        await core.reconciliation.reconcile(CRON)  # records the late money, makes its refund
        [late] = (await Payment.get(pid)).late_payments
        sent = await core.refunds.send(str(late.refund_id))
        assert (sent.status, sent.gateway_payment_id) == (RefundStatus.PROCESSING, gpid)
        await razorpay(
            client, action="settle_refund", refund_id=sent.gateway_refund_id, status="processed"
        )
        await age_refund(str(late.refund_id), 10)  # its refund.processed webhook was lost too

        report = await core.reconciliation.reconcile(CRON)
        assert report.errors == []
        assert [m.kind for m in report.mismatches] == []
        assert report.refunds_settled == 1
        assert (await Refund.get(late.refund_id)).status is RefundStatus.COMPLETED
        payment = await Payment.get(pid)
        assert (payment.status, payment.net_minor, payment.refund_reserved_minor) == (
            PaymentStatus.REFUNDED,
            0,
            0,
        )

    async def test_one_whose_call_never_answered_is_sent_again(self, core, client, shopper):
        pid, _ = await cancelled_then_paid(shopper)
        await age(pid, 30)
        # The refund call fails before the gateway acts, for every try the worker makes.
        await razorpay(
            client,
            action="fault",
            path="/v1/payments/*/refund",
            phase="before",
            status=503,
            count=3,
        )
        await core.reconciliation.reconcile(CRON)
        [late] = (await Payment.get(pid)).late_payments
        unsent = await core.refunds.send(str(late.refund_id))
        assert (unsent.status, unsent.gateway_refund_id) == (RefundStatus.PENDING, None)
        await age_refund(str(late.refund_id), 10)

        report = await core.reconciliation.reconcile(CRON)
        assert report.errors == []
        # Sent again, and the gateway processed it at once (the sandbox's default mode).
        [fixed] = report.fixed
        assert (fixed.kind, fixed.detail) == (
            FindingKind.REFUND_SETTLED,
            "the refund call never answered; sent again with the same idempotency key",
        )
        refund = await Refund.get(late.refund_id)
        assert refund.status is RefundStatus.COMPLETED and refund.gateway_refund_id is not None
        assert (await Payment.get(pid)).status is PaymentStatus.REFUNDED
