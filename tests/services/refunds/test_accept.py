"""Accepting a refund while the job queue is down: reserved and PENDING all the same, then
queued by the sweep (not too early, and not once it is reconciliation's). Real parts:
SecantusDB, Redis, the sandbox over HTTP, an arq worker."""

from __future__ import annotations

from datetime import timedelta

import pytest

from models.clock import utcnow
from models.enums import RefundStatus, Role
from models.payment import Payment
from models.refund import Refund
from services.auth import Principal
from services.events import EventBus
from services.refunds import RefundCommand, RefundService
from tests.resolvers.test_refunds_api import completed_payment, sandbox_refunds
from tests.support.webhooks import eventually
from workers.queue import ArqJobQueue, refund_job_id

ADMIN = Principal(customer_id="ops-sending", roles=frozenset({Role.ADMIN}))


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
        accepted = await queue_down.refund(
            ADMIN, RefundCommand(payment_id=pid, idempotency_key="sweep-1", amount="100.00")
        )
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
