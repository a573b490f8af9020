"""REST probes: /healthz (process alive), /readyz (dependencies reachable), /metrics."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from services.health import HealthService


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


def readyz_endpoint(health: HealthService):  # type: ignore[no-untyped-def]
    async def readyz(request: Request) -> Response:
        state = await health.readiness()
        down = sorted(name for name, value in state.checks.items() if value != "ok")
        body: dict[str, object] = {
            "status": "ok" if state.ready else "unavailable",
            "checks": state.checks,
            "worker_last_beat_seconds_ago": (
                round(state.worker_last_beat_seconds_ago, 1)
                if state.worker_last_beat_seconds_ago is not None
                else None
            ),
        }
        if down:
            body["down"] = down
        return JSONResponse(body, status_code=200 if state.ready else 503)

    return readyz


def metrics_endpoint(  # type: ignore[no-untyped-def]
    registry: CollectorRegistry, before_scrape: Callable[[], Awaitable[None]] | None = None
):
    """This process's metrics; `before_scrape` refreshes values that need I/O (queue depth)."""

    async def metrics(request: Request) -> Response:
        if before_scrape is not None:
            await before_scrape()
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return metrics
