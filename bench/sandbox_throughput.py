"""The sandbox gateways' own throughput: is the sandbox ever the bottleneck of a benchmark?

Both sandboxes are served standalone, mounted as `paygraph sandbox` (cli/serve.py cmd_sandbox) mounts
them: a Starlette app with `create_razorpay_sandbox(RazorpaySandboxConfig(...))` at
/sandbox/razorpay and `create_paypal_sandbox(PayPalSandboxConfig(...))` at /sandbox/paypal, no
webhook URL (nothing is delivered). A bare Starlette endpoint returning a fixed JSON of similar
size (a Razorpay payment entity, ~0.7 KB) is the ceiling baseline. Each runs under uvicorn in
its own child process (one worker, uvloop + httptools, as bench/_server.py runs the app), and
the load comes from this process: asyncio + httpx, closed loop (bench/_load.py), one connection
per client.

Targets:
- bare: `GET /bare` (the ceiling: uvicorn + Starlette + JSONResponse, no work);
- Razorpay `POST /v1/orders` (Basic auth, a fresh receipt per call);
- Razorpay `GET /v1/payments/{id}`, cycling over payments made first through
  `POST /checkout/{order_id}/pay` with card 4100280000001007 (authorized, auto-captured);
- PayPal `POST /v2/checkout/orders` (Bearer token from /v1/oauth2/token, a unique
  PayPal-Request-Id and invoice_id per call, `Prefer: return=representation`, the adapter's body);
- PayPal `GET /v2/checkout/orders/{id}`, cycling over orders created and approved first.

Each round runs every target for the same duration with the same clients, the order rotating
from round to round. Reported per target: req/s, p50/p99 (request sent -> answer parsed), the
serving process's CPU ms per request and the load generator's CPU share; medians over rounds,
and the per-round ratio to the bare endpoint's req/s in the same round, with its median. After
seeding and again after the rounds, the Razorpay lookup initiatePayment makes before each create
(`GET /v1/orders?receipt=R&count=100`, an index read; it used to scan every order) is timed
serially (1 client, 100 calls) at the number of orders held then. "req/s per core (CPU)" is
1000 / server CPU ms per request: what the sandbox could serve if its CPU were the only limit.
On a 2-core machine one httpx load generator saturates ~1 core before the servers do, so the
req/s ratios to bare are load-generator-bound; the CPU per request is the figure to read.

    .venv/bin/python -m bench.sandbox_throughput [--quick] [--rounds N] [--duration S]
        [--clients N] [--payments N]

`--serve` (with BENCH_SERVER_CONFIG) is the child-process entry point; not for direct use.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from bench._harness import (
    ROOT,
    CpuMeter,
    ServerProcess,
    clients,
    close_all,
    environment,
    latency_summary,
    median,
    ms,
    percentile,
    run,
    run_id,
    stage,
    table,
    write_results,
)
from bench._load import Recorder, closed_loop

NAME = "sandbox_throughput"
CARD = "4100280000001007"  # Razorpay test Visa: succeeds
RZP_KEY = ("rzp_test_bench0000001", "bench-razorpay-secret")
PAYPAL_CLIENT = ("bench-paypal-client", "bench-paypal-secret")

TARGETS = ("bare", "rzp_create", "rzp_fetch", "pp_create", "pp_fetch")
LABELS = {
    "bare": "bare Starlette GET (fixed JSON)",
    "rzp_create": "Razorpay POST /v1/orders",
    "rzp_fetch": "Razorpay GET /v1/payments/{id}",
    "pp_create": "PayPal POST /v2/checkout/orders",
    "pp_fetch": "PayPal GET /v2/checkout/orders/{id}",
}

# The bare endpoint's answer: a Razorpay payment entity as the sandbox writes it (~0.7 KB).
BARE_BODY: dict[str, Any] = {
    "id": "pay_Bench0000000001",
    "entity": "payment",
    "amount": 49900,
    "currency": "INR",
    "status": "captured",
    "order_id": "order_Bench000000001",
    "invoice_id": None,
    "international": False,
    "method": "card",
    "amount_refunded": 0,
    "refund_status": None,
    "captured": True,
    "description": None,
    "card_id": "card_Bench000000001",
    "card": {
        "id": "card_Bench000000001",
        "entity": "card",
        "name": "Sandbox Cardholder",
        "last4": "1007",
        "network": "Visa",
        "type": "credit",
        "issuer": "HDFC",
        "international": False,
        "emi": False,
        "sub_type": "consumer",
    },
    "bank": None,
    "wallet": None,
    "vpa": None,
    "email": "void@razorpay.com",
    "contact": "+919999999999",
    "notes": {"reference": "bench-order-000001"},
    "fee": 998,
    "tax": 152,
    "error_code": None,
    "error_description": None,
    "error_source": None,
    "error_step": None,
    "error_reason": None,
    "acquirer_data": {"auth_code": "123456"},
    "created_at": 1764262800,
}


# --- the child process: serve the sandboxes (as cmd_sandbox mounts them) or the bare endpoint ---


def build_app(kind: str) -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Mount, Route

    if kind == "bare":

        async def bare(request: Request) -> Response:
            return JSONResponse(BARE_BODY)

        return Starlette(routes=[Route("/bare", bare, methods=["GET"])])

    from gateways.sandbox.paypal import PayPalSandboxConfig, create_paypal_sandbox
    from gateways.sandbox.razorpay import RazorpaySandboxConfig, create_razorpay_sandbox

    razorpay = create_razorpay_sandbox(
        RazorpaySandboxConfig(
            key_id=RZP_KEY[0],
            key_secret=RZP_KEY[1],
            webhook_secret="bench-razorpay-webhook-secret",
            webhook_url=None,
        )
    )
    paypal = create_paypal_sandbox(
        PayPalSandboxConfig(
            client_id=PAYPAL_CLIENT[0],
            client_secret=PAYPAL_CLIENT[1],
            webhook_id="WH-BENCH-0001",
            webhook_url=None,
        )
    )
    return Starlette(
        routes=[Mount("/sandbox/razorpay", app=razorpay), Mount("/sandbox/paypal", app=paypal)]
    )


def serve() -> None:
    import uvicorn

    from infra.logging import configure_logging

    config = json.loads(os.environ["BENCH_SERVER_CONFIG"])
    configure_logging(json_output=False, level="WARNING")
    # As bench/_server.py (and `paygraph serve`) run uvicorn: uvloop and httptools by default.
    uvicorn.Server(
        uvicorn.Config(
            build_app(config["kind"]),
            host="127.0.0.1",
            port=config["port"],
            log_config=None,
            lifespan="on",
            backlog=4096,
        )
    ).run()


HEALTH = {"bare": "/bare", "sandbox": "/sandbox/razorpay/_control"}


@contextlib.contextmanager
def servers() -> Iterator[dict[str, ServerProcess]]:
    """The sandbox server and the bare server, each in its own child process; stopped on exit."""
    from infra import embedded

    log_dir = Path(tempfile.mkdtemp(prefix=f"paygraph-bench-{NAME}-"))
    started: dict[str, ServerProcess] = {}
    try:
        for kind in ("sandbox", "bare"):
            port = embedded.free_port()
            log_path = log_dir / f"{kind}-{port}.log"
            with open(log_path, "ab") as log_file:
                process = subprocess.Popen(
                    [sys.executable, "-m", "bench.sandbox_throughput", "--serve"],
                    cwd=ROOT,
                    env={
                        **os.environ,
                        "BENCH_SERVER_CONFIG": json.dumps({"kind": kind, "port": port}),
                    },
                    stdin=subprocess.DEVNULL,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    preexec_fn=embedded.die_with_parent,
                )
            server = ServerProcess(kind, port, process, log_path)
            started[kind] = server
            deadline = time.monotonic() + 60
            while True:
                if process.poll() is not None:
                    raise RuntimeError(
                        f"{kind} server exited; see {log_path}:\n{log_path.read_text()[-3000:]}"
                    )
                try:
                    if httpx.get(server.url + HEALTH[kind], timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{kind} server did not answer within 60 s; see {log_path}")
                time.sleep(0.1)
        yield started
    finally:
        for server in reversed(list(started.values())):
            server.stop()


# --- the load side --------------------------------------------------------------------------


class Sandbox:
    """What the targets send: credentials, fresh keys, and the ids seeded for the reads."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.counter = itertools.count()
        self.rzp_auth = httpx.BasicAuth(*RZP_KEY)
        self.paypal_token = ""
        self.payment_ids: list[str] = []
        self.paypal_orders: list[str] = []
        self.sizes: dict[str, int] = {}

    def receipt(self) -> str:
        return f"bench{self.tag}r{next(self.counter)}"

    def paypal_headers(self, request_id: str | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.paypal_token}"}
        if request_id is not None:
            headers.update({"PayPal-Request-Id": request_id, "Prefer": "return=representation"})
        return headers

    def paypal_order_body(self, reference: str) -> dict[str, Any]:
        """The body gateways/paypal/adapter.py create_order sends."""
        return {
            "intent": "CAPTURE",
            "purchase_units": [
                {
                    "reference_id": reference,
                    "custom_id": reference,
                    "invoice_id": reference,
                    "amount": {"currency_code": "USD", "value": "49.90"},
                }
            ],
            "payment_source": {
                "paypal": {
                    "experience_context": {
                        "return_url": "http://127.0.0.1/return",
                        "cancel_url": "http://127.0.0.1/cancel",
                        "user_action": "PAY_NOW",
                        "shipping_preference": "NO_SHIPPING",
                    }
                }
            },
        }


