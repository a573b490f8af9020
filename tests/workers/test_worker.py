"""The arq worker on real Redis: JSON jobs (no pickle), the heartbeat cron and /readyz."""

from __future__ import annotations

import json

from arq import create_pool
from arq.worker import Worker

from services.health import HEARTBEAT_KEY
from tests.support.worker import run_burst as burst
from workers.settings import QUEUE_NAME, build_worker_settings, redis_settings


async def run_burst(settings) -> Worker:
    return await burst(build_worker_settings(settings, poll_delay=0.05))


class TestJobs:
    async def test_enqueued_jobs_are_stored_as_json(self, settings, redis, mongo_db):
        options = build_worker_settings(settings, poll_delay=0.05)
        pool = await create_pool(
            redis_settings(settings),
            job_serializer=options["job_serializer"],
            job_deserializer=options["job_deserializer"],
            default_queue_name=QUEUE_NAME,
        )
        try:
            job = await pool.enqueue_job("heartbeat", _job_id="heartbeat:test")
            assert job is not None
            raw = await redis.get(f"arq:job:{job.job_id}")
            decoded = json.loads(raw)  # JSON, not pickle
            assert decoded["f"] == "heartbeat"
            # The same job id is not queued twice while the first is pending.
            assert await pool.enqueue_job("heartbeat", _job_id="heartbeat:test") is None
        finally:
            await pool.aclose()

    async def test_burst_worker_runs_the_heartbeat(self, settings, redis, mongo_db):
        assert await redis.get(HEARTBEAT_KEY) is None
        worker = await run_burst(settings)
        assert await redis.get(HEARTBEAT_KEY) is not None
        assert worker.jobs_failed == 0


class TestReadiness:
    async def test_readyz_reports_the_last_beat(self, settings, redis, client):
        before = (await client.get("/readyz")).json()
        assert before["worker_last_beat_seconds_ago"] is None
        await run_burst(settings)
        after = (await client.get("/readyz")).json()
        assert after["worker_last_beat_seconds_ago"] is not None
        assert after["worker_last_beat_seconds_ago"] < 30
