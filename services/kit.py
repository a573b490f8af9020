"""Small helpers every service shares: ids from clients, ownership, transactions."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, Generic, TypeVar

from beanie import PydanticObjectId
from bson import ObjectId
from bson.errors import InvalidId
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection

from models.payment import Payment
from services.auth import Principal

K = TypeVar("K")
V = TypeVar("V")


async def every_row(
    collection: AsyncCollection[dict[str, Any]],
    projection: Mapping[str, Any],
    *,
    batch_size: int,
) -> AsyncIterator[dict[str, Any]]:
    """Every document of `collection` in `_id` order, `batch_size` per read, each batch after
    the last `_id` seen (a scan that other writers and its own updates do not disturb)."""
    last_id: ObjectId | None = None
    while True:
        query: Mapping[str, Any] = {} if last_id is None else {"_id": {"$gt": last_id}}
        batch = await collection.find(query, projection).sort("_id", 1).limit(batch_size).to_list()
        if not batch:
            return
        for row in batch:
            yield row
        last_id = batch[-1]["_id"]


def object_id(value: object, *, otherwise: Exception) -> PydanticObjectId:
    """`value` as an ObjectId; `otherwise` is raised for anything that is not one (a malformed
    id names nothing we hold: callers pass their NotFound or ValidationFailed)."""
    try:
        return PydanticObjectId(ObjectId(value))  # type: ignore[arg-type]
    except (InvalidId, TypeError):
        raise otherwise from None


def may_see(principal: Principal, customer_id: str) -> bool:
    """Admins see every customer's records; a customer only their own (another customer's id is
    NOT_FOUND to them, never FORBIDDEN)."""
    return principal.is_admin or principal.customer_id == customer_id


async def in_transaction(work: Callable[[AsyncClientSession], Awaitable[None]]) -> None:
    """Run `work` in one multi-document transaction (retried by the driver on transient
    conflicts, so `work` must be safe to run again)."""
    client = Payment.get_pymongo_collection().database.client
    async with client.start_session() as session:
        await session.with_transaction(work)


class Coalesced(Generic[K, V]):
    """Background work sent at most once per key per window: what is added within `window`
    seconds is handed to `send` together after it, the value with the highest version of each
    key winning. The caller never waits for `send` (change notices, outbox relay nudges)."""

    def __init__(self, send: Callable[[list[V]], Awaitable[None]], window: float) -> None:
        self._send = send
        self._window = window
        self._pending: dict[K, tuple[int, V]] = {}
        self._task: asyncio.Task[None] | None = None

    def add(self, key: K, version: int, value: V) -> None:
        """Queue `value`; RuntimeError outside an event loop."""
        loop = asyncio.get_running_loop()
        queued = self._pending.get(key)
        if queued is None or queued[0] <= version:
            self._pending[key] = (version, value)
        if self._task is None or self._task.done() or self._task.get_loop() is not loop:
            self._task = loop.create_task(self._flush())

    async def _flush(self) -> None:
        while self._pending:
            await asyncio.sleep(self._window)
            pending, self._pending = self._pending, {}
            await self._send([value for _, value in pending.values()])

    async def aclose(self) -> None:
        """Wait for what is queued now to be sent (shutdown)."""
        task = self._task
        if task is not None and not task.done() and task.get_loop() is asyncio.get_running_loop():
            await asyncio.gather(task, return_exceptions=True)
