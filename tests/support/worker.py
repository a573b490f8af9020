"""A real arq worker (the settings `paygraph worker` builds) in the test's event loop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from settings import Settings


@contextlib.asynccontextmanager
async def running_worker(settings: Settings) -> AsyncIterator[Any]:
    from arq.worker import Worker

    from workers.settings import build_worker_settings

    # A test's worker stops within seconds: jobs cut short are safe to run again.
    options = build_worker_settings(settings, poll_delay=0.05, stop_wait=3)
    options.update(handle_signals=False)
    worker = Worker(**options)
    task = asyncio.create_task(worker.async_run())
    try:
        yield worker
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        with contextlib.suppress(asyncio.CancelledError):
            await worker.close()
        if "refund_lane" in worker.ctx:
            # close() skips on_shutdown when a job it awaits was cancelled; run it here, or
            # the refund lane would go on polling in this event loop after the test.
            await worker.on_shutdown(worker.ctx)


async def run_burst(options: dict[str, Any]) -> Any:
    """Run a worker with these options until its queue is empty (crons at startup included)."""
    from arq.worker import Worker

    worker = Worker(**{**options, "burst": True, "handle_signals": False})
    try:
        await worker.main()
    finally:
        await worker.close()
    return worker
