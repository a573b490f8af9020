"""The job queue's own enqueues against the suite's Redis: relay jobs go in one pipeline, one
job per key, a key queued twice is one job, and a Redis that lost the
enqueue script gets it loaded again."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import pytest
from arq.constants import job_key_prefix
from redis.asyncio import Redis

from workers.queue import EVENTS_QUEUE_NAME, ArqJobQueue, relay_job_id


@pytest.fixture
async def queue(redis_url: str) -> AsyncIterator[ArqJobQueue]:
    jobs = ArqJobQueue(redis_url, in_progress_timeout_s=40, webhook_timeout_s=30)
    try:
        yield jobs
    finally:
        await jobs.redis.aclose()


async def queued(redis: Redis, *job_ids: str) -> list[bool]:
    return [await redis.zscore(EVENTS_QUEUE_NAME, job_id) is not None for job_id in job_ids]


class TestEnqueueRelays:
    async def test_one_job_per_write_and_a_repeat_is_the_same_job(self, queue, redis):
        key = secrets.token_hex(6)
        relays = [
            ("payment", ["d1", "d2"], key),
            ("payment", ["d3"], key + "x"),
            ("refund", ["d1"], key),
        ]
        ids = [relay_job_id(source, name) for source, _, name in relays]
        await queue.enqueue_relays(relays)
        assert await queued(redis, *ids) == [True, True, True]
        first = await redis.get(job_key_prefix + ids[0])
        await queue.enqueue_relays(relays[:1])
        assert await redis.get(job_key_prefix + ids[0]) == first  # not queued a second time
        assert await redis.zcount(EVENTS_QUEUE_NAME, "-inf", "+inf") >= 3

    async def test_a_redis_without_the_script_gets_it_loaded(self, queue, redis):
        await redis.script_flush()
        relay = ("payment", ["d1"], secrets.token_hex(6))
        await queue.enqueue_relays([relay])
        assert await queued(redis, relay_job_id(relay[0], relay[2])) == [True]

    async def test_redis_down_raises_for_the_caller_to_log(self):
        down = ArqJobQueue("redis://127.0.0.1:1/0", in_progress_timeout_s=40, webhook_timeout_s=30)
        with pytest.raises(Exception, match=r"(?i)connect|refused"):
            await down.enqueue_relays([("payment", ["x"], "1")])
