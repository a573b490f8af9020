"""The job queue port implemented on arq (services depend on the Protocol, not on arq)."""

from __future__ import annotations

from arq.connections import ArqRedis
from redis.asyncio import ConnectionPool

from gateways.base import Gateway
from workers.serialization import deserialize, serialize

QUEUE_NAME = "paygraph:queue"


def webhook_job_id(gateway: Gateway, event_id: str, replay: int = 0) -> str:
    base = f"webhook:{gateway.value.lower()}:{event_id}"
    return f"{base}:replay:{replay}" if replay else base


class ArqJobQueue:
    def __init__(self, redis_url: str) -> None:
        pool = ConnectionPool.from_url(redis_url, socket_connect_timeout=1, socket_timeout=2)
        self.redis = ArqRedis(
            pool,
            job_serializer=serialize,
            job_deserializer=deserialize,
            default_queue_name=QUEUE_NAME,
        )

    async def enqueue_webhook(self, gateway: Gateway, event_id: str, *, replay: int = 0) -> None:
        await self.redis.enqueue_job(
            "process_webhook",
            gateway.value,
            event_id,
            _job_id=webhook_job_id(gateway, event_id, replay),
        )

    async def aclose(self) -> None:
        await self.redis.aclose()
