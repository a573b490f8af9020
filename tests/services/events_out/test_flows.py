"""Every event type of the catalog, produced by a real flow: the app over HTTP, the sandbox
gateways, an arq worker relaying and delivering, and a receiver that verifies each delivery
with the standardwebhooks library."""

from __future__ import annotations

from datetime import timedelta

import pytest

from models.clock import utcnow
from models.enums import ReconciliationTrigger
from models.events_out import EventType
from tests.resolvers.test_payments_api import order_id, pay_and_verify
from tests.resolvers.test_refunds_api import completed_payment, refund_sent
from tests.support.checkout import FAILING_CARD
from tests.support.reconciliation import age, paid_without_verify, razorpay
from tests.support.webhooks import eventually

pytestmark = pytest.mark.usefixtures("worker")


async def told(receiver, pid: str, count: int) -> list[dict]:
    """The first `count` events about payment `pid` the receiver verified, in arrival order."""
    payloads: list[dict] = []

    async def enough() -> bool:
        payloads[:] = [
            a.verified
            for a in receiver.delivered
            if a.verified is not None and _about(a.verified, pid)
        ]
        return len(payloads) >= count

    await eventually(enough, within=20)
    return payloads


def _about(payload: dict, pid: str) -> bool:
    data = payload["data"]
    return (data.get("payment") or {}).get("id") == pid or (data.get("refund") or {}).get(
        "paymentId"
    ) == pid


def types(payloads: list[dict]) -> list[str]:
    return sorted(p["type"] for p in payloads)


class TestPaymentEvents:
    async def test_a_card_checkout_initiated_then_completed(self, shopper, receiver, endpoint):
        initiated = await shopper.initiate(orderId=order_id(), amount="1499.00")
        await pay_and_verify(shopper, initiated)
        pid = initiated["payment"]["id"]
        payloads = await told(receiver, pid, 2)
        assert types(payloads) == ["payment.completed", "payment.initiated"]
        by_type = {p["type"]: p["data"]["payment"] for p in payloads}
        assert by_type["payment.initiated"]["status"] == "INITIATED"
        completed = by_type["payment.completed"]
        assert completed["status"] == "COMPLETED" and completed["gatewayPaymentId"]
        assert completed["amount"] == {"amount": "1499.00", "currency": "INR", "minor": 149900}
        assert completed["version"] > by_type["payment.initiated"]["version"]

    async def test_manual_capture_authorized_on_the_way(self, client, shopper, receiver, endpoint):
        await razorpay(client, action="configure", auto_capture=False)
        initiated = await shopper.initiate(orderId=order_id())
        await pay_and_verify(shopper, initiated)
        payloads = await told(receiver, initiated["payment"]["id"], 3)
        assert types(payloads) == ["payment.authorized", "payment.completed", "payment.initiated"]

    async def test_a_declined_card_fails_the_payment(self, shopper, receiver, endpoint):
        initiated = await shopper.initiate(orderId=order_id(), amount="200.00")
        declined = await shopper.pay_razorpay(
            initiated["checkout"]["gatewayOrderId"], card_number=FAILING_CARD
        )
        await shopper.verify(
            paymentId=initiated["payment"]["id"],
            gatewayPaymentId=declined["error"]["metadata"]["payment_id"],
        )
        payloads = await told(receiver, initiated["payment"]["id"], 2)
        assert types(payloads) == ["payment.failed", "payment.initiated"]
        failed = next(p for p in payloads if p["type"] == "payment.failed")["data"]["payment"]
        assert failed["errorMessage"] and failed["attemptCount"] == 1

    async def test_a_cancelled_payment(self, shopper, receiver, endpoint):
        initiated = await shopper.initiate(orderId=order_id())
        await shopper.cancel(initiated["payment"]["id"])
        payloads = await told(receiver, initiated["payment"]["id"], 2)
        assert types(payloads) == ["payment.cancelled", "payment.initiated"]

    async def test_an_expired_payment(self, core, shopper, receiver, endpoint):
        initiated = await shopper.initiate(orderId=order_id())
        assert await core.payments.expire_stale(now=utcnow() + timedelta(hours=2)) == 1
        payloads = await told(receiver, initiated["payment"]["id"], 2)
        assert types(payloads) == ["payment.expired", "payment.initiated"]


