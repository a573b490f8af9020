"""arq jobs: thin wrappers, one service call each (STYLE.md 1). Every job is safe to run twice."""

from __future__ import annotations

from typing import TypedDict

from arq.connections import ArqRedis

from services.health import record_heartbeat
from settings import Settings


class WorkerContext(TypedDict):
    redis: ArqRedis
    settings: Settings
    job_id: str
    job_try: int


async def heartbeat(ctx: WorkerContext) -> float:
    """Proves the worker runs: /readyz shows how long ago it last beat."""
    return await record_heartbeat(ctx["redis"])
