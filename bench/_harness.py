"""Shared benchmark plumbing: the embedded SecantusDB + Redis, the app (and the bare baseline)
served by uvicorn in child processes, per-process CPU accounting, the checkout operations a
shopper performs, statistics, tables and result files.

Servers run in their own processes (one uvicorn worker each, uvloop + httptools as `paygraph
serve` would pick) so the load generator never shares their event loop or their GIL.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
import math
import os
import platform
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from infra import embedded

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
BENCH_DB = "paygraph_bench"
CLK_TCK = os.sysconf("SC_CLK_TCK")

# --- the operations: the payment fields tests/support/checkout.py reads, in mutations without
# the error fragments only tests look at (bench must not import the test suite) ------------

PAYMENT_FIELDS = """
    id orderId customerId status attemptCount installments errorCode errorMessage
    gateway methodType gatewayOrderId gatewayPaymentId
    amount { amount currency minor } refundedAmount { amount currency minor }
    timeline { fromStatus toStatus event source actor note gatewayPaymentId }
"""

INITIATE = (
    """
mutation($input: InitiatePaymentInput!) {
  initiatePayment(input: $input) {
    __typename
    ... on InitiatePaymentSuccess {
      payment { %s }
      checkout { gateway keyId gatewayOrderId amountMinor currency approveUrl }
    }
    ... on UserError { code message }
  }
}"""
    % PAYMENT_FIELDS
)

VERIFY = (
    """
