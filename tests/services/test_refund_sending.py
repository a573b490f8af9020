"""The worker's side of a refund: sending it after acceptance, the sweep of refunds left PENDING,
and sends that overlap. Real parts: SecantusDB, Redis, the sandbox over HTTP, an arq worker."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from beanie import PydanticObjectId

from models.clock import utcnow
from models.enums import PaymentStatus, RefundStatus, Role
from models.payment import Payment
from models.refund import Refund
from services.auth import Principal
from services.events import EventBus
from services.refunds import RefundCommand, RefundService
from tests.resolvers.test_refunds_api import completed_payment, refund, sandbox_refunds
from tests.support.checkout import Shopper
from tests.support.webhooks import eventually
from workers.queue import ArqJobQueue, refund_job_id

ADMIN = Principal(customer_id="ops-sending", roles=frozenset({Role.ADMIN}))


@pytest.fixture
async def shopper(client, tokens) -> Shopper:
    await client.post("/sandbox/razorpay/_control", json={"action": "reset"})
    return Shopper(client, tokens.mint("cust-sending"))


@pytest.fixture
async def admin(client, tokens) -> Shopper:
    return Shopper(client, tokens.mint("ops-sending", admin=True))


@pytest.fixture
async def queue_down(core):
    """A RefundService like the API's, whose job queue is a Redis that is not there."""
    dead = ArqJobQueue("redis://127.0.0.1:1/0", in_progress_timeout_s=40, webhook_timeout_s=30)
    try:
        yield RefundService(core.gateways.registry, EventBus(core.redis), dead)
    finally:
        await dead.aclose()


class TestQueueDown:
    async def test_accepted_then_sent_by_the_sweep(
        self, client, core, redis, shopper, queue_down, worker
    ):
        pid = await completed_payment(shopper)
        accepted = await queue_down.refund(ADMIN, RefundCommand(payment_id=pid, amount="100.00"))
        # Accepted all the same: reserved, PENDING, but no job exists for it.
        assert accepted.status is RefundStatus.PENDING
        assert (await Payment.get(pid)).refund_reserved_minor == 10000
        assert not await redis.exists(f"arq:job:{refund_job_id(str(accepted.id))}")

        # Too young for the sweep (a queued job may be about to run), and past
        # REFUND_TIMEOUT_HOURS it is reconciliation's: the sweep leaves both alone.
        assert await core.refunds.sweep() == 0
        assert await core.refunds.sweep(now=utcnow() + timedelta(hours=25)) == 0
        assert await core.refunds.sweep(now=utcnow() + timedelta(minutes=2)) == 1

        async def completed() -> bool:
            return (await Refund.get(accepted.id)).status is RefundStatus.COMPLETED

        await eventually(completed)
        payment = await Payment.get(pid)
        assert (payment.refunded_minor, payment.refund_reserved_minor) == (10000, 0)
        assert await sandbox_refunds(client) == 1


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
        from tests.services.test_reconciliation import paid_without_verify

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
