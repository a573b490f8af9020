"""The one writer: compare-and-set on the version read, a lost race re-read and decided again,
duplicates as Noop, timeline entries with their source, the observer and the change notice.
Real MongoDB-wire server and Redis; no gateway."""

from __future__ import annotations

import asyncio
import itertools
from datetime import timedelta

import pytest

from models.clock import utcnow
from models.common import TimelineEntry
from models.enums import Gateway, PaymentMethodType, PaymentStatus, TransitionSource
from models.errors import InvalidState, PaymentNotFound
from models.money import Money
from models.payment import Payment
from models.transitions import PaymentEvent
from services.events import ChangeNotice, EventBus, payment_channel
from services.payments.store import CAS_ATTEMPTS, Change, PaymentStore

S = PaymentStatus
_ids = itertools.count(1)


class Recorder:
    """A ChangeObserver that keeps what it was told."""

    def __init__(self) -> None:
        self.transitions: list[tuple[str, PaymentStatus]] = []
        self.failed_attempts: list[str] = []

    def payment_transitioned(self, payment, status, at) -> None:
        self.transitions.append((str(payment.id), status))

    def payment_attempt_failed(self, payment) -> None:
        self.failed_attempts.append(str(payment.id))

    def refund_transitioned(self, refund, status) -> None:
        raise AssertionError("the payment store never reports refunds")


@pytest.fixture
def observer() -> Recorder:
    return Recorder()


@pytest.fixture
async def store(mongo_db, redis, observer) -> PaymentStore:
    return PaymentStore(EventBus(redis), observer)


async def stored(status: PaymentStatus = PaymentStatus.INITIATED) -> Payment:
    n = next(_ids)
    payment = Payment(
        order_id=f"ORD-STORE-{n}",
        customer_id="cust-store",
        amount=Money(amount_minor=49900, currency="INR"),
        gateway=Gateway.RAZORPAY,
        method_type=PaymentMethodType.CARD,
        status=status,
        gateway_order_id=f"order_store{n:08d}",
        request_fingerprint=f"fp-{n}",
        expires_at=utcnow() + timedelta(hours=1),
    )
    await payment.insert()
    return payment


async def in_db(payment: Payment) -> Payment:
    found = await Payment.get(payment.id)
    assert found is not None
    return found


class TestTransition:
    async def test_applies_writes_and_returns_what_it_wrote(self, store, observer):
        payment = await stored()
        done = await store.transition(
            payment,
            PaymentEvent.CAPTURED,
            TransitionSource.WEBHOOK,
            actor="webhook",
            note="captured",
            gateway_event_id="evt_1",
            gateway_payment_id="pay_1",
            set_fields={"gateway_payment_id": "pay_1"},
        )
        assert (done.status, done.version, done.gateway_payment_id) == (
            PaymentStatus.COMPLETED,
            payment.version + 1,
            "pay_1",
        )
        entry = done.timeline[-1]
        assert (entry.from_status, entry.to_status, entry.event) == (
            PaymentStatus.INITIATED,
            PaymentStatus.COMPLETED,
            PaymentEvent.CAPTURED,
        )
        assert (entry.gateway_event_id, entry.gateway_payment_id, entry.actor, entry.note) == (
            "evt_1",
            "pay_1",
            "webhook",
            "captured",
        )
        reread = await in_db(payment)
        assert (reread.status, reread.version, reread.timeline) == (
            done.status,
            done.version,
            done.timeline,
        )
        assert observer.transitions == [(str(payment.id), PaymentStatus.COMPLETED)]
        assert observer.failed_attempts == []

    @pytest.mark.parametrize("source", list(TransitionSource))
    async def test_timeline_entries_carry_their_source(self, store, source):
        payment = await stored()
        await store.transition(payment, PaymentEvent.EXPIRED, source, actor=source.value.lower())
        entry = (await in_db(payment)).timeline[-1]
        assert (entry.source, entry.actor, entry.to_status) == (
            source,
            source.value.lower(),
            PaymentStatus.EXPIRED,
        )

    async def test_a_duplicate_event_is_noop(self, store, observer):
        payment = await stored()
        done = await store.transition(payment, PaymentEvent.CAPTURED, TransitionSource.API)
        again = await store.transition(
            done, PaymentEvent.CAPTURED, TransitionSource.WEBHOOK, gateway_event_id="evt_2"
        )
        assert again is done
        reread = await in_db(payment)
        assert reread.version == done.version
        assert [e.event for e in reread.timeline] == [PaymentEvent.CAPTURED]
        assert len(observer.transitions) == 1

    async def test_a_stale_event_is_noop(self, store):
        payment = await stored(PaymentStatus.COMPLETED)
        again = await store.transition(payment, PaymentEvent.AUTHORIZED, TransitionSource.WEBHOOK)
        assert again is payment
        assert (await in_db(payment)).version == payment.version

    async def test_a_contradiction_is_refused_and_writes_nothing(self, store, observer):
        payment = await stored(PaymentStatus.COMPLETED)
        with pytest.raises(InvalidState, match="refund it instead"):
            await store.transition(payment, PaymentEvent.CANCELLED, TransitionSource.API)
        reread = await in_db(payment)
        assert (reread.status, reread.version, reread.timeline) == (
            PaymentStatus.COMPLETED,
            payment.version,
            [],
        )
        assert observer.transitions == []

    async def test_publishes_a_change_notice(self, store, redis):
        payment = await stored()
        notices = EventBus(redis, heartbeat_seconds=1).listen(payment_channel(str(payment.id)))
        assert await anext(notices) is None  # subscribed
        done = await store.transition(payment, PaymentEvent.CAPTURED, TransitionSource.API)

        async def first_notice() -> ChangeNotice:
            async for notice in notices:
                if notice is not None:  # None: a heartbeat
                    return notice
            raise AssertionError("the subscription ended")

        try:
            notice = await asyncio.wait_for(first_notice(), timeout=5)
        finally:
            await notices.aclose()
        assert notice == ChangeNotice(str(payment.id), "COMPLETED", done.version)


