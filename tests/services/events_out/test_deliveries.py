"""Delivering to a real receiver on a loopback port: retries while it is down, redelivery,
secret rotation, a worker killed mid-delivery, per-endpoint bounds, and an endpoint failing
for days. Deliveries are verified by the receiver with the standardwebhooks library."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest
from arq.worker import Worker

from models.clock import utcnow
from models.events_out import Delivery, DeliveryStatus, EventType, WebhookEndpoint
from services.events_out import EndpointChange, Outcome
from services.events_out.payloads import new_event_id, payment_data
from tests.services.events_out import samples
from tests.support.receiver import running_receiver
from tests.support.webhooks import eventually
from tests.support.worker import running_worker
from workers.settings import build_worker_settings


def events(count: int):
    """Outbox entries as a change writes them (the relay does not care which change)."""
    payment = samples.payment()
    now = utcnow()
    return [
        samples.entry_of(EventType.PAYMENT_COMPLETED).model_copy(
            update={
                "id": new_event_id(),
                "timestamp": now,
                "data": {"payment": payment_data(payment)},
            }
        )
        for _ in range(count)
    ]


async def publish(core, count: int) -> list[str]:
    entries = events(count)
    await core.events_out._relay.publish(entries)
    return [e.id for e in entries]


class TestReceiverDown:
    async def test_everything_arrives_once_after_it_returns(self, core, receiver, endpoint, worker):
        receiver.status = 503
        started = time.monotonic()
        ids = await publish(core, 20)
        await eventually(lambda: _attempted_all(receiver, ids), within=10)
        failed_attempts = len(receiver.arrivals)
        await asyncio.sleep(1.0)  # down a while longer: the first retries fail too
        receiver.status = 200
        await receiver.wait_for(20, timeout=30)
        took = time.monotonic() - started
        assert sorted(receiver.delivered_ids()) == sorted(ids)  # each once per success
        assert all(a.verified is not None for a in receiver.delivered)
        stored = await Delivery.find().to_list()
        assert {d.status for d in stored} == {DeliveryStatus.DELIVERED}
        assert all(d.attempts >= 2 and d.last_response_code == 200 for d in stored)
        print(
            f"\nreceiver down ~{took - 1:.1f}s: {len(receiver.arrivals) - 20} failed attempts "
            f"({failed_attempts} when each event had been tried once), 20/20 delivered once, "
            f"in {took:.1f}s"
        )


async def _attempted_all(receiver, ids) -> bool:
    return {a.headers["webhook-id"] for a in receiver.arrivals} >= set(ids)


class TestRedelivery:
    async def test_redelivery_keeps_the_id(self, core, receiver, endpoint, worker):
        [event_id] = await publish(core, 1)
        await receiver.wait_for(1)
        delivery = await core.events_out.redeliver(event_id, endpoint)
        assert delivery.status is DeliveryStatus.PENDING
        arrivals = await receiver.wait_for(2)
        assert [a.headers["webhook-id"] for a in arrivals] == [event_id, event_id]
        assert arrivals[0].verified == arrivals[1].verified

        async def recorded() -> Delivery | None:
            # The worker records the attempt after the receiver's answer reaches it.
            stored = await Delivery.get(delivery.id)
            return stored if stored and stored.status is DeliveryStatus.DELIVERED else None

        done = await eventually(recorded, within=10)
        assert (done.status, done.attempts) == (DeliveryStatus.DELIVERED, 2)

    async def test_a_failed_delivery_is_redelivered_on_a_fresh_schedule(
        self, core, receiver, endpoint
    ):
        [event_id] = await publish(core, 1)
        receiver.status = 500
        key = f"{event_id}:{endpoint}"
        for attempt in range(1, len(core.settings.webhook_retry_schedule) + 1):
            attempted = await core.events_out.deliver(key, attempt)
        assert attempted.outcome is Outcome.FAILED
        assert (await Delivery.get(key)).status is DeliveryStatus.FAILED
        receiver.status = 200
        await core.events_out.redeliver(event_id, endpoint)
        attempts = (await Delivery.get(key)).attempts
        assert (await core.events_out.deliver(key, attempts + 1)).outcome is Outcome.DELIVERED
        assert receiver.delivered_ids() == [event_id]


class TestRotation:
    async def test_both_secrets_verify_during_the_overlap(self, core, receiver, endpoint, worker):
        old = receiver.secrets[0]
        rotated, new = await core.events_out.rotate_secret(endpoint)
        assert new != old and new.startswith("whsec_")
        assert rotated.secrets[1].expires_at is not None
        await publish(core, 1)
        [arrival] = await receiver.wait_for(1)
        assert len(arrival.headers["webhook-signature"].split(" ")) == 2
        for secret in (new, old):
            receiver.secrets = [secret]
            assert receiver.verify(arrival.body, arrival.headers) is not None

    async def test_the_old_secret_stops_after_the_overlap(self, core, receiver, endpoint):
        old = receiver.secrets[0]
        _, new = await core.events_out.rotate_secret(endpoint)
        await WebhookEndpoint.get_pymongo_collection().update_one(
            {}, {"$set": {"secrets.1.expires_at": utcnow() - timedelta(seconds=1)}}
        )
        [event_id] = await publish(core, 1)
        await core.events_out.deliver(f"{event_id}:{endpoint}", 1)
        [arrival] = receiver.arrivals
        assert len(arrival.headers["webhook-signature"].split(" ")) == 1
        receiver.secrets = [old]
        assert receiver.verify(arrival.body, arrival.headers) is None
        receiver.secrets = [new]
        assert receiver.verify(arrival.body, arrival.headers) is not None


class TestWorkerKilled:
    @pytest.mark.timeout(90)
    async def test_a_delivery_in_flight_is_not_lost(
        self, core, settings, receiver, endpoint, app_server
    ):
        receiver.delay = 30  # the answer does not come before the worker dies
        options = build_worker_settings(settings, poll_delay=0.05)
        doomed = Worker(**{**options, "handle_signals": False})
        main = asyncio.create_task(doomed.async_run())
        [event_id] = await publish(core, 1)
        await eventually(lambda: _started(receiver), within=10)
        await _kill(doomed, main)
        receiver.delay = 0
        key = f"{event_id}:{endpoint}"
        stuck = await Delivery.get(key)
        assert stuck.status is DeliveryStatus.PENDING and stuck.lease_until is not None
        async with running_worker(settings):
            # The sweep hands the attempt to a live worker, which sends it once the dead
            # worker's lease has lapsed.
            later = utcnow() + timedelta(minutes=1)
            await eventually(lambda: _sweep_until_sent(core, later, receiver), within=30)
            assert receiver.delivered_ids() == [event_id]
            assert (await Delivery.get(key)).status is DeliveryStatus.DELIVERED
        await doomed.ctx["core"].aclose()


async def _kill(worker: Worker, main: asyncio.Task) -> None:
    """Every task of the worker and its lanes cancelled at once, nothing shut down."""
    lanes = [worker.ctx[name] for name in ("events_lane", "refund_lane") if name in worker.ctx]
    tasks = [main, *worker.tasks.values()]
    for lane in lanes:
        tasks += [lane.task, *lane.worker.tasks.values()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def _started(receiver) -> bool:
    return receiver.in_flight > 0


async def _sweep_until_sent(core, now, receiver) -> bool:
    await core.events_out.sweep(now=now)
    await asyncio.sleep(0.3)
    return bool(receiver.delivered)


class TestEndpointBounds:
    async def test_a_slow_endpoint_holds_its_slots_only(self, core, worker):
        async with running_receiver() as slow, running_receiver() as fast:
            slow.delay = 1.0
            for receiver in (slow, fast):
                _, secret = await core.events_out.create_endpoint(receiver.url, [])
                receiver.secrets.append(secret)
            await publish(core, 24)
            started = time.monotonic()
            await fast.wait_for(24, timeout=15)
            fast_took = time.monotonic() - started
            assert len(slow.delivered) < 24  # still working through its backlog
            await slow.wait_for(24, timeout=30)
        assert slow.most_in_flight <= core.events_out._deliverer._policy.endpoint_concurrency
        assert fast_took < 3 * slow.delay


class TestFailingForDays:
    async def test_five_days_of_failures_disable_it_and_alert(
        self, core, receiver, endpoint, redis
    ):
        receiver.status = 500
        await WebhookEndpoint.get_pymongo_collection().update_one(
            {}, {"$set": {"failing_since": utcnow() - timedelta(days=5, minutes=1)}}
        )
        [event_id] = await publish(core, 1)
        attempted = await core.events_out.deliver(f"{event_id}:{endpoint}", 1)
        assert attempted.outcome is Outcome.RETRYING
        [stored] = await core.events_out.endpoints()
        assert not stored.enabled and "every delivery failed since" in stored.disabled_reason
        assert await redis.exists(f"paygraph:alert:WEBHOOK_ENDPOINT_DISABLED:{endpoint}")
        # Disabled: its attempts wait; enabled again, they are sent.
        key = f"{event_id}:{endpoint}"
        assert (await core.events_out.deliver(key, 2)).outcome is Outcome.SKIPPED
        receiver.status = 200
        enabled = await core.events_out.update_endpoint(endpoint, EndpointChange(enabled=True))
        assert enabled.enabled and enabled.failing_since is None
        assert (await core.events_out.deliver(key, 2)).outcome is Outcome.DELIVERED

    async def test_a_success_ends_the_failing_streak(self, core, receiver, endpoint):
        receiver.status = 500
        [first, second] = await publish(core, 2)
        await core.events_out.deliver(f"{first}:{endpoint}", 1)
        assert (await core.events_out.endpoints())[0].failing_since is not None
        receiver.status = 200
        await core.events_out.deliver(f"{second}:{endpoint}", 1)
        assert (await core.events_out.endpoints())[0].failing_since is None
