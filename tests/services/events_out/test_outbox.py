"""The outbox: an event exists exactly when its change does, and relaying it any number of
times stores it once and makes one delivery per endpoint."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pymongo.errors import OperationFailure

from gateways.base import Gateway, GatewayRefund, GatewayRefundStatus
from models.clock import utcnow
from models.enums import PaymentStatus, RefundStatus, Role, TransitionSource
from models.events_out import Delivery, Event, EventType, OutboxSource, WebhookEndpoint
from models.payment import Payment
from models.refund import Refund
from services.auth import Principal
from services.refunds import RefundCommand
from tests.resolvers.test_payments_api import order_id
from tests.resolvers.test_refunds_api import completed_payment

OPS = Principal("ops-events", frozenset({Role.ADMIN}))


async def accepted_refund(core, shopper, amount: str = "250.00") -> Refund:
    pid = await completed_payment(shopper)
    command = RefundCommand(payment_id=pid, amount=amount, idempotency_key=f"events-{pid}")
    return await core.refunds.refund(OPS, command)


def processed(refund: Refund) -> GatewayRefund:
    return GatewayRefund(
        gateway=Gateway.RAZORPAY,
        id="rfnd_atomic0001",
        payment_id=refund.gateway_payment_id,
        amount_minor=refund.amount.amount_minor,
        currency=refund.amount.currency,
        status=GatewayRefundStatus.PROCESSED,
    )


class TestSameWrite:
    async def test_an_accepted_refund_carries_its_event(self, core, shopper):
        refund = await accepted_refund(core, shopper)
        stored = await Refund.get(refund.id)
        assert [e.type for e in stored.outbox] == [EventType.REFUND_CREATED]
        entry = stored.outbox[0]
        assert entry.id.startswith("evt_") and entry.version == stored.version
        assert entry.data["refund"]["status"] == "PENDING"
        payment = await Payment.get(refund.payment_id)
        assert entry.data["payment"]["version"] == payment.version

    async def test_mongodb_failing_the_write_leaves_neither_change_nor_event(
        self, core, shopper, _mongo_database
    ):
        refund = await accepted_refund(core, shopper)
        told_of_payment = [e.type for e in (await Payment.get(refund.payment_id)).outbox]
        assert told_of_payment == [EventType.PAYMENT_INITIATED, EventType.PAYMENT_COMPLETED]
        admin = _mongo_database.client.admin
        # Settling is one transaction of three updates: the refund, the payment's money (with
        # payment.partially_refunded), the refund's event. The third one fails.
        await admin.command(
            {
                "configureFailPoint": "failCommand",
                "mode": {"skip": 2, "times": 1},
                "data": {"failCommands": ["update"], "errorCode": 2},
            }
        )
        try:
            with pytest.raises(OperationFailure):
                await core.refunds.apply_gateway_refund(
                    refund, processed(refund), TransitionSource.WEBHOOK
                )
        finally:
            await admin.command({"configureFailPoint": "failCommand", "mode": "off"})
        stored = await Refund.get(refund.id)
        payment = await Payment.get(refund.payment_id)
        assert stored.status is RefundStatus.PENDING
        assert [e.type for e in stored.outbox] == [EventType.REFUND_CREATED]
        assert payment.refunded_minor == 0
        assert [e.type for e in payment.outbox] == told_of_payment
        # The same change, written: both events with it.
        await core.refunds.apply_gateway_refund(refund, processed(refund), TransitionSource.WEBHOOK)
        stored = await Refund.get(refund.id)
        payment = await Payment.get(refund.payment_id)
        assert [e.type for e in stored.outbox] == [
            EventType.REFUND_CREATED,
            EventType.REFUND_COMPLETED,
        ]
        assert [e.type for e in payment.outbox] == [
            *told_of_payment,
            EventType.PAYMENT_PARTIALLY_REFUNDED,
        ]
        assert payment.refunded_minor == 25000

    async def test_a_payment_write_refused_by_mongodb_tells_nothing(
        self, core, shopper, _mongo_database
    ):
        initiated = await shopper.initiate(orderId=order_id())
        pid = initiated["payment"]["id"]
        customer = Principal("cust-events", frozenset({Role.CUSTOMER}))
        admin = _mongo_database.client.admin
        await admin.command(
            {
                "configureFailPoint": "failCommand",
                "mode": {"times": 1},
                "data": {"failCommands": ["update"], "errorCode": 2},
            }
        )
        try:
            with pytest.raises(OperationFailure):
                await core.payments.cancel(customer, pid)
        finally:
            await admin.command({"configureFailPoint": "failCommand", "mode": "off"})
        payment = await Payment.get(pid)
        assert payment.status is PaymentStatus.INITIATED
        assert [e.type for e in payment.outbox] == [EventType.PAYMENT_INITIATED]
        await core.payments.cancel(customer, pid)
        payment = await Payment.get(pid)
        assert [e.type for e in payment.outbox] == [
            EventType.PAYMENT_INITIATED,
            EventType.PAYMENT_CANCELLED,
        ]
        assert payment.outbox[1].version == payment.version


class TestRelay:
    async def test_relaying_twice_stores_once_and_delivers_once(self, core, shopper, endpoint):
        refund = await accepted_refund(core, shopper)
        entry = (await Refund.get(refund.id)).outbox[0]
        await core.events_out._relay.publish([entry])  # a relay that died before its pull
        assert await core.events_out.relay(OutboxSource.REFUND, [str(refund.id)]) == 1
        assert await core.events_out.relay(OutboxSource.REFUND, [str(refund.id)]) == 0
        assert (await Refund.get(refund.id)).outbox == []
        assert [e.id for e in await Event.find({"type": "refund.created"}).to_list()] == [entry.id]
        deliveries = await Delivery.find().to_list()
        assert [(d.event_id, str(d.endpoint_id)) for d in deliveries] == [(entry.id, endpoint)]
        # (the payment's own events stay in its outbox: no relay job ran in this test)

    async def test_the_sweep_relays_what_no_job_did(self, core, shopper, endpoint):
        refund = await accepted_refund(core, shopper)
        assert await core.events_out._relay.sweep() == 0  # too young: its job may still come
        relayed = await core.events_out._relay.sweep(now=utcnow() + timedelta(minutes=1))
        assert relayed == 3  # payment.initiated, payment.completed, refund.created
        assert (await Refund.get(refund.id)).outbox == []
        assert (await Payment.get(refund.payment_id)).outbox == []
        assert await Event.find().count() == 3

    async def test_several_documents_in_one_relay(self, core, shopper, endpoint):
        first = await accepted_refund(core, shopper)
        second = await accepted_refund(core, shopper, amount="100.00")
        payments = [str(first.payment_id), str(second.payment_id)]
        expected = [e.id for pid in payments for e in (await Payment.get(pid)).outbox]
        assert len(expected) == 4  # initiated and completed of each
        assert await core.events_out.relay(OutboxSource.PAYMENT, [*payments, str(first.id)]) == 4
        assert [(await Payment.get(pid)).outbox for pid in payments] == [[], []]
        assert len((await Refund.get(first.id)).outbox) == 1  # a refund is not a payment
        stored = {e.id for e in await Event.find({"type": {"$regex": "^payment"}}).to_list()}
        assert stored == set(expected)

    async def test_an_endpoint_registered_after_the_change_is_not_told(self, core, shopper):
        refund = await accepted_refund(core, shopper)
        await core.events_out.create_endpoint("http://127.0.0.1:9/hooks", [])
        await core.events_out.relay(OutboxSource.REFUND, [str(refund.id)])
        assert await Event.find().count() == 1
        assert await Delivery.find().count() == 0

    async def test_an_endpoint_gets_only_the_types_it_asked_for(self, core, shopper):
        refund = await accepted_refund(core, shopper)
        await core.events_out.create_endpoint("http://127.0.0.1:9/a", ["refund.completed"])
        await core.events_out.create_endpoint("http://127.0.0.1:9/b", ["refund.created"])
        # created before the change, as far as the relay can tell
        await WebhookEndpoint.get_pymongo_collection().update_many(
            {}, {"$set": {"created_at": refund.created_at.replace(year=2020)}}
        )
        await core.events_out.relay(OutboxSource.REFUND, [str(refund.id)])
        deliveries = await Delivery.find().to_list()
        endpoints = {e.url: e.id for e in await core.events_out.endpoints()}
        assert [d.endpoint_id for d in deliveries] == [endpoints["http://127.0.0.1:9/b"]]


class _Jobs:
    """Records the relay jobs queued (a unit test of OutboxNudge alone)."""

    def __init__(self) -> None:
        self.queued: list[list[tuple[str, list[str], str]]] = []

    async def enqueue_relays(self, relays):
        self.queued.append([(s, list(ids), key) for s, ids, key in relays])

    async def enqueue_delivery(self, delivery_id, attempt, *, at=None, tag=""):
        raise AssertionError("a nudge queues relays only")


class TestNudges:
    async def test_a_windows_writes_are_one_job_per_source(self):
        from services.events_out.outbox import OutboxNudge

        jobs = _Jobs()
        nudge = OutboxNudge(jobs, window=0.01)
        payment = lambda pid, version: Payment.model_construct(id=pid, version=version)  # noqa: E731
        nudge.payment_transitioned(payment("a" * 24, 1), PaymentStatus.INITIATED, utcnow())
        nudge.payment_transitioned(payment("b" * 24, 3), PaymentStatus.COMPLETED, utcnow())
        nudge.payment_transitioned(payment("a" * 24, 2), PaymentStatus.AUTHORIZED, utcnow())
        nudge.refund_transitioned(
            Refund.model_construct(id="c" * 24, version=1), RefundStatus.PENDING
        )
        nudge.payment_transitioned(payment("d" * 24, 1), PaymentStatus.PENDING, utcnow())
        await nudge.aclose()
        [batch] = jobs.queued
        assert sorted((source, ids) for source, ids, _ in batch) == [
            ("payment", ["a" * 24, "b" * 24]),  # PENDING has no event; a's latest write wins
            ("refund", ["c" * 24]),
        ]

    async def test_the_same_writes_name_the_same_job(self):
        from services.events_out.outbox import OutboxNudge

        keys = []
        for order in ((1, 2), (2, 1)):
            jobs = _Jobs()
            nudge = OutboxNudge(jobs, window=0.01)
            for n in order:
                nudge.payment_transitioned(
                    Payment.model_construct(id=str(n) * 24, version=n),
                    PaymentStatus.COMPLETED,
                    utcnow(),
                )
            await nudge.aclose()
            keys.append(jobs.queued[0][0][2])
        assert keys[0] == keys[1]
