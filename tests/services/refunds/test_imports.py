"""Refunds made outside paygraph, learned from their webhooks: a refund made in the gateway's
dashboard and a PayPal chargeback become refund records of source GATEWAY, once however often
their webhooks come, and move the payment's refunded amount and status; a refund of ours whose
answer was lost is matched, not imported; an imported refund is never sent. Real parts: the
sandboxes over HTTP delivering signed webhooks to the app, an arq worker applying them."""

from __future__ import annotations

import pytest
from beanie import PydanticObjectId

from gateways.paypal.mapping import reversal_id
from models.enums import PaymentStatus, RefundReason, RefundSource, RefundStatus
from models.payment import Payment
from models.refund import Refund
from tests.resolvers.test_payments_api import order_id
from tests.resolvers.test_refunds_api import completed_payment, refund, sandbox_refunds
from tests.support.checkout import Shopper
from tests.support.webhooks import eventually

pytestmark = pytest.mark.usefixtures("worker")


@pytest.fixture
async def shopper(client, tokens) -> Shopper:
    await client.post("/sandbox/razorpay/_control", json={"action": "reset"})
    await client.post("/sandbox/paypal/_control", json={"action": "reset"})
    return Shopper(client, tokens.mint("cust-imports"))


async def control(client, gateway: str, **action) -> dict:
    response = await client.post(f"/sandbox/{gateway}/_control", json=action)
    assert response.status_code == 200, response.text
    return response.json()


async def dashboard_refund(client, payment: Payment, **amount) -> dict:
    """A refund made in Razorpay's dashboard; the refund entity."""
    made = await control(
        client,
        "razorpay",
        action="dashboard_refund",
        payment_id=payment.gateway_payment_id,
        **amount,
    )
    return made["result"]


async def refund_calls_fail(client, *, phase: str, count: int) -> None:
    """Razorpay answers 503 to our refund calls, before acting or after it."""
    await control(
        client,
        "razorpay",
        action="fault",
        path="/v1/payments/*/refund",
        method="POST",
        status=503,
        phase=phase,
        count=count,
    )


async def imported(payment_id, *, count: int = 1) -> list[Refund]:
    async def settled() -> list[Refund]:
        found = await Refund.find(
            {"payment_id": payment_id, "source": RefundSource.GATEWAY.value}
        ).to_list()
        done = [r for r in found if r.status is RefundStatus.COMPLETED]
        return found if len(done) == count else []

    return await eventually(settled)