mutation($input: VerifyPaymentInput!) {
  verifyPayment(input: $input) {
    __typename
    ... on PaymentSuccess { payment { %s } }
    ... on UserError { code message }
  }
}"""
    % PAYMENT_FIELDS
)

PAYMENT = "query($id: ID!) { payment(id: $id) { %s } }" % PAYMENT_FIELDS

TEST_CARD = "4100280000001007"  # Razorpay test Visa: succeeds


class BenchError(Exception):
    """A request that did not do what the benchmark expected (counted, never hidden)."""


# --- processes ------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), from /proc."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return float("nan")
    fields = stat[stat.rfind(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


@dataclass
class ServerProcess:
    kind: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self, timeout: float = 20.0) -> None:
        if self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)


class Stack:
    """Embedded SecantusDB (in memory) + Redis, and the servers started on them. Use as a
    context manager: everything started is stopped on exit, whatever happened."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.log_dir = Path(tempfile.mkdtemp(prefix=f"paygraph-bench-{name}-"))
        self.mongo: embedded.ManagedProcess | None = None
        self.redis: embedded.ManagedProcess | None = None
        self.servers: list[ServerProcess] = []
        self.jwt_secret = "bench-secret-" + secrets.token_hex(24)
        # One key for every process: the worker signs with the secrets the API encrypted.
        self.encryption_key = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
        self._tokens: Any = None
        # Set by start_sandbox(): the gateways run in their own process, as real ones do, and
        # app servers started afterwards point their adapters at it.
        self.sandbox_url: str | None = None

    def __enter__(self) -> Stack:
        print(f"[{self.name}] starting SecantusDB (in memory) and Redis ...", flush=True)
        self.mongo = embedded.start_mongo(None, log_dir=self.log_dir)
        self.redis = embedded.start_redis(log_dir=self.log_dir)
        return self

    def __exit__(self, *exc: object) -> None:
        for server in reversed(self.servers):
            server.stop()
        if self.redis:
            self.redis.stop()
        if self.mongo:
            self.mongo.stop()

    # settings shared by the app servers and by the token minting here
    def settings_kwargs(self, port: int) -> dict[str, Any]:
        assert self.mongo and self.redis
        return {
            "app_env": "test",
            "mongodb_url": self.mongo.url,
            "mongodb_db": BENCH_DB,
            "redis_url": self.redis.url,
            "jwt_secret": self.jwt_secret,
            "encryption_keys": self.encryption_key,
            "port": port,
            "log_level": "WARNING",
            "razorpay_key_id": "rzp_test_bench0000001",
            "razorpay_key_secret": "bench-razorpay-secret",
            "razorpay_webhook_secret": "bench-razorpay-webhook-secret",
            "paypal_client_id": "bench-paypal-client",
            "paypal_client_secret": "bench-paypal-secret",
            "paypal_webhook_id": "WH-BENCH-0001",
            # One load generator is one IP: the limit must not be what is measured.
            "rate_limit_initiate": "10000000/minute",
            **(
                {
                    "razorpay_api_url": f"{self.sandbox_url}/sandbox/razorpay",
                    "paypal_api_url": f"{self.sandbox_url}/sandbox/paypal",
                }
                if self.sandbox_url
                else {}
            ),
        }

    def start_sandbox(self, webhook_port: int | None = None) -> ServerProcess:
        """`paygraph sandbox` in its own process (both gateways), sending webhooks to the app
        server that will listen on `webhook_port`; app servers started afterwards use it."""
        port = embedded.free_port()
        settings = self.settings_kwargs(0)
        env = {
            **os.environ,
            "APP_ENV": "test",
            "LOG_LEVEL": "WARNING",
            **{
                key.upper(): str(value)
                for key, value in settings.items()
                if key.startswith(("razorpay_", "paypal_"))
            },
        }
        if webhook_port:
            env["WEBHOOK_URL"] = f"http://127.0.0.1:{webhook_port}/api/webhooks"
        server = self._spawn(
            "sandbox",
            port,
            ["-m", "cli", "sandbox", "--port", str(port)],
            env,
            ready_path="/sandbox/razorpay/_control",
        )
        self.sandbox_url = server.url
        return server

    def settings(self, port: int = 0) -> Any:
        from settings import Settings

        return Settings(_env_file=None, **self.settings_kwargs(port))  # type: ignore[call-arg]

    def token(self, customer_id: str, *, admin: bool = False) -> str:
        if self._tokens is None:
            from core import build_token_service

            self._tokens = build_token_service(self.settings())
        token: str = self._tokens.mint(customer_id, admin=admin)
        return token

    def start_server(
        self,
        kind: str,
        *,
        instrument: bool = False,
        profile: Path | None = None,
        what_if: Sequence[str] = (),
        port: int | None = None,
    ) -> ServerProcess:
        """kind "app": create_app(Settings(...)); kind "bare": bench.baseline_app."""
        port = port or embedded.free_port()
        config = {
            "kind": kind,
            "port": port,
            "settings": self.settings_kwargs(port),
            "instrument": instrument,
            "profile": str(profile) if profile else None,
            "what_if": list(what_if),
        }
        return self._spawn(
            kind,
            port,
            ["-m", "bench._server"],
            {**os.environ, "BENCH_SERVER_CONFIG": json.dumps(config)},
            ready_path="/healthz",
        )

    def start_worker(self, api: ServerProcess) -> tuple[ServerProcess, int]:
        """The real arq worker (bench._worker, as `paygraph worker` runs it) in a child
        process, with the API server's settings (so its gateways talk to that server's
        sandbox) and its own metrics port. Returns the process and the metrics port; it is
        ready once that port answers (on_startup has run)."""
        metrics_port = embedded.free_port()
        config = {
            "kind": "worker",
            "settings": {**self.settings_kwargs(api.port), "worker_metrics_port": metrics_port},
        }
        worker = self._spawn(
            "worker",
            metrics_port,
            ["-m", "bench._worker"],
            {**os.environ, "BENCH_SERVER_CONFIG": json.dumps(config)},
            ready_path="/metrics",
        )
        return worker, metrics_port

    def _spawn(
        self, name: str, port: int, args: list[str], env: dict[str, str], *, ready_path: str
    ) -> ServerProcess:
        """A child process of ours (logging to the stack's folder, dying with us), returned
        once `ready_path` on its port answers 200; its log's tail if it exits or stays silent."""
        log_path = self.log_dir / f"{name}-{port}.log"
        log_file = open(log_path, "ab")  # noqa: SIM115
        try:
            process = subprocess.Popen(
                [sys.executable, *args],
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                preexec_fn=embedded.die_with_parent,
            )
        finally:
            log_file.close()
        server = ServerProcess(name, port, process, log_path)
        self.servers.append(server)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(
                    f"{name} exited; see {log_path}:\n{log_path.read_text()[-3000:]}"
                )
            try:
                if httpx.get(f"{server.url}{ready_path}", timeout=1).status_code == 200:
                    return server
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{name} did not answer {ready_path} within 60 s; see {log_path}")

    def pids(self) -> dict[str, int]:
        found = {server.kind: server.pid for server in self.servers}
        if self.mongo:
            found["secantusdb"] = self.mongo.pid
        if self.redis:
            found["redis"] = self.redis.pid
        return found


