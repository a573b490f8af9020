"""Live reads: `PaymentService.watch` (many subscribers of one payment, a notice already shown,
a change whose notice was lost) and `SharedReads` (one read for many subscribers of one change).
Real MongoDB-wire server and Redis; no gateway."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from gateways.registry import GatewayRegistry
from models.clock import utcnow
from models.enums import Gateway, PaymentMethodType, PaymentStatus, Role, TransitionSource
from models.money import Money
from models.payment import Payment
from models.transitions import PaymentEvent
from services.auth import Principal
from services.events import ChangeNotice, EventBus, payment_channel
from services.payments import PaymentPolicy, PaymentService
from services.payments.queries import SharedReads
from services.payments.store import PaymentStore
from tests.services.payments.test_store import Recorder

CUSTOMER = Principal("cust-live-reads", frozenset({Role.CUSTOMER}))
_ids = itertools.count(1)


async def stored() -> Payment:
    n = next(_ids)
    payment = Payment(
        order_id=f"ORD-LIVE-{n}",
        customer_id=CUSTOMER.customer_id,
        amount=Money(amount_minor=49900, currency="INR"),
        gateway=Gateway.RAZORPAY,
        method_type=PaymentMethodType.CARD,
        status=PaymentStatus.INITIATED,
        gateway_order_id=f"order_live{n:08d}",
        request_fingerprint=f"fp-live-{n}",
        expires_at=utcnow() + timedelta(hours=1),
    )
    await payment.insert()
    return payment


@pytest.fixture
async def events(mongo_db, redis) -> AsyncIterator[EventBus]:
    bus = EventBus(redis, heartbeat_seconds=0.5)
    try:
        yield bus
    finally:
        await bus.aclose()


@pytest.fixture
def service(events) -> PaymentService:
    return PaymentService(GatewayRegistry([]), events, PaymentPolicy())


async def within(stream: AsyncIterator[Payment], seconds: float = 5.0) -> Payment:
    async with asyncio.timeout(seconds):
        return await anext(stream)


class TestWatch:
    async def test_every_subscriber_of_one_payment_sees_the_change(self, service, events):
        payment = await stored()
        streams = [service.watch(CUSTOMER, str(payment.id)) for _ in range(30)]
        try:
            first = await asyncio.gather(*(within(s) for s in streams))
            assert {p.status for p in first} == {PaymentStatus.INITIATED}
            await PaymentStore(events, Recorder()).transition(
                payment, PaymentEvent.CANCELLED, TransitionSource.API
            )
            changed = await asyncio.gather(*(within(s) for s in streams))
            assert {(p.status, p.version) for p in changed} == {
                (PaymentStatus.CANCELLED, payment.version + 1)
            }
        finally:
            for stream in streams:
                await stream.aclose()  # type: ignore[attr-defined]

    async def test_a_notice_already_shown_yields_nothing_new(self, service, events):
        payment = await stored()
        stream = service.watch(CUSTOMER, str(payment.id))
        try:
            assert (await within(stream)).version == payment.version
            channel = payment_channel(str(payment.id))
            await events.publish(channel, ChangeNotice(str(payment.id), "INITIATED", 0))
            with pytest.raises(TimeoutError):
                await within(stream, 1.2)  # heartbeats included: the version did not move
        finally:
            await stream.aclose()  # type: ignore[attr-defined]

    async def test_a_change_whose_notice_was_lost_is_seen_at_a_heartbeat(self, service):
        payment = await stored()
        stream = service.watch(CUSTOMER, str(payment.id))
        try:
            await within(stream)
            # Written without a notice, as when the publish failed after the write.
            await Payment.get_pymongo_collection().update_one(
                {"_id": payment.id},
                {"$set": {"status": "CANCELLED"}, "$inc": {"version": 1}},
            )
            seen = await within(stream, 3)
            assert (seen.status, seen.version) == (PaymentStatus.CANCELLED, payment.version + 1)
        finally:
            await stream.aclose()  # type: ignore[attr-defined]


class TestSharedReads:
    async def test_concurrent_reads_of_one_payment_share_one_query(self, mongo_db, monkeypatch):
        payment = await stored()
        calls = 0
        real_get = Payment.get

        async def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
            nonlocal calls
            calls += 1
            return await real_get(*args, **kwargs)

        monkeypatch.setattr(Payment, "get", counted)
        reads = SharedReads()
        found = await asyncio.gather(
            *(reads.at_least(payment.id, payment.version) for _ in range(50))
        )
        assert calls == 1
        assert {p.version for p in found if p is not None} == {payment.version}

    async def test_a_read_older_than_the_version_asked_for_is_done_again(
        self, mongo_db, monkeypatch
    ):
        payment = await stored()
        reads = SharedReads()
        real_get = Payment.get
        gate = asyncio.Event()

        async def slow_first(*args, **kwargs):  # type: ignore[no-untyped-def]
            found = await real_get(*args, **kwargs)
            await gate.wait()
            return found

        monkeypatch.setattr(Payment, "get", slow_first)
        early = asyncio.create_task(reads.at_least(payment.id, payment.version))
        await asyncio.sleep(0.2)  # the first read has the old version in hand
        await Payment.get_pymongo_collection().update_one(
            {"_id": payment.id}, {"$inc": {"version": 1}}
        )
        late = asyncio.create_task(reads.at_least(payment.id, payment.version + 1))
        await asyncio.sleep(0.1)
        gate.set()
        assert (await early).version == payment.version  # type: ignore[union-attr]
        assert (await late).version == payment.version + 1  # type: ignore[union-attr]

    async def test_version_reads_the_version_alone(self, mongo_db):
        payment = await stored()
        reads = SharedReads(batch_seconds=0.01)
        assert await reads.version(payment.id) == payment.version
        await Payment.get_pymongo_collection().delete_one({"_id": payment.id})
        assert await reads.version(payment.id) is None

    async def test_version_checks_asked_together_share_one_query(self, mongo_db, monkeypatch):
        payments = [await stored() for _ in range(5)]
        await Payment.get_pymongo_collection().update_one(
            {"_id": payments[0].id}, {"$inc": {"version": 2}}
        )
        queries = 0
        real = Payment.get_pymongo_collection

        def counted():  # type: ignore[no-untyped-def]
            nonlocal queries
            queries += 1
            return real()

        monkeypatch.setattr(Payment, "get_pymongo_collection", counted)
        reads = SharedReads(batch_seconds=0.05)
        versions = await asyncio.gather(*(reads.version(p.id) for p in payments for _ in range(10)))
        assert queries == 1
        assert versions[:10] == [payments[0].version + 2] * 10
        assert versions[10:] == [0] * 40