class TestDashboardRefund:
    async def test_is_imported_once_and_moves_the_money(self, client, shopper):
        # Every webhook delivered twice (the same event id): one refund record.
        await control(client, "razorpay", action="configure", duplicate_webhooks=True)
        pid = await completed_payment(shopper)  # 1000.00
        payment = await Payment.get(pid)
        made = await dashboard_refund(client, payment, amount=30000)
        [found] = await imported(payment.id)
        assert (found.gateway_refund_id, found.amount.amount_minor) == (
            made["id"],
            30000,
        )
        assert (found.reason, found.source) == (RefundReason.OTHER, RefundSource.GATEWAY)
        assert found.gateway_payment_id == payment.gateway_payment_id
        after = await Payment.get(pid)
        assert (after.status, after.refunded_minor, after.refund_committed_minor) == (
            PaymentStatus.PARTIALLY_REFUNDED,
            30000,
            30000,
        )
        assert await sandbox_refunds(client) == 1  # nothing was sent back to the gateway

    async def test_a_full_one_refunds_the_payment(self, client, shopper):
        pid = await completed_payment(shopper)
        payment = await Payment.get(pid)
        await dashboard_refund(client, payment)
        await imported(payment.id)
        after = await Payment.get(pid)
        assert (after.status, after.refunded_minor) == (PaymentStatus.REFUNDED, 100000)

    async def test_a_pending_one_waits_in_processing_and_is_never_sent(self, client, core, shopper):
        await control(client, "razorpay", action="configure", refund_mode="pending")
        pid = await completed_payment(shopper)
        payment = await Payment.get(pid)
        made = await dashboard_refund(client, payment, amount=20000)

        async def recorded() -> Refund | None:
            return await Refund.find_one({"gateway_refund_id": made["id"]})

        found = await eventually(recorded)
        assert found.status is RefundStatus.PROCESSING
        assert (await Payment.get(pid)).refundable_minor == 80000  # reserved
        assert (await core.refunds.send(str(found.id))).status is RefundStatus.PROCESSING
        assert await core.refunds.sweep() == 0
        await control(client, "razorpay", action="settle_refund", refund_id=made["id"])
        await imported(payment.id)
        assert (await Payment.get(pid)).refunded_minor == 20000
        assert await sandbox_refunds(client) == 1

    async def test_ours_whose_answer_was_lost_is_matched_not_imported(self, client, shopper, admin):
        # The refund is made at the gateway but its answer never reaches us (every try of the
        # job times out): the webhook names it, and it is ours.
        pid = await completed_payment(shopper)
        await refund_calls_fail(client, phase="after", count=50)
        answer = await refund(admin, paymentId=pid, amount="100.00")

        async def completed() -> Refund | None:
            found = await Refund.get(answer["refund"]["id"])
            return found if found and found.status is RefundStatus.COMPLETED else None

        ours = await eventually(completed)
        await control(client, "razorpay", action="clear_faults")
        assert ours.source is RefundSource.API and ours.gateway_refund_id is not None
        assert await Refund.find({"payment_id": ours.payment_id}).count() == 1
        assert (await Payment.get(pid)).refunded_minor == 10000

    async def test_one_of_ours_not_sent_yet_is_not_taken_for_a_dashboard_refund(
        self, client, shopper, admin, core
    ):
        """Ours (200.00) waits: its call fails before the gateway acts. Support refunds 200.00
        of another item in the dashboard; its webhook names no refund of ours, so it is
        imported, and ours is still sent once the gateway answers again."""
        pid = await completed_payment(shopper)
        await refund_calls_fail(client, phase="before", count=500)
        ours = await refund(admin, paymentId=pid, amount="200.00")
        made = await dashboard_refund(client, await Payment.get(pid), amount=20000)
        [theirs] = await imported(PydanticObjectId(pid))
        assert theirs.gateway_refund_id == made["id"]
        waiting = await Refund.get(ours["refund"]["id"])
        assert (waiting.status, waiting.gateway_refund_id) == (RefundStatus.PENDING, None)

        await control(client, "razorpay", action="clear_faults")
        sent = await core.refunds.send(ours["refund"]["id"])  # the job's next try
        assert sent.status is RefundStatus.COMPLETED
        assert sent.gateway_refund_id not in (None, made["id"])
        assert await sandbox_refunds(client) == 2
        payment = await Payment.get(pid)
        assert (payment.refunded_minor, payment.refund_reserved_minor) == (40000, 0)


class TestChargeback:
    async def test_a_paypal_reversal_is_imported_as_a_chargeback(self, client, shopper):
        initiated = await shopper.initiate(
            orderId=order_id(), amount="25.00", currency="USD", paymentMethod="PAYPAL"
        )
        await shopper.approve_paypal(initiated["checkout"]["approveUrl"])
        verified = await shopper.verify(paymentId=initiated["payment"]["id"])
        assert verified["payment"]["status"] == "COMPLETED"
        capture_id = verified["payment"]["gatewayPaymentId"]
        await control(
            client, "paypal", action="dashboard_refund", capture_id=capture_id, amount=500
        )
        await control(client, "paypal", action="reverse_capture", capture_id=capture_id)

        found = await imported(PydanticObjectId(initiated["payment"]["id"]), count=2)
        by_reason = {r.reason: r for r in found}
        chargeback = by_reason[RefundReason.CHARGEBACK]
        assert (chargeback.gateway_refund_id, chargeback.amount.amount_minor) == (
            reversal_id(capture_id),
            2000,
        )
        assert by_reason[RefundReason.OTHER].amount.amount_minor == 500
        payment = await Payment.get(initiated["payment"]["id"])
        assert (payment.status, payment.refunded_minor) == (PaymentStatus.REFUNDED, 2500)