def check(response: httpx.Response, expected: int, what: str) -> dict[str, Any]:
    if response.status_code != expected:
        raise RuntimeError(f"{what}: HTTP {response.status_code} {response.text[:120]}")
    body: dict[str, Any] = response.json()
    return body


async def seed(http: list[httpx.AsyncClient], sb: Sandbox, payments: int) -> None:
    """A PayPal token; `payments` paid Razorpay payments; `payments` approved PayPal orders."""
    token = await http[0].post(
        "/sandbox/paypal/v1/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=PAYPAL_CLIENT,
    )
    sb.paypal_token = check(token, 200, "paypal token")["access_token"]
    control = await http[0].post(
        "/sandbox/razorpay/_control", json={"action": "configure", "webhooks": "drop"}
    )
    check(control, 200, "razorpay configure")

    async def razorpay_payment(client: httpx.AsyncClient) -> None:
        order = check(
            await client.post(
                "/sandbox/razorpay/v1/orders",
                json={"amount": 49900, "currency": "INR", "receipt": sb.receipt()},
                auth=sb.rzp_auth,
            ),
            200,
            "razorpay order",
        )
        paid = check(
            await client.post(
                f"/sandbox/razorpay/checkout/{order['id']}/pay",
                json={"method": "card", "card_number": CARD},
            ),
            200,
            "razorpay checkout pay",
        )
        sb.payment_ids.append(paid["razorpay_payment_id"])

    async def paypal_order(client: httpx.AsyncClient) -> None:
        reference = f"bench{sb.tag}p{next(sb.counter)}"
        order = check(
            await client.post(
                "/sandbox/paypal/v2/checkout/orders",
                json=sb.paypal_order_body(reference),
                headers=sb.paypal_headers(f"create-{reference}"),
            ),
            201,
            "paypal order",
        )
        check(
            await client.post(
                f"/sandbox/paypal/checkoutnow?token={order['id']}", json={"action": "approve"}
            ),
            200,
            "paypal approve",
        )
        sb.paypal_orders.append(order["id"])

    async def worker(index: int, job: Any, count: int) -> None:
        for _ in range(count):
            await job(http[index])

    share = [
        payments // len(http) + (1 if i < payments % len(http) else 0) for i in range(len(http))
    ]
    await asyncio.gather(*(worker(i, razorpay_payment, n) for i, n in enumerate(share)))
    await asyncio.gather(*(worker(i, paypal_order, n) for i, n in enumerate(share)))