class CpuMeter:
    """CPU seconds used by each named process (and by this load generator) over a window."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self._start: dict[str, float] = {}
        self._wall = 0.0

    def _now(self) -> dict[str, float]:
        sample = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        times = os.times()
        sample["loadgen"] = times.user + times.system
        return sample

    def start(self) -> None:
        self._start = self._now()
        self._wall = time.perf_counter()

    def stop(self) -> dict[str, dict[str, float]]:
        end = self._now()
        wall = time.perf_counter() - self._wall
        return {
            name: {
                "cpu_s": round(end[name] - self._start[name], 3),
                "util": round((end[name] - self._start[name]) / wall, 3),
            }
            for name in end
        }


# --- statistics and output -----------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default); q in [0, 100]."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def median(values: Sequence[float]) -> float:
    return percentile(values, 50)


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def latency_summary(values: Sequence[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50_ms": ms(percentile(values, 50)),
        "p90_ms": ms(percentile(values, 90)),
        "p99_ms": ms(percentile(values, 99)),
        "max_ms": ms(max(values)) if values else float("nan"),
        "mean_ms": ms(sum(values) / len(values)) if values else float("nan"),
    }


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[str(h) for h in headers]] + [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
    return str(value)


def source_revision() -> str:
    """The commit measured: `git rev-parse HEAD` (+ "-dirty" with local changes), or the
    contents of .bench-source in an exported tree."""
    marker = ROOT / ".bench-source"
    if marker.exists():
        return marker.read_text().strip()
    try:
        head = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("-dirty" if dirty else "")


def environment() -> dict[str, Any]:
    load1, load5, _ = os.getloadavg()
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "source": source_revision(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "loadavg_at_start": [round(load1, 2), round(load5, 2)],
        "server": "uvicorn, 1 worker per server process, uvloop + httptools",
        "database": "SecantusDB (Python MongoDB-wire server), in memory",
        "load_generator": "asyncio + httpx.AsyncClient, closed loop, in the parent process",
    }


def write_results(
    name: str, data: dict[str, Any], what_if: Sequence[str] = (), *, profiled: bool = False
) -> Path:
    """bench/results/<name>.json; a run with what-if patches goes to <name>.whatif.json and a
    profiled run to <name>.profiled.json, so neither overwrites the plain figures."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    suffix = (".whatif" if what_if else "") + (".profiled" if profiled else "")
    path = RESULTS / f"{name}{suffix}.json"
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")
    return path


# --- the shopper's side -------------------------------------------------------------------


