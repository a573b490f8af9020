"""The shared pub/sub connection: many subscribers on one channel cost one Redis subscription,
the channel is dropped with its last subscriber, and a lost connection is restored with every
subscriber told to re-read. Real Redis (the suite's)."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from services.events import ChangeNotice, EventBus, payment_channel
from services.fanout import Fanout


@pytest.fixture
async def named(redis_url: str) -> AsyncIterator[tuple[Redis, str]]:
    """A subscriber client whose connections carry a name of their own, so a test can find
    (and kill) exactly its pub/sub connection."""
    name = "fanout-test-" + secrets.token_hex(4)
    client = Redis.from_url(redis_url, client_name=name)
    try:
        yield client, name
    finally:
        await client.aclose()


@pytest.fixture
async def bus(redis: Redis, named: tuple[Redis, str]) -> AsyncIterator[EventBus]:
    events = EventBus(redis, subscriber=named[0], heartbeat_seconds=60)
    try:
        yield events
    finally:
        await events.aclose()


async def our_connections(redis: Redis, name: str) -> list[dict[str, Any]]:
    clients = await redis.client_list()
    return [c for c in clients if c.get("name") == name]


async def numsub(redis: Redis, channel: str) -> int:
    [(_, count)] = await redis.pubsub_numsub(channel)
    return int(count)


async def eventually(check: Any, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not await check():  # noqa: ASYNC110 - polling state in Redis
            await asyncio.sleep(0.05)


async def subscribed(bus: EventBus, channel: str) -> AsyncIterator[ChangeNotice | None]:
    notices = bus.listen(channel)
    assert await anext(notices) is None  # subscribed: read the current state now
    return notices


async def next_item(notices: AsyncIterator[ChangeNotice | None]) -> ChangeNotice | None:
    async with asyncio.timeout(5):
        return await anext(notices)


def notice(payment: str, version: int, status: str = "COMPLETED") -> ChangeNotice:
    return ChangeNotice(payment, status, version)


class TestManySubscribersOneChannel:
    async def test_one_connection_one_subscription_every_subscriber_told(self, bus, redis, named):
        channel = payment_channel("p-" + secrets.token_hex(4))
        streams = [await subscribed(bus, channel) for _ in range(50)]
        try:
            assert await numsub(redis, channel) == 1
            assert len(await our_connections(redis, named[1])) == 1
            assert (bus.fanout.channels, bus.fanout.listeners) == (1, 50)

            await bus.publish(channel, notice("p", 3))
            got = await asyncio.gather(*(next_item(s) for s in streams))
            assert got == [notice("p", 3)] * 50
        finally:
            for stream in streams:
                await stream.aclose()  # type: ignore[attr-defined]

    async def test_notices_for_one_record_are_coalesced_to_the_newest(self, bus):
        channel = payment_channel("p-" + secrets.token_hex(4))
        stream = await subscribed(bus, channel)
        try:
            # Nobody reads while these arrive: the mailbox keeps the newest per record.
            for version in (2, 4, 3):
                await bus.publish(channel, notice("a", version))
            await bus.publish(channel, notice("b", 1, "PENDING"))
            await asyncio.sleep(0.3)
            got = [await next_item(stream), await next_item(stream)]
            assert sorted(got, key=lambda n: n.id) == [notice("a", 4), notice("b", 1, "PENDING")]  # type: ignore[union-attr]
        finally:
            await stream.aclose()  # type: ignore[attr-defined]

    async def test_a_malformed_message_is_ignored(self, bus, redis):
        channel = payment_channel("p-" + secrets.token_hex(4))
        stream = await subscribed(bus, channel)
        try:
            await redis.publish(channel, b"not json")
            await bus.publish(channel, notice("p", 7))
            assert await next_item(stream) == notice("p", 7)
        finally:
            await stream.aclose()  # type: ignore[attr-defined]


class TestUnsubscribeOnLast:
    async def test_the_channel_is_dropped_with_its_last_subscriber(self, bus, redis, named):
        channel = payment_channel("p-" + secrets.token_hex(4))
        other = payment_channel("q-" + secrets.token_hex(4))
        streams = [await subscribed(bus, channel) for _ in range(3)]
        kept = await subscribed(bus, other)
        for stream in streams[:2]:
            await stream.aclose()  # type: ignore[attr-defined]
        await asyncio.sleep(0.2)
        assert await numsub(redis, channel) == 1
        await streams[2].aclose()  # type: ignore[attr-defined]

        async def dropped() -> bool:
            return await numsub(redis, channel) == 0

        await eventually(dropped)
        assert await numsub(redis, other) == 1
        assert bus.fanout.channels == 1
        await kept.aclose()  # type: ignore[attr-defined]

        async def idle() -> bool:
            return not await our_connections(redis, named[1])

        await eventually(idle)  # no subscription left: the connection is let go

    async def test_joining_again_after_the_last_left_subscribes_again(self, bus, redis):
        channel = payment_channel("p-" + secrets.token_hex(4))
        first = await subscribed(bus, channel)
        await first.aclose()  # type: ignore[attr-defined]
        again = await subscribed(bus, channel)  # while the UNSUBSCRIBE may be in flight
        try:
            assert await numsub(redis, channel) == 1
            await bus.publish(channel, notice("p", 2))
            assert await next_item(again) == notice("p", 2)
        finally:
            await again.aclose()  # type: ignore[attr-defined]


class TestConnectionLost:
    async def test_subscribers_are_told_to_reread_and_hear_later_notices(self, bus, redis, named):
        channels = [payment_channel("p-" + secrets.token_hex(4)) for _ in range(2)]
        streams = [await subscribed(bus, c) for c in channels for _ in range(3)]
        try:
            [connection] = await our_connections(redis, named[1])
            await redis.client_kill_filter(_id=connection["id"])
            # Heartbeats are a minute away: a None now is the re-read after the reconnect.
            assert await asyncio.gather(*(next_item(s) for s in streams)) == [None] * 6
            assert [await numsub(redis, c) for c in channels] == [1, 1]
            for channel in channels:
                await bus.publish(channel, notice("p", 9))
            assert await asyncio.gather(*(next_item(s) for s in streams)) == [notice("p", 9)] * 6
        finally:
            for stream in streams:
                await stream.aclose()  # type: ignore[attr-defined]

    async def test_a_join_while_redis_is_unreachable_fails_cleanly(self):
        unreachable = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
        fanout = Fanout(unreachable, join_timeout=0.5)
        try:
            with pytest.raises(RedisConnectionError):
                await fanout.join(payment_channel("p"))
            assert fanout.channels == 0
        finally:
            await fanout.aclose()
            await unreachable.aclose()


class TestPublishMany:
    async def test_each_notice_reaches_its_channel_in_one_pipeline(self, bus):
        channels = [payment_channel("p-" + secrets.token_hex(4)) for _ in range(3)]
        streams = [await subscribed(bus, channel) for channel in channels]
        try:
            await bus.publish_many(
                [(channel, notice(f"p{i}", i + 1)) for i, channel in enumerate(channels)]
            )
            got = [await next_item(stream) for stream in streams]
            assert got == [notice("p0", 1), notice("p1", 2), notice("p2", 3)]
        finally:
            for stream in streams:
                await stream.aclose()  # type: ignore[attr-defined]

    async def test_redis_down_is_logged_not_raised(self, caplog):
        down = EventBus(Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2))
        await down.publish_many([(payment_channel("p"), notice("p", 1))])
        assert "could not publish 1 notices" in caplog.text
