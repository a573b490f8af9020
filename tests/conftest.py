"""Suite-wide fixtures on real parts: a SecantusDB (MongoDB wire protocol) server and a Redis
server started once per run, the real ASGI app served by uvicorn on a loopback port, and a
GraphQL client over HTTP. Data is cleaned between tests."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from infra import embedded
from infra.db import connect_mongo, init_models
from settings import AppEnv, Settings
from tests.support.server import RunningServer, serve
from tests.support.worker import running_worker

TEST_JWT_SECRET = "test-secret-" + "x" * 40
TEST_DB = "paygraph_test"
TEST_ENCRYPTION_KEY = "X2v3q0pZ4m1b7nYc8dQe5fRg6hTi9jUk0lVm1nWo2pA="


@pytest.fixture(scope="session")
def mongo_url() -> Iterator[str]:
    process = embedded.start_mongo(None, test_commands=True)
    try:
        yield process.url
    finally:
        process.stop()


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    configured = os.environ.get("REDIS_URL")
    if configured:
        yield configured
        return
    process = embedded.start_redis()
    try:
        yield process.url
    finally:
        process.stop()


@pytest.fixture(scope="session")
def settings(mongo_url: str, redis_url: str) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        app_env=AppEnv.TEST,
        mongodb_url=mongo_url,
        mongodb_db=TEST_DB,
        redis_url=redis_url,
        jwt_secret=TEST_JWT_SECRET,
        port=embedded.free_port(),
        razorpay_key_id="rzp_test_suite0000001",
        razorpay_key_secret="suite-razorpay-secret",
        razorpay_webhook_secret="suite-razorpay-webhook-secret",
        paypal_client_id="suite-paypal-client",
        paypal_client_secret="suite-paypal-secret",
        paypal_webhook_id="WH-SUITE-0001",
        # The limit itself is tested with its own app; the rest of the suite shares one IP.
        rate_limit_initiate="100000/minute",
        gateway_read_timeout_seconds=2.0,
        # The API and the workers read each other's encrypted secrets (webhook endpoints).
        encryption_keys=TEST_ENCRYPTION_KEY,
        # Events out: retries within seconds, and a short attempt limit.
        webhook_retry_delays="0.2,0.5,1,2,3,5",
        webhook_timeout_seconds=3.0,
    )


@pytest.fixture(scope="session")
async def _mongo_database(settings: Settings) -> AsyncIterator[Any]:
    assert settings.mongodb_url
    client = connect_mongo(settings.mongodb_url)
    database = await init_models(client, settings.mongodb_db)
    try:
        yield database
    finally:
        await client.close()


@pytest.fixture
async def mongo_db(_mongo_database: Any) -> AsyncIterator[Any]:
    """The test database with Beanie initialised; every collection emptied before each test."""
    from models.payment import Payment

    # Beanie binds documents per process: a test that ran a second app (another MongoDB URL,
    # since closed) leaves them bound to it. Bind them back to the suite's database.
    if Payment.get_pymongo_collection().database.client is not _mongo_database.client:
        await init_models(_mongo_database.client, _mongo_database.name)
    for name in await _mongo_database.list_collection_names():
        await _mongo_database[name].delete_many({})
    yield _mongo_database


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    await client.flushdb()
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture(scope="session")
async def _app(
    settings: Settings, _mongo_database: Any
) -> AsyncIterator[tuple[Any, RunningServer]]:
    from app import create_app

    app = create_app(settings)
    async with serve(app, port=settings.port) as running:
        yield app, running


@pytest.fixture
async def app_server(_app: tuple[Any, RunningServer]) -> RunningServer:
    """The suite's app server. Its gateways' circuit breakers start each test closed and its
    sandboxes start each test empty, with their default settings: the faults and settings one
    test configures (a refund mode, dropped webhooks) must not reach the next."""
    app, running = _app
    for breaker in app.state.core.gateways.breakers.values():
        breaker.record_success()
    async with httpx.AsyncClient(base_url=running.url, timeout=10) as http:
        for gateway in ("razorpay", "paypal"):
            answer = await http.post(f"/sandbox/{gateway}/_control", json={"action": "reset"})
            assert answer.status_code == 200, answer.text
    return running


@pytest.fixture
async def worker(
    settings: Settings, app_server: RunningServer, mongo_db: Any, redis: Redis
) -> AsyncIterator[Any]:
    """A real arq worker on the suite's Redis, running in the test's event loop."""
    async with running_worker(settings) as running:
        yield running


@pytest.fixture(scope="session")
def tokens(settings: Settings) -> Any:
    from core import build_token_service

    return build_token_service(settings)


@dataclass
class GraphQLClient:
    http: httpx.AsyncClient

    async def execute(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None
    ) -> dict[str, Any]:
        response = await self.post(query, variables, token=token)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def post(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )


@pytest.fixture
async def client(
    app_server: RunningServer, mongo_db: Any, redis: Redis
) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=app_server.url, timeout=10) as http:
        yield http


@pytest.fixture
async def gql(client: httpx.AsyncClient) -> GraphQLClient:
    return GraphQLClient(client)