class TestLostRace:
    async def test_a_lost_race_rereads_and_decides_again(self, store):
        payment = await stored()
        # Another writer authorizes it after we read it...
        await store.transition(payment, PaymentEvent.AUTHORIZED, TransitionSource.WEBHOOK)
        # ...so our capture, decided on INITIATED, loses; decided again on AUTHORIZED it
        # applies from the status that is really there.
        done = await store.transition(payment, PaymentEvent.CAPTURED, TransitionSource.API)
        assert done.status is PaymentStatus.COMPLETED
        assert done.version == payment.version + 2
        assert [(e.from_status, e.to_status) for e in (await in_db(payment)).timeline] == [
            (PaymentStatus.INITIATED, PaymentStatus.AUTHORIZED),
            (PaymentStatus.AUTHORIZED, PaymentStatus.COMPLETED),
        ]

    async def test_decided_again_a_close_turns_a_capture_into_a_refusal(self, store):
        payment = await stored()
        await store.transition(payment, PaymentEvent.CANCELLED, TransitionSource.API)
        # Money for a closed payment is late money (services/payments/late.py), never a
        # capture of ours: decided again on CANCELLED, the capture is refused.
        with pytest.raises(InvalidState):
            await store.transition(payment, PaymentEvent.CAPTURED, TransitionSource.WEBHOOK)
        assert (await in_db(payment)).status is PaymentStatus.CANCELLED

    async def test_decided_again_it_can_become_noop(self, store):
        payment = await stored()
        first = await store.transition(payment, PaymentEvent.CAPTURED, TransitionSource.API)
        # The same capture arriving from a copy read before the first write: nothing to add.
        again = await store.transition(payment, PaymentEvent.CAPTURED, TransitionSource.WEBHOOK)
        assert (again.status, again.version) == (PaymentStatus.COMPLETED, first.version)
        assert len((await in_db(payment)).timeline) == 1

    async def test_decided_again_it_can_become_a_rejection(self, store):
        payment = await stored()
        await store.transition(payment, PaymentEvent.CAPTURED, TransitionSource.WEBHOOK)
        with pytest.raises(InvalidState):
            await store.transition(payment, PaymentEvent.EXPIRED, TransitionSource.EXPIRY)
        assert (await in_db(payment)).status is PaymentStatus.COMPLETED

    async def test_concurrent_writers_apply_one_event_once(self, store, observer):
        payment = await stored()
        results = await asyncio.gather(
            *(
                store.transition(payment, PaymentEvent.CAPTURED, TransitionSource.WEBHOOK)
                for _ in range(6)
            )
        )
        assert {r.status for r in results} == {PaymentStatus.COMPLETED}
        reread = await in_db(payment)
        assert (reread.version, len(reread.timeline)) == (payment.version + 1, 1)
        assert observer.transitions == [(str(payment.id), PaymentStatus.COMPLETED)]

    async def test_gives_up_when_it_keeps_losing(self, mongo_db, redis, observer):
        class AlwaysStale(PaymentStore):
            async def reload(self, payment: Payment) -> Payment:
                return payment  # as if every re-read were already outdated

        payment = await stored()
        await PaymentStore(EventBus(redis), observer).cas(payment, {"notes": {"x": "y"}})
        decided = []

        def decide_change(current: Payment) -> Change:
            decided.append(current.version)
            entry = TimelineEntry(
                from_status=current.status,
                to_status=PaymentStatus.FAILED,
                event=PaymentEvent.FAILED,
                source=TransitionSource.API,
            )
            return Change(entry)

        with pytest.raises(InvalidState, match="changing too fast"):
            await AlwaysStale(EventBus(redis), observer).write(payment, decide_change)
        assert decided == [payment.version] * CAS_ATTEMPTS
        assert (await in_db(payment)).status is PaymentStatus.INITIATED