class TestRefundFailure:
    async def test_a_refund_the_gateway_refuses(self, client, shopper, admin, receiver, endpoint):
        pid = await completed_payment(shopper)
        await razorpay(client, action="fault", path="/v1/payments/*/refund", status=400, count=1)
        result = await refund_sent(admin, paymentId=pid, amount="100.00")
        assert result["status"] == "FAILED"
        payloads = await told(receiver, pid, 4)
        assert types(payloads) == [
            "payment.completed",
            "payment.initiated",
            "refund.created",
            "refund.failed",
        ]
        failed = next(p for p in payloads if p["type"] == "refund.failed")["data"]
        assert failed["refund"]["status"] == "FAILED" and failed["refund"]["errorMessage"]
        assert failed["payment"]["refundedAmount"]["minor"] == 0


class TestReconciliationIssue:
    async def test_an_amount_mismatch_is_told(self, client, core, shopper, receiver, endpoint):
        await razorpay(client, action="configure", webhooks="drop", auto_capture=True)
        pid, paid = await paid_without_verify(shopper)
        await razorpay(
            client, action="alter_payment", payment_id=paid["razorpay_payment_id"], amount=99900
        )
        await age(pid, 10)
        report = await core.reconciliation.reconcile(ReconciliationTrigger.CRON)
        assert [f.kind for f in report.mismatches] == ["AMOUNT_MISMATCH"]
        await core.events_out.sweep(now=utcnow() + timedelta(minutes=1))  # the report's relay
        payloads = await told(receiver, pid, 2)
        issue = next(p for p in payloads if p["type"] == "reconciliation.issue_found")["data"]
        assert issue["reportId"] == str(report.id)
        assert issue["issue"]["kind"] == "AMOUNT_MISMATCH"
        assert (issue["issue"]["expected"], issue["issue"]["actual"]) == (
            "999.00 INR",
            "499.00 INR",
        )
        assert issue["payment"]["id"] == pid


class TestLatePaymentEvent:
    async def test_money_after_a_cancel_is_told_with_what_was_done(
        self, shopper, receiver, endpoint
    ):
        initiated = await shopper.initiate(orderId=order_id())
        pid = initiated["payment"]["id"]
        await shopper.cancel(pid)
        paid = await shopper.pay_razorpay(initiated["checkout"]["gatewayOrderId"])

        # Razorpay tells of the authorization, then of its own capture: the first may be
        # recorded as an authorization left to lapse before the capture replaces it.
        async def refunded() -> dict | None:
            for p in await told(receiver, pid, 3):
                late = p["data"].get("latePayment") or {}
                if p["type"] == "payment.late_payment" and late.get("action") == "REFUNDED":
                    return p["data"]
            return None

        late = await eventually(refunded, within=20)
        assert late["latePayment"] == {
            "amount": {"amount": "499.00", "currency": "INR", "minor": 49900},
            "gatewayPaymentId": paid["razorpay_payment_id"],
            "action": "REFUNDED",
        }
        assert late["payment"]["status"] == "CANCELLED"
        assert late["payment"]["id"] == pid


def test_every_type_has_a_flow_here():
    covered = {
        "payment.initiated",
        "payment.authorized",
        "payment.completed",
        "payment.failed",
        "payment.cancelled",
        "payment.expired",
        "refund.created",
        "refund.failed",
        "reconciliation.issue_found",
        "payment.late_payment",
    } | {"payment.partially_refunded", "payment.refunded", "refund.completed"}  # test_refund_flow
    assert covered == {t.value for t in EventType}
