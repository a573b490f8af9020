"""Status-change events over Redis pub/sub, so a change made by any process (an API instance,
a worker) reaches a subscriber on any API instance.

Messages carry only ids and versions; subscribers re-read the record, so a lost or reordered
message can delay an update but never show a wrong one. Every subscription of a process shares
one pub/sub connection (services/fanout.py); after that connection is lost and restored, every
subscriber is told to re-read.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import AsyncIterator

from redis.asyncio import Redis
from redis.exceptions import RedisError

from services.fanout import ChangeNotice, Fanout

__all__ = ["ChangeNotice", "EventBus", "payment_channel", "refund_channel"]

log = logging.getLogger("paygraph.events")

# Each subscription's heartbeat is spread by up to this fraction either way, so subscriptions
# opened together do not all re-check their record at the same moment.
HEARTBEAT_JITTER = 0.2


def payment_channel(payment_id: str) -> str:
    return f"paygraph:payment:{payment_id}"


def refund_channel(payment_id: str) -> str:
    return f"paygraph:payment:{payment_id}:refunds"


class EventBus:
    def __init__(
        self, redis: Redis, *, subscriber: Redis | None = None, heartbeat_seconds: float = 15.0
    ) -> None:
        """`redis` publishes; `subscriber` (default the same) gives the one pub/sub connection
        every subscription of this process shares."""
        self._redis = redis
        self._fanout = Fanout(subscriber or redis)
        self._heartbeat = heartbeat_seconds

    @property
    def fanout(self) -> Fanout:
        return self._fanout

    async def aclose(self) -> None:
        await self._fanout.aclose()

    async def publish(self, channel: str, notice: ChangeNotice) -> None:
        """Best effort: the write already happened; subscribers also re-read on reconnect."""
        try:
            await self._redis.publish(channel, _encode(notice))
        except RedisError as exc:
            log.warning("could not publish %s on %s: %s", notice.status, channel, exc)

    async def publish_many(self, notices: list[tuple[str, ChangeNotice]]) -> None:
        """`publish` of each (channel, notice), in one pipeline: one round trip for all."""
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for channel, notice in notices:
                    pipe.publish(channel, _encode(notice))
                await pipe.execute()
        except RedisError as exc:
            log.warning("could not publish %d notices: %s", len(notices), exc)

    async def listen(self, channel: str) -> AsyncIterator[ChangeNotice | None]:
        """Notices on `channel` (several notices for one record may arrive as the newest
        alone); `None` when the caller should re-read the record: first once subscribed (read
        the current state now), then at each heartbeat without a notice and after the shared
        connection was lost and restored, so a change whose message was lost is noticed."""
        listener = await self._fanout.join(channel)
        try:
            yield None  # subscribed: the caller reads the current state now
            while True:
                spread = 1 + random.uniform(-HEARTBEAT_JITTER, HEARTBEAT_JITTER)  # noqa: S311
                if not await listener.wait(self._heartbeat * spread):
                    yield None
                    continue
                resync, notices = listener.take()
                if resync:
                    yield None
                for notice in notices:
                    yield notice
        finally:
            self._fanout.leave(listener)


def _encode(notice: ChangeNotice) -> str:
    return json.dumps({"id": notice.id, "status": notice.status, "version": notice.version})