@dataclass
class Shopper:
    http: httpx.AsyncClient
    token: str
    customer_id: str
    sandbox_url: str = ""  # where the gateways' checkout stand-ins are; "" = the app's own
    headers: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.headers = {"Authorization": f"Bearer {self.token}"}

    async def graphql(
        self, query: str, variables: dict[str, Any], op: str | None = None
    ) -> dict[str, Any]:
        headers = {**self.headers, "X-Bench-Op": op} if op else self.headers
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables}, headers=headers
        )
        if response.status_code != 200:
            raise BenchError(f"graphql HTTP {response.status_code}")
        body: dict[str, Any] = response.json()
        if body.get("errors"):
            raise BenchError("graphql error: " + str(body["errors"][0].get("message"))[:80])
        data: dict[str, Any] = body["data"]
        return data

    async def initiate(self, order_id: str, amount: str = "499.00") -> dict[str, Any]:
        data = await self.graphql(
            INITIATE,
            {"input": {"orderId": order_id, "amount": amount, "paymentMethod": "CARD"}},
            "initiate",
        )
        result: dict[str, Any] = data["initiatePayment"]
        if result["__typename"] != "InitiatePaymentSuccess":
            raise BenchError(f"initiate: {result['__typename']} {result.get('code')}")
        return result

    async def pay(self, gateway_order_id: str) -> dict[str, Any]:
        """What Razorpay Checkout does in the browser, against the sandbox stand-in."""
        response = await self.http.post(
            f"{self.sandbox_url}/sandbox/razorpay/checkout/{gateway_order_id}/pay",
            json={"method": "card", "card_number": TEST_CARD},
            headers={"X-Bench-Op": "sandbox_pay"},
        )
        body: dict[str, Any] = response.json()
        if "razorpay_payment_id" not in body:
            raise BenchError(f"sandbox pay: {str(body)[:80]}")
        return body

    async def verify(self, payment_id: str, paid: dict[str, Any]) -> dict[str, Any]:
        data = await self.graphql(
            VERIFY,
            {
                "input": {
                    "paymentId": payment_id,
                    "gatewayPaymentId": paid["razorpay_payment_id"],
                    "signature": paid["razorpay_signature"],
                }
            },
            "verify",
        )
        result: dict[str, Any] = data["verifyPayment"]
        if result["__typename"] != "PaymentSuccess":
            raise BenchError(f"verify: {result['__typename']} {result.get('code')}")
        return result


def client(base_url: str, connections: int = 1, timeout: float = 60.0) -> httpx.AsyncClient:
    """An httpx client. The load generator gives each closed-loop client its own client with
    one connection: httpcore's pool scans every connection on every request (quadratic with
    a large shared pool), which capped one shared 32-connection client at ~330 req/s here.
    Idle connections are dropped after 2 s, before uvicorn closes them (5 s): reusing one the
    server is closing fails the request with ReadError (seen after subscription_fanout's idle
    window)."""
    return httpx.AsyncClient(
        base_url=base_url,
        limits=httpx.Limits(
            max_connections=connections,
            max_keepalive_connections=connections,
            keepalive_expiry=2.0,
        ),
        timeout=httpx.Timeout(timeout),
        verify=False,  # plain http to loopback; skips building a CA bundle per client
    )


def clients(base_url: str, count: int, timeout: float = 60.0) -> list[httpx.AsyncClient]:
    return [client(base_url, 1, timeout) for _ in range(count)]


async def close_all(http_clients: Sequence[httpx.AsyncClient]) -> None:
    for http in http_clients:
        await http.aclose()


def _cheap_sniffio_miss() -> None:
    """httpcore does `import sniffio` for every lock it creates; without sniffio installed that
    is a failed import (a sys.path search, ~0.1 ms) several times per request. In the load
    generator only, make the miss immediate (None in sys.modules still raises ImportError, so
    httpcore takes the same asyncio branch). The servers are left exactly as deployed."""
    import importlib.util

    if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
        sys.modules["sniffio"] = None  # type: ignore[assignment]


def add_what_if_argument(parser: Any) -> None:
    parser.add_argument(
        "--what-if",
        default="",
        help="comma-separated patches applied in the app server process only, to measure a fix "
        "(redis_pool, sniffio; see bench/_whatif.py); results go to "
        "bench/results/<name>.whatif.json",
    )


def what_if_list(value: str) -> list[str]:
    return [name.strip() for name in value.split(",") if name.strip()]


def run(main: Any) -> Any:
    """Run the load generator's coroutine on uvloop when installed (cheaper per request)."""
    _cheap_sniffio_miss()
    try:
        import uvloop
    except ImportError:
        import asyncio

        return asyncio.run(main)
    return uvloop.run(main)


def run_id() -> str:
    """A tag for this run's order ids. Callers join it to numbers with letters, never with
    digits or dashes: a 13-19 digit run (dashes allowed) passing Luhn is refused as a card
    number by the PAN guard."""
    return dt.datetime.now(dt.UTC).strftime("%H%M%S") + secrets.token_hex(2)


@contextlib.contextmanager
def stage(label: str) -> Iterator[None]:
    started = time.perf_counter()
    print(f"  {label} ...", end="", flush=True)
    yield
    print(f" {time.perf_counter() - started:.1f}s", flush=True)
