"""Status-change events over Redis pub/sub, so a change made by any process (an API instance,
a worker) reaches a subscriber on any API instance.

Messages carry only ids and versions; subscribers re-read the record, so a lost or reordered
message can delay an update but never show a wrong one.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger("paygraph.events")


def payment_channel(payment_id: str) -> str:
    return f"paygraph:payment:{payment_id}"


def refund_channel(payment_id: str) -> str:
    return f"paygraph:payment:{payment_id}:refunds"


@dataclass(frozen=True, slots=True)
class ChangeNotice:
    id: str
    status: str
    version: int


class EventBus:
    def __init__(
        self, redis: Redis, *, subscriber: Redis | None = None, heartbeat_seconds: float = 15.0
    ) -> None:
        """`redis` publishes; `subscriber` (default the same) holds one connection per
        subscription, so it should be a pool without a read timeout or connection cap."""
        self._redis = redis
        self._subscriber = subscriber or redis
        self._heartbeat = heartbeat_seconds

    async def publish(self, channel: str, notice: ChangeNotice) -> None:
        """Best effort: the write already happened; subscribers also re-read on reconnect."""
        payload = json.dumps({"id": notice.id, "status": notice.status, "version": notice.version})
        try:
            await self._redis.publish(channel, payload)
        except RedisError as exc:
            log.warning("could not publish %s on %s: %s", notice.status, channel, exc)

    async def listen(self, channel: str) -> AsyncIterator[ChangeNotice | None]:
        """Notices on `channel`; `None` every heartbeat interval without one, so the caller can
        re-read the record and notice a change whose message was lost. Subscribed before the
        first `None` is yielded."""
        pubsub = self._subscriber.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(channel)
        try:
            yield None  # subscribed: the caller reads the current state now
            while True:
                message = await pubsub.get_message(timeout=self._heartbeat)
                if message is None:
                    yield None
                    continue
                try:
                    data = json.loads(message["data"])
                    yield ChangeNotice(str(data["id"]), str(data["status"]), int(data["version"]))
                except (ValueError, KeyError, TypeError):
                    log.warning("ignoring malformed notice on %s", channel)
        finally:
            with contextlib.suppress(RedisError, OSError):
                await pubsub.unsubscribe(channel)
            with contextlib.suppress(RedisError, OSError):
                await pubsub.aclose()  # type: ignore[no-untyped-call]
