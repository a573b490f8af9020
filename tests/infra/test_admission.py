"""In-flight admission (infra/admission.py), over real HTTP: a small Starlette app whose handler
waits until the test lets it answer, so the test decides how many requests are in flight; and
the real app, whose /graphql answers a refusal in the GraphQL error shape."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from infra.admission import AdmissionGate, AdmissionMiddleware
from tests.support.server import serve


class Held:
    """Requests to /slow wait here until released; /boom raises after being admitted."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.arrived = 0

    async def slow(self, request: Request) -> Response:
        self.arrived += 1
        await self.release.wait()
        return JSONResponse({"ok": True})

    async def boom(self, request: Request) -> Response:
        raise RuntimeError("handler failed")

    async def fast(self, request: Request) -> Response:
        return PlainTextResponse("ok")


def build(held: Held, *, max_in_flight: int, wait_ms: int, max_waiting: int | None = None):
    routes = [
        Route(path, endpoint, methods=["GET", "POST"])
        for path, endpoint in (
            ("/slow", held.slow),
            ("/boom", held.boom),
            ("/graphql", held.slow),
            ("/api/webhooks/razorpay", held.fast),
            ("/healthz", held.fast),
            ("/readyz", held.fast),
            ("/metrics", held.fast),
            ("/sandbox/razorpay/v1/orders", held.fast),
        )
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(
                AdmissionMiddleware,
                max_in_flight=max_in_flight,
                wait_ms=wait_ms,
                max_waiting=max_waiting,
                registry=CollectorRegistry(),
            )
        ],
    )
    return app


def gate_of(app: Starlette) -> AdmissionGate:
    layer = app.middleware_stack
    while layer is not None and not isinstance(layer, AdmissionMiddleware):
        layer = getattr(layer, "app", None)
    assert layer is not None and layer.gate is not None
    return layer.gate


@pytest.fixture
def held() -> Held:
    return Held()


@pytest.fixture
async def one_slot(held: Held) -> AsyncIterator[tuple[str, Starlette]]:
    app = build(held, max_in_flight=1, wait_ms=300)
    async with serve(app) as running:
        yield running.url, app


