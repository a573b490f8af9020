"""A worker with WORKER_METRICS_PORT serves its own registry (per-process scrape)."""

from __future__ import annotations

import httpx

from infra import embedded
from tests.support.webhooks import eventually
from tests.support.worker import running_worker


class TestWorkerMetricsPort:
    async def test_serves_its_metrics_while_running_and_stops_with_it(
        self, settings, app_server, mongo_db, redis
    ):
        port = embedded.free_port()
        url = f"http://127.0.0.1:{port}/metrics"

        async def scraped() -> str | None:
            try:
                async with httpx.AsyncClient() as http:
                    response = await http.get(url)
            except httpx.TransportError:
                return None
            # The startup heartbeat has refreshed the queue depth.
            return (
                response.text
                if 'paygraph_queue_depth{queue="paygraph:queue"}' in response.text
                else None
            )

        async with running_worker(settings.model_copy(update={"worker_metrics_port": port})):
            text = await eventually(scraped, within=15)
            assert "paygraph_gateway_circuit_state" in text
            assert 'paygraph_queue_depth{queue="paygraph:refunds"}' in text
        assert await scraped() is None