def make_steps(sb: Sandbox) -> dict[str, Any]:
    payment_cycle = itertools.cycle(sb.payment_ids)
    order_cycle = itertools.cycle(sb.paypal_orders)

    async def timed(recorder: Recorder, name: str, call: Any, expected: int) -> None:
        started = time.perf_counter()
        response = await call
        if response.status_code != expected:
            raise RuntimeError(f"HTTP {response.status_code} {response.text[:80]}")
        body = response.json()
        recorder.record(name, time.perf_counter() - started)
        sb.sizes.setdefault(name, len(response.content))
        del body

    def bare(http: list[httpx.AsyncClient]) -> Any:
        async def step(i: int, recorder: Recorder) -> None:
            await timed(recorder, "bare", http[i].get("/bare"), 200)

        return step

    def rzp_create(http: list[httpx.AsyncClient]) -> Any:
        async def step(i: int, recorder: Recorder) -> None:
            call = http[i].post(
                "/sandbox/razorpay/v1/orders",
                json={"amount": 49900, "currency": "INR", "receipt": sb.receipt()},
                auth=sb.rzp_auth,
            )
            await timed(recorder, "rzp_create", call, 200)

        return step

    def rzp_fetch(http: list[httpx.AsyncClient]) -> Any:
        async def step(i: int, recorder: Recorder) -> None:
            call = http[i].get(
                f"/sandbox/razorpay/v1/payments/{next(payment_cycle)}", auth=sb.rzp_auth
            )
            await timed(recorder, "rzp_fetch", call, 200)

        return step

    def pp_create(http: list[httpx.AsyncClient]) -> Any:
        async def step(i: int, recorder: Recorder) -> None:
            reference = f"bench{sb.tag}p{next(sb.counter)}"
            call = http[i].post(
                "/sandbox/paypal/v2/checkout/orders",
                json=sb.paypal_order_body(reference),
                headers=sb.paypal_headers(f"create-{reference}"),
            )
            await timed(recorder, "pp_create", call, 201)

        return step

    def pp_fetch(http: list[httpx.AsyncClient]) -> Any:
        async def step(i: int, recorder: Recorder) -> None:
            call = http[i].get(
                f"/sandbox/paypal/v2/checkout/orders/{next(order_cycle)}",
                headers=sb.paypal_headers(),
            )
            await timed(recorder, "pp_fetch", call, 200)

        return step

    return {"bare": bare, "rzp_create": rzp_create, "rzp_fetch": rzp_fetch,
            "pp_create": pp_create, "pp_fetch": pp_fetch}  # fmt: skip