async def wait_for(condition, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110 - a state of the gate, polled
            await asyncio.sleep(0.01)


async def occupy(url: str, held: Held, path: str = "/slow") -> asyncio.Task[httpx.Response]:
    """A request holding the one slot until `held.release` is set."""
    before = held.arrived
    task = asyncio.create_task(httpx.AsyncClient(base_url=url, timeout=10).get(path))
    await wait_for(lambda: held.arrived > before)
    return task


class TestLimit:
    async def test_under_the_limit_requests_pass(self, held):
        held.release.set()
        app = build(held, max_in_flight=4, wait_ms=0)
        async with serve(app) as running, httpx.AsyncClient(base_url=running.url) as http:
            answers = await asyncio.gather(*(http.get("/slow") for _ in range(4)))
        assert [a.status_code for a in answers] == [200] * 4
        assert gate_of(app).in_flight == 0

    async def test_over_the_limit_waits_then_gets_503_with_retry_after(self, held, one_slot):
        url, app = one_slot
        first = await occupy(url, held)
        async with httpx.AsyncClient(base_url=url) as http:
            started = asyncio.get_running_loop().time()
            refused = await http.get("/slow")
            waited = asyncio.get_running_loop().time() - started
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "1"
        assert refused.json() == {
            "error": "the server is busy: retry after 1 s",
            "code": "SERVICE_UNAVAILABLE",
        }
        assert waited >= 0.25  # it waited its turn (300 ms) before being refused
        held.release.set()
        assert (await first).status_code == 200
        await wait_for(lambda: gate_of(app).in_flight == 0)

    async def test_a_waiting_request_gets_the_slot_when_one_is_freed(self, held):
        app = build(held, max_in_flight=1, wait_ms=5000)
        async with serve(app) as running, httpx.AsyncClient(base_url=running.url) as http:
            first = await occupy(running.url, held)
            second = asyncio.create_task(http.get("/slow"))
            await wait_for(lambda: gate_of(app).waiting == 1)
            held.release.set()
            assert (await first).status_code == 200
            assert (await second).status_code == 200
        assert gate_of(app).in_flight == 0 and gate_of(app).waiting == 0

    async def test_a_full_queue_refuses_at_once(self, held):
        app = build(held, max_in_flight=1, wait_ms=5000, max_waiting=1)
        async with serve(app) as running, httpx.AsyncClient(base_url=running.url) as http:
            first = await occupy(running.url, held)
            queued = asyncio.create_task(http.get("/slow"))
            await wait_for(lambda: gate_of(app).waiting == 1)
            async with httpx.AsyncClient(base_url=running.url) as other:
                started = asyncio.get_running_loop().time()
                refused = await other.get("/slow")
                assert asyncio.get_running_loop().time() - started < 2
            assert refused.status_code == 503
            held.release.set()
            assert (await first).status_code == 200
            assert (await queued).status_code == 200

    async def test_graphql_gets_the_graphql_error_shape(self, held, one_slot):
        url, _ = one_slot
        first = await occupy(url, held)
        async with httpx.AsyncClient(base_url=url) as http:
            refused = await http.post("/graphql", json={"query": "{ viewer { customerId } }"})
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "1"
        assert refused.json() == {
            "data": None,
            "errors": [
                {
                    "message": "the server is busy: retry after 1 s",
                    "extensions": {"code": "SERVICE_UNAVAILABLE"},
                }
            ],
        }
        held.release.set()
        await first

    async def test_webhooks_are_admitted_like_any_request(self, held, one_slot):
        url, _ = one_slot
        first = await occupy(url, held)
        async with httpx.AsyncClient(base_url=url) as http:
            refused = await http.post("/api/webhooks/razorpay", content=b"{}")
        assert refused.status_code == 503  # the gateway retries it
        held.release.set()
        await first

    @pytest.mark.parametrize(
        "path", ["/healthz", "/readyz", "/metrics", "/sandbox/razorpay/v1/orders"]
    )
    async def test_probes_and_mounted_sandboxes_bypass(self, held, one_slot, path):
        url, _ = one_slot
        first = await occupy(url, held)
        async with httpx.AsyncClient(base_url=url) as http:
            answer = await http.get(path)
        assert answer.status_code == 200
        held.release.set()
        await first

    async def test_zero_turns_it_off(self, held):
        held.release.set()
        app = build(held, max_in_flight=0, wait_ms=0)
        async with serve(app) as running, httpx.AsyncClient(base_url=running.url) as http:
            answers = await asyncio.gather(*(http.get("/slow") for _ in range(5)))
        assert all(a.status_code == 200 for a in answers)


class TestCountsReturnToZero:
    async def test_after_handler_errors(self, held):
        app = build(held, max_in_flight=2, wait_ms=0)
        async with serve(app) as running, httpx.AsyncClient(base_url=running.url) as http:
            answers = [await http.get("/boom") for _ in range(5)]
            assert all(a.status_code == 500 for a in answers)
            held.release.set()
            assert (await http.get("/slow")).status_code == 200
        assert gate_of(app).in_flight == 0

    async def test_after_clients_disconnect(self, held):
        app = build(held, max_in_flight=1, wait_ms=5000)
        async with serve(app) as running:
            first = await occupy(running.url, held)
            # A client that gives up while queued, and the holder giving up too.
            async with httpx.AsyncClient(base_url=running.url, timeout=0.3) as impatient:
                with pytest.raises(httpx.ReadTimeout):
                    await impatient.get("/slow")
            first.cancel()
            held.release.set()
            await wait_for(lambda: gate_of(app).in_flight == 0 and gate_of(app).waiting == 0)
            async with httpx.AsyncClient(base_url=running.url) as http:
                assert (await http.get("/slow")).status_code == 200
        assert gate_of(app).in_flight == 0


class TestGate:
    async def test_a_cancelled_waiter_leaves_the_queue_and_no_slot_is_lost(self):
        gate = AdmissionGate(1, 4, 5.0)
        assert await gate.enter()
        waiter = asyncio.create_task(gate.enter())
        await wait_for(lambda: gate.waiting == 1)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        assert gate.waiting == 0
        gate.leave()
        assert gate.in_flight == 0
        assert await gate.enter()

    async def test_a_slot_handed_over_as_the_waiter_is_cancelled_is_given_back(self):
        gate = AdmissionGate(1, 4, 5.0)
        assert await gate.enter()
        waiter = asyncio.create_task(gate.enter())
        await wait_for(lambda: gate.waiting == 1)
        gate.leave()  # hands the slot to the waiter ...
        waiter.cancel()  # ... which is cancelled before it runs
        with pytest.raises(asyncio.CancelledError):
            await waiter
        assert gate.in_flight == 0 and gate.waiting == 0

    def test_bad_limits_are_refused(self):
        with pytest.raises(ValueError):
            AdmissionGate(0, 1, 1.0)


class TestTheApp:
    async def test_graphql_refused_when_full_and_probes_still_answer(self, settings, mongo_db):
        from app import create_app

        app = create_app(
            settings.model_copy(update={"http_max_in_flight": 1, "http_admission_wait_ms": 0})
        )
        async with serve(app) as running, httpx.AsyncClient(base_url=running.url) as http:
            assert (await http.get("/healthz")).status_code == 200  # builds the stack
            gate = gate_of(app)
            assert await gate.enter()  # the one slot, held by "another request"
            try:
                refused = await http.post("/graphql", json={"query": "{ viewer { customerId } }"})
                ready = await http.get("/readyz")
                metrics = await http.get("/metrics")
            finally:
                gate.leave()
            answered = await http.post("/graphql", json={"query": "{ viewer { customerId } }"})
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "1"
        assert refused.headers["x-request-id"]  # outer middlewares still ran
        assert refused.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
        assert ready.status_code == 200
        assert "paygraph_http_admission_refused_total 1.0" in metrics.text
        assert answered.status_code == 200
