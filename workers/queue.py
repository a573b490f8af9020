"""The job queue port implemented on arq (services depend on the Protocol, not on arq)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from arq.connections import ArqRedis
from arq.constants import in_progress_key_prefix, job_key_prefix, result_key_prefix
from arq.jobs import serialize_job
from redis.asyncio import BlockingConnectionPool
from redis.exceptions import NoScriptError

from gateways.base import Gateway
from workers.serialization import deserialize, serialize

QUEUE_NAME = "paygraph:queue"
# Refund sends have a queue (and a concurrency) of their own: a burst of refunds waits there
# instead of delaying webhooks and crons, and never has more than a few gateway calls and
# settlements in flight per worker process.
REFUND_QUEUE_NAME = "paygraph:refunds"
# Events out (relays and delivery attempts) have a lane of their own too: a slow or dead
# endpoint takes lane jobs only (a bounded number per endpoint), never webhook or refund ones.
EVENTS_QUEUE_NAME = "paygraph:events"
# Bounded job time: a job that hangs (a gateway that never answers) is cancelled and retried.
JOB_TIMEOUT_SECONDS = 30
# Connections to Redis for enqueueing, per process (a burst waits for one, at most 2 s).
QUEUE_MAX_CONNECTIONS = 32
# A reconciliation run reads every stale record from the gateways; its lock outlives a cancel.
RECONCILE_TIMEOUT_SECONDS = 3600


def in_progress_timeout_seconds() -> float:
    """How long arq marks a started job as running: its longest job timeout + 10 s."""
    return max(JOB_TIMEOUT_SECONDS, RECONCILE_TIMEOUT_SECONDS) + 10


def webhook_job_id(gateway: Gateway, event_id: str, replay: int = 0) -> str:
    base = f"webhook:{gateway.value.lower()}:{event_id}"
    return f"{base}:replay:{replay}" if replay else base


def refund_job_id(refund_id: str) -> str:
    return f"refund:{refund_id}"


def relay_job_id(source: str, key: str) -> str:
    return f"relay:{source}:{key}"


def delivery_job_id(delivery_id: str, attempt: int, tag: str = "") -> str:
    base = f"delivery:{delivery_id}:{attempt}"
    return f"{base}:{tag}" if tag else base


# arq's enqueue_job in one script: no job while one of this id is queued or its result kept;
# else the job (expiring as arq's would) and its place in the queue, scored by enqueue time.
# KEYS: job key, result key, queue; ARGV: serialized job, expiry ms, score, job id.
_ENQUEUE_ONCE = """
if redis.call('EXISTS', KEYS[1], KEYS[2]) > 0 then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4])
return 1
"""

# A webhook job older than its own timeout plus this grace is no longer running anywhere.
ORPHAN_GRACE_SECONDS = 15


class ArqJobQueue:
    def __init__(
        self, redis_url: str, *, in_progress_timeout_s: float, webhook_timeout_s: float
    ) -> None:
        """`in_progress_timeout_s` is how long arq marks a started job as running (its workers'
        longest job timeout + 10 s); `webhook_timeout_s` is how long a webhook job may run."""
        self._in_progress_ms = int(in_progress_timeout_s * 1000)
        self._orphan_after_ms = int((webhook_timeout_s + ORPHAN_GRACE_SECONDS) * 1000)
        # A blocking pool, as the app's own Redis client (core.py): redis-py's default pool
        # holds its lock while it checks or connects a connection, a trip round the event loop,
        # so under load every enqueue queued behind that lock and outran the 1 s hand-off.
        pool = BlockingConnectionPool.from_url(
            redis_url,
            max_connections=QUEUE_MAX_CONNECTIONS,
            timeout=2,
            socket_connect_timeout=1,
            socket_timeout=2,
        )
        self.redis = ArqRedis(
            pool,
            job_serializer=serialize,
            job_deserializer=deserialize,
            default_queue_name=QUEUE_NAME,
        )
        self._enqueue_once = self.redis.register_script(_ENQUEUE_ONCE)

    async def enqueue_webhook(
        self, gateway: Gateway, event_id: str, *, replay: int = 0, again: bool = False
    ) -> None:
        """`again`: the database says the event is still to be processed (a sweep): a finished
        earlier job's kept result must not block this one."""
        job_id = webhook_job_id(gateway, event_id, replay)
        await self._release_if_orphaned(job_id)
        if again:
            await self._forget_finished(job_id)
        await self.redis.enqueue_job(
            "process_webhook",
            gateway.value,
            event_id,
            _job_id=job_id,
        )

    async def enqueue_refund(self, refund_id: str, *, again: bool = False) -> None:
        """Send an accepted refund to its gateway: one job per refund (arq ignores a second
        enqueue while it is queued, retrying, or finished within its keep_result). `again`:
        the database says the refund is still PENDING (a sweep), so a finished earlier job -
        one that gave up - must not block this one."""
        job_id = refund_job_id(refund_id)
        await self._release_if_orphaned(job_id)
        if again:
            await self._forget_finished(job_id)
        await self.redis.enqueue_job(
            "send_refund", refund_id, _job_id=job_id, _queue_name=REFUND_QUEUE_NAME
        )

    async def enqueue_relays(self, relays: Sequence[tuple[str, Sequence[str], str]]) -> None:
        """One job per (source, document ids, key), relaying those documents' outboxes; `key`
        names the writes. Each is queued by one script call, the same job arq's enqueue_job
        makes (ignored while a job of this id is queued or its result kept), and all go in one
        pipeline: one round trip, on the API's event loop."""
        now_ms = int(time.time() * 1000)
        calls = []
        for source, document_ids, key in relays:
            job_id = relay_job_id(source, key)
            job = serialize_job(
                "relay_events", (source, list(document_ids)), {}, None, now_ms, serializer=serialize
            )
            calls.append(
                (
                    [job_key_prefix + job_id, result_key_prefix + job_id, EVENTS_QUEUE_NAME],
                    [job, self.redis.expires_extra_ms, now_ms, job_id],
                )
            )
        await self._scripted(calls)

    async def _scripted(self, calls: list[tuple[list[Any], list[Any]]]) -> None:
        """Run _ENQUEUE_ONCE for each (keys, args) in one pipeline by its hash; the script is
        loaded (and the calls made again) only when Redis does not hold it yet."""
        for _ in range(2):
            async with self.redis.pipeline(transaction=False) as pipe:
                for keys, args in calls:
                    pipe.evalsha(self._enqueue_once.sha, len(keys), *keys, *args)
                results = await pipe.execute(raise_on_error=False)
            if not any(isinstance(r, NoScriptError) for r in results):
                break
            await self.redis.script_load(_ENQUEUE_ONCE)
        for result in results:
            if isinstance(result, Exception):
                raise result

    async def enqueue_delivery(
        self, delivery_id: str, attempt: int, *, at: datetime | None = None, tag: str = ""
    ) -> None:
        """One attempt of a delivery, at `at` (now when None)."""
        await self.redis.enqueue_job(
            "deliver_event",
            delivery_id,
            attempt,
            _job_id=delivery_job_id(delivery_id, attempt, tag),
            _queue_name=EVENTS_QUEUE_NAME,
            _defer_until=at,
        )

    async def _release_if_orphaned(self, job_id: str) -> None:
        """A worker killed mid-job leaves arq's in-progress marker for the longest job timeout
        (an hour, with reconciliation in the same worker). A webhook or refund job marked
        running for longer than it may run is orphaned: drop the marker so a live worker takes
        the job, which is still queued. Both are idempotent, so a slow original is harmless."""
        key = in_progress_key_prefix + job_id
        remaining_ms = await self.redis.pttl(key)
        if remaining_ms > 0 and self._in_progress_ms - remaining_ms > self._orphan_after_ms:
            await self.redis.delete(key)

    async def _forget_finished(self, job_id: str) -> None:
        """Drop the kept result of a finished job (not of one queued or retrying: its job key
        still exists), so the same job id can be queued again. The database decided it must."""
        if not await self.redis.exists(job_key_prefix + job_id):
            await self.redis.delete(result_key_prefix + job_id)

    async def aclose(self) -> None:
        await self.redis.aclose()