async def window(
    target: str, step: Any, clients_n: int, duration: float, pids: dict[str, int]
) -> dict[str, Any]:
    server = "bare" if target == "bare" else "sandbox"
    meter = CpuMeter(pids)
    meter.start()
    recorder, elapsed = await closed_loop(clients_n, step, duration=duration)
    cpu = meter.stop()
    latencies = recorder.latencies.get(target, [])
    count = len(latencies)
    return {
        "requests": count,
        "req_per_s": round(count / elapsed, 1),
        **latency_summary(latencies),
        "server_cpu_ms_per_req": round(cpu[server]["cpu_s"] * 1000 / count, 3) if count else None,
        "server_util": cpu[server]["util"],
        "loadgen_util": cpu["loadgen"]["util"],
        "errors": dict(recorder.errors),
        "late": recorder.late,
    }


async def receipt_lookup(http: httpx.AsyncClient, sb: Sandbox, calls: int) -> dict[str, Any]:
    """initiatePayment's lookup before each Razorpay create, timed serially (1 client)."""
    control = check(await http.get("/sandbox/razorpay/_control"), 200, "razorpay control")
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        response = await http.get(
            "/sandbox/razorpay/v1/orders",
            params={"receipt": sb.receipt(), "count": 100},
            auth=sb.rzp_auth,
        )
        check(response, 200, "razorpay lookup by receipt")
        times.append(time.perf_counter() - started)
    return {
        "orders_held": control.get("counts", {}).get("orders"),
        "calls": calls,
        "p50_ms": ms(percentile(times, 50)),
        "p99_ms": ms(percentile(times, 99)),
    }


