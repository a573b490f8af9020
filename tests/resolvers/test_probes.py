"""/healthz, /readyz and /metrics."""

from __future__ import annotations

import httpx

from app import create_app
from infra import embedded
from tests.support.server import serve


class TestHealthz:
    async def test_answers_ok(self, client):
        response = await client.get("/healthz")
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}


class TestReadyz:
    async def test_ready_when_mongodb_and_redis_answer(self, client):
        response = await client.get("/readyz")
        assert response.status_code == 200
        assert response.json()["checks"] == {"mongodb": "ok", "redis": "ok"}

    async def test_503_names_redis_when_it_is_down(self, settings, _mongo_database):
        dead_redis = f"redis://127.0.0.1:{embedded.free_port()}/0"
        app = create_app(settings.model_copy(update={"redis_url": dead_redis}))
        async with serve(app) as running, httpx.AsyncClient(base_url=running.url) as http:
            response = await http.get("/readyz")
        assert response.status_code == 503
        body = response.json()
        assert body["down"] == ["redis"]
        assert body["checks"]["mongodb"] == "ok"
        assert body["checks"]["redis"].startswith("down")

    async def test_503_names_mongodb_when_it_goes_away(self, settings, redis_url):
        mongo = embedded.start_mongo(None)
        app = create_app(settings.model_copy(update={"mongodb_url": mongo.url}))
        try:
            async with serve(app) as running, httpx.AsyncClient(base_url=running.url) as http:
                assert (await http.get("/readyz")).status_code == 200
                mongo.stop()
                response = await http.get("/readyz", timeout=15)
        finally:
            mongo.stop()
        assert response.status_code == 503
        assert response.json()["down"] == ["mongodb"]


class TestMetrics:
    async def test_exposes_request_counts_in_prometheus_format(self, client):
        await client.get("/healthz")
        response = await client.get("/metrics")
        assert response.status_code == 200
        assert (
            'paygraph_http_requests_total{method="GET",route="/healthz",status="200"}'
            in response.text
        )

    async def test_unknown_paths_share_one_label(self, client):
        await client.get("/no/such/path/123")
        response = await client.get("/metrics")
        assert "/no/such/path" not in response.text
        assert 'route="other"' in response.text
