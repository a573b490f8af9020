"""The worker's side of a refund: sending it after acceptance, sends that overlap, answers
that never come, and the refund queue of its own. Real parts: SecantusDB, Redis, the sandbox
over HTTP, an arq worker."""

from __future__ import annotations

import asyncio

from beanie import PydanticObjectId

from models.enums import PaymentStatus, RefundStatus
from models.payment import Payment
from models.refund import Refund
from tests.resolvers.test_refunds_api import completed_payment, refund, sandbox_refunds
from tests.support.webhooks import eventually
from workers.queue import refund_job_id


class TestOverlappingSends:
    async def test_three_sends_of_one_refund_make_one_gateway_refund(
        self, client, core, shopper, admin
    ):
        # A job, a sweep's resend and a second worker all sending the same PENDING refund.
        pid = await completed_payment(shopper)
        answer = await refund(admin, paymentId=pid, amount="300.00")
        rid = answer["refund"]["id"]
        results = await asyncio.gather(*(core.refunds.send(rid) for _ in range(3)))
        assert {r.status for r in results} == {RefundStatus.COMPLETED}
        assert len({r.gateway_refund_id for r in results}) == 1
        assert await sandbox_refunds(client) == 1
        payment = await Payment.get(pid)
        assert (payment.refunded_minor, payment.refund_reserved_minor) == (30000, 0)
        stored = await Refund.get(rid)
        assert [e.to_status for e in stored.timeline] == [
            RefundStatus.PENDING,
            RefundStatus.COMPLETED,
        ]

    async def test_send_of_a_settled_refund_changes_nothing(self, client, core, shopper, admin):
        pid = await completed_payment(shopper)
        answer = await refund(admin, paymentId=pid, amount="50.00")
        first = await core.refunds.send(answer["refund"]["id"])
        again = await core.refunds.send(answer["refund"]["id"])
        assert (first.status, again.status) == (RefundStatus.COMPLETED, RefundStatus.COMPLETED)
        assert again.version == first.version
        assert await sandbox_refunds(client) == 1

    async def test_send_of_an_unknown_refund_is_none(self, core):
        assert await core.refunds.send("0123456789abcdef01234567") is None
        assert await core.refunds.send("not-an-id") is None


class TestNoAnswer:
    async def test_the_job_tries_again_and_the_gateway_replays(
        self, client, shopper, admin, worker
    ):
        # Razorpay makes the refund but every answer of the job's first try is lost (its three
        # calls), and no webhook comes: the job's next try gets the same refund back.
        await client.post(
            "/sandbox/razorpay/_control", json={"action": "configure", "webhooks": "drop"}
        )
        pid = await completed_payment(shopper)
        await client.post(
            "/sandbox/razorpay/_control",
            json={
                "action": "fault",
                "path": "/v1/payments/*/refund",
                "phase": "after",
                "status": 504,
                "count": 3,
            },
        )
        answer = await refund(admin, paymentId=pid, amount="200.00")

        async def completed() -> Refund | None:
            found = await Refund.get(answer["refund"]["id"])
            return found if found.status is RefundStatus.COMPLETED else None

        done = await eventually(completed, within=40)
        assert done.gateway_refund_id is not None
        assert await sandbox_refunds(client) == 1  # replayed, not refunded twice
        payment = await Payment.get(pid)
        assert (payment.refunded_minor, payment.refund_reserved_minor) == (20000, 0)


class TestRefundLane:
    async def test_refunds_wait_on_their_own_queue(self, client, redis, shopper, admin):
        # No worker runs: the accepted refund's job waits on the refund queue, not the main one.
        from workers.queue import QUEUE_NAME, REFUND_QUEUE_NAME

        pid = await completed_payment(shopper)
        answer = await refund(admin, paymentId=pid, amount="10.00")
        job = refund_job_id(answer["refund"]["id"])
        assert await redis.zscore(REFUND_QUEUE_NAME, job) is not None
        assert await redis.zscore(QUEUE_NAME, job) is None

    async def test_a_refund_backlog_does_not_hold_up_webhooks(self, client, shopper, admin, worker):
        # 24 slow refunds (2 s at the gateway each) are more than the main worker's 20 job
        # slots. They queue on the refund lane (4 at a time), so a payment's webhook is applied
        # while most refunds still wait. On one shared queue it would wait behind 20 of them:
        # at least 20 would be done by then.
        from tests.support.reconciliation import paid_without_verify

        pid = await completed_payment(shopper)
        await client.post(
            "/sandbox/razorpay/_control",
            json={"action": "fault", "path": "/v1/payments/*/refund", "delay": 1.5, "count": 24},
        )
        answers = await asyncio.gather(
            *(refund(admin, paymentId=pid, amount="10.00") for _ in range(24))
        )
        ids = [a["refund"]["id"] for a in answers]
        late_pid, _paid = await paid_without_verify(shopper)  # only its webhook completes it

        async def captured() -> bool:
            return (await Payment.get(late_pid)).status is PaymentStatus.COMPLETED

        await eventually(captured)
        still_pending = await Refund.find(
            {"_id": {"$in": [PydanticObjectId(i) for i in ids]}, "status": "PENDING"}
        ).count()
        assert still_pending >= 12  # at most 3 waves of 4 sent (6 s) before the webhook

        async def all_sent() -> bool:
            found = Refund.find({"_id": {"$in": [PydanticObjectId(i) for i in ids]}})
            return all(r.status is RefundStatus.COMPLETED for r in await found.to_list())

        await eventually(all_sent, within=60)
        assert (await Payment.get(pid)).refunded_minor == 24 * 1000