class TestWrite:
    async def test_a_counted_attempt_without_a_status_change(self, store, observer):
        payment = await stored(PaymentStatus.FAILED)

        def one_more_failure(current: Payment) -> Change:
            entry = TimelineEntry(
                from_status=current.status,
                to_status=current.status,
                event=PaymentEvent.FAILED,
                source=TransitionSource.RECONCILIATION,
            )
            return Change(entry, {"error_code": "BAD"}, counts_attempt=True)

        done = await store.write(payment, one_more_failure)
        reread = await in_db(payment)
        assert (reread.attempt_count, reread.error_code, reread.version) == (1, "BAD", 1)
        assert (done.attempt_count, done.version) == (1, 1)
        assert observer.transitions == []  # the status did not move
        assert observer.failed_attempts == [str(payment.id)]

    async def test_nothing_to_write_returns_the_payment_as_read(self, store):
        payment = await stored()
        assert await store.write(payment, lambda current: None) is payment
        assert (await in_db(payment)).version == payment.version


class TestFailedAttempt:
    @pytest.mark.parametrize(
        ("status", "after"),
        [
            (S.PENDING, S.FAILED),
            (S.INITIATED, S.FAILED),
            (S.FAILED, S.FAILED),
            # Late or stale: counted all the same, the status stays where it is.
            (S.AUTHORIZED, S.AUTHORIZED),
            (S.COMPLETED, S.COMPLETED),
            (S.PARTIALLY_REFUNDED, S.PARTIALLY_REFUNDED),
            (S.REFUNDED, S.REFUNDED),
            (S.CANCELLED, S.CANCELLED),
            (S.EXPIRED, S.EXPIRED),
        ],
    )
    async def test_always_counted_the_status_as_the_state_machine_says(
        self, store, observer, status, after
    ):
        payment = await stored(status)
        done = await store.failed_attempt(
            payment, TransitionSource.WEBHOOK, "webhook", code="DECLINED", reason="declined"
        )
        reread = await in_db(payment)
        assert (reread.status, reread.attempt_count, done.attempt_count) == (after, 1, 1)
        assert reread.error_code == ("DECLINED" if after is S.FAILED else None)
        entry = reread.timeline[-1]
        assert (entry.event, entry.from_status, entry.to_status, entry.note) == (
            PaymentEvent.FAILED,
            status,
            after,
            "attempt 1 failed: declined",
        )
        assert observer.failed_attempts == [str(payment.id)]
        assert observer.transitions == ([] if after is status else [(str(payment.id), after)])

    @pytest.mark.parametrize(
        "same", [{"gateway_event_id": "evt_1"}, {"gateway_payment_id": "pay_1"}]
    )
    async def test_the_same_failure_is_counted_once(self, store, same):
        payment = await stored()
        for _ in range(3):
            payment = await store.failed_attempt(
                payment, TransitionSource.WEBHOOK, None, code=None, reason="declined", **same
            )
        reread = await in_db(payment)
        assert (reread.attempt_count, len(reread.timeline)) == (1, 1)

    async def test_different_failures_each_count(self, store):
        payment = await stored()
        for n in range(3):
            payment = await store.failed_attempt(
                payment,
                TransitionSource.API,
                None,
                code=None,
                reason=f"try {n}",
                gateway_payment_id=f"pay_{n}",
            )
        reread = await in_db(payment)
        assert (reread.attempt_count, reread.gateway_payment_id) == (3, "pay_2")
        assert reread.timeline[-1].note == "attempt 3 failed: try 2"


class TestCompareAndSet:
    async def test_writes_at_the_version_read(self, store):
        payment = await stored()
        until = utcnow() + timedelta(seconds=30)
        taken = await store.cas(payment, {"order_lease_until": until})
        assert taken is not None and taken.version == payment.version + 1
        reread = await in_db(payment)
        assert reread.version == taken.version
        assert reread.order_lease_until is not None
        assert abs((reread.order_lease_until - until).total_seconds()) < 0.01

    async def test_a_stale_version_writes_nothing(self, store):
        payment = await stored()
        assert await store.cas(payment, {"receipt": "first"}) is not None
        assert await store.cas(payment, {"receipt": "second"}) is None
        assert (await in_db(payment)).receipt == "first"


class TestReload:
    async def test_a_payment_that_is_gone(self, store):
        payment = await stored()
        await payment.delete()
        with pytest.raises(PaymentNotFound):
            await store.reload(payment)