async def main(args: argparse.Namespace) -> int:
    rounds = args.rounds or (3 if args.quick else 5)
    duration = args.duration or (2.0 if args.quick else 3.0)
    payments = args.payments or (200 if args.quick else 300)
    env = environment()
    print(
        f"[{NAME}] {rounds} rounds x {duration:g} s x {len(TARGETS)} targets, {args.clients} clients;"
        f" load average {env['loadavg_at_start']} on {env['cpus']} cores",
        flush=True,
    )
    per_round: list[dict[str, dict[str, Any]]] = []
    with servers() as procs:
        pids = {kind: server.pid for kind, server in procs.items()}
        sandbox_http = clients(procs["sandbox"].url, args.clients)
        bare_http = clients(procs["bare"].url, args.clients)
        try:
            sb = Sandbox(run_id())
            with stage(
                f"seeding {payments} paid Razorpay payments and {payments} approved PayPal orders"
            ):
                await seed(sandbox_http, sb, payments)
            with stage("Razorpay GET /v1/orders?receipt= (initiate's lookup), 100 serial calls"):
                lookups = [await receipt_lookup(sandbox_http[0], sb, 100)]
            factories = make_steps(sb)
            steps = {
                target: factories[target](bare_http if target == "bare" else sandbox_http)
                for target in TARGETS
            }
            with stage("warm-up, 0.5 s per target"):
                for target in TARGETS:
                    await window(target, steps[target], args.clients, 0.5, pids)
            for r in range(rounds):
                shift = r % len(TARGETS)
                order = TARGETS[shift:] + TARGETS[:shift]
                results: dict[str, dict[str, Any]] = {}
                for target in order:
                    results[target] = await window(
                        target, steps[target], args.clients, duration, pids
                    )
                per_round.append(results)
                print(
                    f"  round {r + 1}: "
                    + ", ".join(f"{t} {results[t]['req_per_s']:.0f}/s" for t in TARGETS),
                    flush=True,
                )
            with stage("Razorpay GET /v1/orders?receipt= (initiate's lookup), 100 serial calls"):
                lookups.append(await receipt_lookup(sandbox_http[0], sb, 100))
        finally:
            await close_all(sandbox_http)
            await close_all(bare_http)

    summary: dict[str, dict[str, Any]] = {}
    for target in TARGETS:
        windows = [results[target] for results in per_round]
        ratios = [
            results[target]["req_per_s"] / results["bare"]["req_per_s"]
            for results in per_round
            if results["bare"]["req_per_s"]
        ]
        summary[target] = {
            "label": LABELS[target],
            "response_bytes": sb.sizes.get(target),
            "req_per_s": round(median([w["req_per_s"] for w in windows]), 1),
            "p50_ms": round(median([w["p50_ms"] for w in windows]), 2),
            "p99_ms": round(median([w["p99_ms"] for w in windows]), 2),
            "server_cpu_ms_per_req": round(
                median([w["server_cpu_ms_per_req"] for w in windows if w["server_cpu_ms_per_req"]]),
                3,
            ),
            "server_util": round(median([w["server_util"] for w in windows]), 3),
            "loadgen_util": round(median([w["loadgen_util"] for w in windows]), 3),
            # what one core could serve if the sandbox's CPU were the only limit
            "req_per_core_s_by_cpu": None,
            "ratio_to_bare": round(median(ratios), 3),
            "ratio_to_bare_range": [round(min(ratios), 3), round(max(ratios), 3)],
            "errors": sum(sum(w["errors"].values()) for w in windows),
        }
        cpu_ms = summary[target]["server_cpu_ms_per_req"]
        summary[target]["req_per_core_s_by_cpu"] = round(1000 / cpu_ms) if cpu_ms else None

    print()
    print(
        table(
            [
                "target",
                "bytes",
                "req/s",
                "p50 ms",
                "p99 ms",
                "server CPU ms/req",
                "req/s per core (CPU)",
                "server util",
                "loadgen util",
                "ratio to bare (range)",
                "errors",
            ],
            [
                [
                    s["label"],
                    s["response_bytes"],
                    s["req_per_s"],
                    s["p50_ms"],
                    s["p99_ms"],
                    s["server_cpu_ms_per_req"],
                    s["req_per_core_s_by_cpu"],
                    s["server_util"],
                    s["loadgen_util"],
                    f"{s['ratio_to_bare']:.2f} ({s['ratio_to_bare_range'][0]:.2f}-{s['ratio_to_bare_range'][1]:.2f})",
                    s["errors"],
                ]
                for s in summary.values()
            ],
        )
    )
    print()
    for lookup in lookups:
        print(
            f"Razorpay lookup by receipt with {lookup['orders_held']:,} orders held: "
            f"p50 {lookup['p50_ms']} ms, p99 {lookup['p99_ms']} ms (1 client)"
        )
    end_load = [round(x, 2) for x in os.getloadavg()[:2]]
    print(f"load average at start {env['loadavg_at_start']}, at end {end_load}")
    errors = sum(s["errors"] for s in summary.values())
    path = write_results(
        NAME,
        {
            "environment": {
                **env,
                "loadavg_at_end": end_load,
                "database": "none (the sandboxes keep their state in memory)",
                "server": "uvicorn, 1 worker per server process, uvloop + httptools; "
                "sandboxes mounted as cmd_sandbox mounts them, no webhook URL",
            },
            "rounds": rounds,
            "duration_s": duration,
            "clients": args.clients,
            "seeded": {
                "razorpay_paid_payments": len(sb.payment_ids),
                "paypal_approved_orders": len(sb.paypal_orders),
            },
            "summary": summary,
            "receipt_lookup": lookups,
            "per_round": per_round,
        },
    )
    print(f"results: {path}")
    return 0 if errors == 0 else 1


def cli() -> None:
    if "--serve" in sys.argv[1:]:
        serve()
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="3 rounds of 2 s, 200 seeded payments")
    parser.add_argument("--rounds", type=int, help="default 5")
    parser.add_argument("--duration", type=float, help="seconds per target per round (default 3)")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument(
        "--payments", type=int, help="paid payments / approved orders to read (300)"
    )
    sys.exit(run(main(parser.parse_args())))


if __name__ == "__main__":
    cli()
