"""Reads: one payment, pages of payments, a live status stream, and the payment a gateway
event is about. Nothing here writes."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator
from functools import partial
from typing import Any

from beanie import PydanticObjectId, SortDirection
from bson import ObjectId
from bson.errors import InvalidId
from pymongo.errors import PyMongoError

from gateways.base import GatewayEvent
from models.enums import PaymentStatus
from models.errors import PaymentNotFound, ValidationFailed
from models.payment import Payment
from services.auth import Principal
from services.events import EventBus, payment_channel
from services.kit import may_see, object_id
from services.payments.types import PaymentPage, decode_cursor

MAX_PAGE = 100

# Statuses after which a live status subscription has nothing more to say.
SUBSCRIPTION_END = frozenset(
    {
        PaymentStatus.COMPLETED,
        PaymentStatus.CANCELLED,
        PaymentStatus.EXPIRED,
        PaymentStatus.REFUNDED,
    }
)


async def get(principal: Principal, payment_id: str) -> Payment:
    """The payment, if `principal` may see it. The hottest read of the API: one find_one on the
    model's collection and one model validation (Beanie's query builder around the same
    find_one costs several times the validation), ownership checked before validating."""
    missing = PaymentNotFound("payment not found", field="id")
    found = await Payment.get_pymongo_collection().find_one(
        {"_id": object_id(payment_id, otherwise=missing)}
    )
    if found is None or not may_see(principal, found.get("customer_id", "")):
        raise missing
    payment: Payment = Payment.model_validate(found)
    return payment


# What a display may ask for, by document field: everything but what only the payment's writers
# read (client metadata, notes, method details, gateway attempts, the outbox of events not yet
# relayed, the return URLs, the saved method, the order lease and the receipt).
_WRITERS_ONLY = frozenset(
    {
        "metadata",
        "notes",
        "method_details",
        "gateway_attempts",
        "outbox",
        "return_url",
        "cancel_url",
        "saved_method_id",
        "order_lease_until",
        "receipt",
    }
)
DISPLAY_FIELDS = frozenset(Payment.model_fields) - _WRITERS_ONLY - {"id", "revision_id"}
# Read whatever is asked: what the model cannot do without, and fields one of its rules reads
# together (refund_committed_minor bounds refunded_minor).
_REQUIRED = frozenset(name for name, info in Payment.model_fields.items() if info.is_required())
_ALWAYS = _REQUIRED | {"customer_id", "_id"}
_TOGETHER = {"refunded_minor": ("refund_committed_minor",)}


@functools.lru_cache(maxsize=1024)
def display_keys(fields: frozenset[str] | None) -> frozenset[str]:
    """The document keys a display read of `fields` (None: every display field) validates;
    kept per selection, as the resolver keeps its `fields` per query document."""
    if fields is None:
        fields = DISPLAY_FIELDS
    elif not fields <= DISPLAY_FIELDS:
        raise ValueError(f"not display fields: {sorted(fields - DISPLAY_FIELDS)}")
    together = (name for field in fields for name in _TOGETHER.get(field, ()))
    return fields | _ALWAYS | frozenset(together)


async def read(
    principal: Principal, payment_id: str, *, fields: frozenset[str] | None = None
) -> Payment:
    """The payment for display, if `principal` may see it: `get` validating only `fields` (any
    of DISPLAY_FIELDS; None: all of them) and what the model needs, so what only writers read
    never leaves this module. The fields not read get the model's defaults: never write the
    result back (a writer reads with `get`).

    The document is fetched whole and picked here rather than projected by the database: for a
    payment (a few KB) a projection costs the driver more than decoding the rest (measured:
    0.26-0.29 ms of client CPU per find_one with an inclusion projection of 3-7 fields, 0.24 ms
    without), and costs the server more too. Validating only what is shown is the saving."""
    missing = PaymentNotFound("payment not found", field="id")
    found = await Payment.get_pymongo_collection().find_one(
        {"_id": object_id(payment_id, otherwise=missing)}
    )
    if found is None or not may_see(principal, found.get("customer_id", "")):
        raise missing
    keys = display_keys(fields)
    payment: Payment = Payment.model_validate({k: v for k, v in found.items() if k in keys})
    return payment


async def list_payments(
    principal: Principal,
    *,
    first: int,
    after: str | None,
    status: PaymentStatus | None,
    customer_id: str | None,
) -> PaymentPage:
    if not 1 <= first <= MAX_PAGE:
        raise ValidationFailed(f"first must be between 1 and {MAX_PAGE}", field="first")
    query: dict[str, Any] = {}
    if principal.is_admin:
        if customer_id:
            query["customer_id"] = customer_id
    else:
        query["customer_id"] = principal.customer_id
    if status is not None:
        query["status"] = status.value
    if after:
        created, oid = decode_cursor(after)
        query["$or"] = [
            {"created_at": {"$lt": created}},
            {"created_at": created, "_id": {"$lt": oid}},
        ]
    found = (
        await Payment.find(query)
        .sort([("created_at", SortDirection.DESCENDING), ("_id", SortDirection.DESCENDING)])
        .limit(first + 1)
        .to_list()
    )
    return PaymentPage(items=found[:first], has_next_page=len(found) > first)


async def watch(
    events: EventBus,
    reads: SharedReads,
    max_attempts: int,
    principal: Principal,
    payment_id: str,
) -> AsyncIterator[Payment]:
    key = object_id(payment_id, otherwise=PaymentNotFound("payment not found", field="id"))
    last_version = -1
    async for notice in events.listen(payment_channel(str(key))):
        if last_version < 0:
            # Read once subscribed, so no change can fall between the read and the channel;
            # ownership is checked before anything is yielded.
            current: Payment | None = await get(principal, payment_id)
        elif notice is None:  # a heartbeat, or the connection came back: did it change?
            version = await reads.version(key)
            if version is None:
                return
            if version <= last_version:
                continue
            current = await reads.at_least(key, version)
        elif notice.version <= last_version:
            continue  # shown already (a late or repeated notice)
        else:
            current = await reads.at_least(key, notice.version)
        if current is None:
            return
        if current.version > last_version:
            last_version = current.version
            yield current
            if subscription_ends(current, max_attempts):
                return


# Heartbeat checks that come within this many seconds of each other share one query.
VERSION_BATCH_SECONDS = 0.5


class SharedReads:
    """Reads for live subscriptions. Subscribers of one payment told of one change share one
    read (a change seen by a thousand subscribers costs one query, not a thousand), and the
    heartbeats' version checks are batched: one query for every subscription that asks within
    VERSION_BATCH_SECONDS."""

    def __init__(self, batch_seconds: float = VERSION_BATCH_SECONDS) -> None:
        self._reading: dict[PydanticObjectId, asyncio.Task[Payment | None]] = {}
        self._batch_seconds = batch_seconds
        self._asked: dict[PydanticObjectId, list[asyncio.Future[int | None]]] = {}
        self._batch: asyncio.TimerHandle | None = None

    async def at_least(self, payment_id: PydanticObjectId, version: int) -> Payment | None:
        """The payment, from a read that shows `version` or newer: a read already under way
        is joined, and read again if it began before that version was written."""
        found: Payment | None = None
        for _ in range(3):
            task = self._reading.get(payment_id)
            if task is None:
                task = asyncio.get_running_loop().create_task(Payment.get(payment_id))
                self._reading[payment_id] = task
                task.add_done_callback(partial(self._forget, payment_id))
            # One subscriber leaving must not cancel the read the others wait for.
            found = await asyncio.shield(task)
            if found is None or found.version >= version:
                return found
        return found

    def _forget(self, payment_id: PydanticObjectId, task: asyncio.Task[Payment | None]) -> None:
        if self._reading.get(payment_id) is task:
            del self._reading[payment_id]
        if not task.cancelled():
            task.exception()  # retrieved here too, in case every waiter has left

    async def version(self, payment_id: PydanticObjectId) -> int | None:
        """The stored version alone (None if the payment is gone), read in the next batch."""
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[int | None] = loop.create_future()
        self._asked.setdefault(payment_id, []).append(answer)
        if self._batch is None:
            self._batch = loop.call_later(self._batch_seconds, self._read_batch)
        return await answer

    def _read_batch(self) -> None:
        asked, self._asked, self._batch = self._asked, {}, None
        task = asyncio.get_running_loop().create_task(self._answer(asked))
        task.add_done_callback(_retrieve)

    @staticmethod
    async def _answer(asked: dict[PydanticObjectId, list[asyncio.Future[int | None]]]) -> None:
        answers = [(key, answer) for key, waiting in asked.items() for answer in waiting]
        try:
            try:
                found = {
                    doc["_id"]: int(doc.get("version", 0))
                    async for doc in Payment.get_pymongo_collection().find(
                        {"_id": {"$in": list(asked)}}, {"version": 1}
                    )
                }
            except PyMongoError as exc:
                for _, answer in answers:
                    if not answer.done():
                        answer.set_exception(exc)
                return
            for payment_id, answer in answers:
                if not answer.done():  # its subscriber may have left
                    answer.set_result(found.get(payment_id))
        finally:
            for _, answer in answers:
                answer.cancel()  # answered ones stay answered; an interrupted batch ends its waiters


def _retrieve(task: asyncio.Task[None]) -> None:
    if not task.cancelled():
        task.exception()  # the waiters got it


def subscription_ends(payment: Payment, max_attempts: int) -> bool:
    """A final status, or a failure with no attempt left."""
    if payment.status in SUBSCRIPTION_END:
        return True
    return payment.status is PaymentStatus.FAILED and payment.attempt_count >= max_attempts


async def find_for_event(event: GatewayEvent) -> Payment | None:
    if event.reference:
        try:
            found = await Payment.get(PydanticObjectId(ObjectId(event.reference)))
        except (InvalidId, TypeError):
            found = None
        # The reference can come from notes a customer may set: trust it only when the
        # event's gateway order is that payment's order.
        if (
            found is not None
            and found.gateway is event.gateway
            and (not event.order_id or found.gateway_order_id in (None, event.order_id))
        ):
            return found
    if event.order_id:
        found = await Payment.find_one(
            {"gateway": event.gateway.value, "gateway_order_id": event.order_id}
        )
        if found is not None:
            return found
    if event.payment_id:
        return await Payment.find_one(
            {"gateway": event.gateway.value, "gateway_payment_id": event.payment_id}
        )
    return None
