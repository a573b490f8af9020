"""API CPU per checkout flow against a bare implementation of the same steps (issue 16, items 4
and 7).

One SecantusDB + Redis; the Razorpay sandbox in its own process (webhooks off: no WEBHOOK_URL,
so both servers do exactly the flow's work); the API (`create_app`) in one child process and the
bare baseline (bench/baseline_flow.py) in another, both pointed at that sandbox. In alternating
rounds (each round swaps which goes first), N flows run against each at a fixed concurrency
(closed loop: C clients, each starts its next flow when its last one is done):

  API:  initiatePayment (GraphQL) -> sandbox checkout pay -> verifyPayment (GraphQL)
  bare: POST /initiate            -> sandbox checkout pay -> POST /verify

The figure is CPU per flow of the server process (utime + stime from /proc/<pid>/stat, read
around each round), API over bare; also flows/s and flow latency p50/p99, and the sandbox's and
database's CPU per flow (the same work for both, a check that the two sides did the same).
Every flow must end COMPLETED. Results: bench/results/flow_cpu.json (flow_cpu.profiled.json
with --profile, which runs the API under cProfile and writes
bench/results/flow_cpu.app.prof.txt; its CPU figures are inflated by the profiler).

    .venv/bin/python -m bench.flow_cpu [--quick] [--rounds N] [--flows N] [--concurrency N]
                                      [--profile]
"""

from __future__ import annotations

import argparse
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from bench._harness import (
    RESULTS,
    TEST_CARD,
    BenchError,
    CpuMeter,
    ServerProcess,
    Shopper,
    Stack,
    clients,
    close_all,
    environment,
    latency_summary,
    median,
    run,
    run_id,
    table,
    write_results,
)
from bench._load import Recorder, closed_loop

NAME = "flow_cpu"
TARGET_RATIO = 2.0
SAMPLES = RESULTS / f"{NAME}.app.pyspy.txt"


def start_sampler(pid: int) -> subprocess.Popen[bytes]:
    """py-spy (a sampling profiler, `pip install py-spy`; not a project dependency) on the API
    process during the measured rounds: on-CPU samples only, as collapsed stacks, which
    bench/flow_profile.py sorts into GraphQL, services, Beanie, PyMongo, httpx and the rest."""
    exe = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    RESULTS.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [exe, "record", "-p", str(pid), "-r", "250", "-f", "raw", "-o", str(SAMPLES)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


class BareShopper:
    """The shopper's side of the bare flow: the same three requests, without GraphQL."""

    def __init__(self, http: httpx.AsyncClient, token: str, sandbox_url: str) -> None:
        self.http = http
        self.headers = {"Authorization": f"Bearer {token}"}
        self.sandbox_url = sandbox_url

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.http.post(path, json=body, headers=self.headers)
        answer: dict[str, Any] = response.json()
        if response.status_code != 200 or "error" in answer:
            raise BenchError(f"bare {path}: {str(answer)[:80]}")
        return answer

    async def flow(self, order_id: str) -> str:
        initiated = await self._post(
            "/initiate", {"orderId": order_id, "amount": "499.00", "paymentMethod": "CARD"}
        )
        response = await self.http.post(
            f"{self.sandbox_url}/sandbox/razorpay/checkout/"
            f"{initiated['checkout']['gatewayOrderId']}/pay",
            json={"method": "card", "card_number": TEST_CARD},
        )
        paid: dict[str, Any] = response.json()
        if "razorpay_payment_id" not in paid:
            raise BenchError(f"sandbox pay: {str(paid)[:80]}")
        verified = await self._post(
            "/verify",
            {
                "paymentId": initiated["payment"]["id"],
                "gatewayPaymentId": paid["razorpay_payment_id"],
                "signature": paid["razorpay_signature"],
            },
        )
        status: str = verified["payment"]["status"]
        return status


async def api_flow(shopper: Shopper, order_id: str) -> str:
    initiated = await shopper.initiate(order_id)
    paid = await shopper.pay(initiated["checkout"]["gatewayOrderId"])
    verified = await shopper.verify(initiated["payment"]["id"], paid)
    status: str = verified["payment"]["status"]
    return status


async def one_round(
    stack: Stack, server: ServerProcess, flows: int, concurrency: int
) -> dict[str, Any]:
    """`flows` flows against one server at `concurrency`, with the CPU each process used."""
    tag = run_id()
    sandbox = stack.sandbox_url or ""
    https = clients(server.url, concurrency, timeout=120)
    tokens = [stack.token(f"cpu-{tag}-{i}") for i in range(concurrency)]
    if server.kind == "app":
        shoppers: list[Any] = [
            Shopper(https[i], tokens[i], f"cpu-{tag}-{i}", sandbox_url=sandbox)
            for i in range(concurrency)
        ]
    else:
        shoppers = [BareShopper(https[i], tokens[i], sandbox) for i in range(concurrency)]
    sequence = [0] * concurrency
    not_completed = 0

    async def step(index: int, recorder: Recorder) -> None:
        nonlocal not_completed
        sequence[index] += 1
        order_id = f"C{tag}c{index}n{sequence[index]}"
        started = time.perf_counter()
        shopper = shoppers[index]
        if server.kind == "app":
            status = await api_flow(shopper, order_id)
        else:
            status = await shopper.flow(order_id)
        if status != "COMPLETED":
            not_completed += 1
            raise BenchError(f"flow ended {status}")
        recorder.record("flow", time.perf_counter() - started)

    per_client = max(flows // concurrency, 1)
    meter = CpuMeter(stack.pids())
    meter.start()
    try:
        recorder, elapsed = await closed_loop(concurrency, step, iterations=per_client)
    finally:
        await close_all(https)
    cpu = meter.stop()
    done = recorder.count("flow")
    per_flow = {
        name: round(v["cpu_s"] / max(done, 1) * 1000, 2)
        for name, v in cpu.items()
        if name in (server.kind, "sandbox", "secantusdb", "redis", "loadgen")
    }
    return {
        "target": server.kind,
        "flows": done,
        "errors": dict(recorder.errors),
        "elapsed_s": round(elapsed, 2),
        "flows_per_s": round(done / elapsed, 1),
        "latency": latency_summary(recorder.latencies.get("flow", [])),
        "server_cpu_ms_per_flow": per_flow[server.kind],
        "cpu_ms_per_flow": per_flow,
        "cpu_util": {name: v["util"] for name, v in cpu.items()},
    }


async def measure(
    args: argparse.Namespace, stack: Stack, api: ServerProcess, bare: ServerProcess
) -> dict[str, Any]:
    # warm-up: connections, caches, the sandbox's first entities, a gateway customer each
    for server in (api, bare):
        await one_round(stack, server, args.concurrency * 2, args.concurrency)
    sampler = start_sampler(api.pid) if args.sample else None
    rounds: list[dict[str, Any]] = []
    for r in range(args.rounds):
        order = (api, bare) if r % 2 == 0 else (bare, api)
        results = {}
        for server in order:
            results[server.kind] = await one_round(stack, server, args.flows, args.concurrency)
        app, base = results["app"], results["bare_flow"]
        ratio = round(app["server_cpu_ms_per_flow"] / base["server_cpu_ms_per_flow"], 2)
        rounds.append({"round": r + 1, "first": order[0].kind, "ratio": ratio, **results})
        print(
            f"  round {r + 1}: API {app['server_cpu_ms_per_flow']:.1f} ms CPU/flow "
            f"({app['flows_per_s']:.1f} flows/s, p50 {app['latency']['p50_ms']:.0f} ms), "
            f"bare {base['server_cpu_ms_per_flow']:.1f} ms CPU/flow "
            f"({base['flows_per_s']:.1f} flows/s, p50 {base['latency']['p50_ms']:.0f} ms); "
            f"ratio {ratio:.2f}; errors {sum(app['errors'].values())}/"
            f"{sum(base['errors'].values())}",
            flush=True,
        )
    if sampler is not None:
        sampler.send_signal(signal.SIGINT)
        sampler.wait(timeout=60)
        print(f"  py-spy samples of the API: {SAMPLES}", flush=True)
    summary: dict[str, Any] = {}
    for kind in ("app", "bare_flow"):
        rows = [r[kind] for r in rounds]
        summary[kind] = {
            "server_cpu_ms_per_flow": round(median([x["server_cpu_ms_per_flow"] for x in rows]), 2),
            "sandbox_cpu_ms_per_flow": round(
                median([x["cpu_ms_per_flow"]["sandbox"] for x in rows]), 2
            ),
            "db_cpu_ms_per_flow": round(
                median([x["cpu_ms_per_flow"]["secantusdb"] for x in rows]), 2
            ),
            "redis_cpu_ms_per_flow": round(
                median([x["cpu_ms_per_flow"]["redis"] for x in rows]), 2
            ),
            "flows_per_s": round(median([x["flows_per_s"] for x in rows]), 1),
            "p50_ms": round(median([x["latency"]["p50_ms"] for x in rows]), 1),
            "p99_ms": round(median([x["latency"]["p99_ms"] for x in rows]), 1),
            "errors": sum(sum(x["errors"].values()) for x in rows),
        }
    ratios = [r["ratio"] for r in rounds]
    summary["ratio_median"] = round(median(ratios), 2)
    summary["ratio_range"] = [min(ratios), max(ratios)]
    summary["target_met"] = summary["ratio_median"] <= TARGET_RATIO
    return {"rounds": rounds, "summary": summary}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="2 rounds of 96 flows per side")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--flows", type=int, help="flows per side per round")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--profile", action="store_true", help="cProfile the API server")
    parser.add_argument(
        "--sample",
        action="store_true",
        help="sample the API with py-spy during the rounds (bench/results/flow_cpu.app.pyspy.txt)",
    )
    args = parser.parse_args()
    args.rounds = args.rounds or (2 if args.quick else 4)
    args.flows = args.flows or (96 if args.quick else 304)

    env = environment()
    print(
        f"{NAME}: {args.rounds} rounds x {args.flows} flows per side at concurrency "
        f"{args.concurrency}; sandbox in its own process, webhooks off",
        flush=True,
    )
    with Stack(NAME) as stack:
        stack.start_sandbox(webhook_port=None)
        profile = RESULTS / f"{NAME}.app.prof" if args.profile else None
        if profile:
            RESULTS.mkdir(parents=True, exist_ok=True)
        api = stack.start_server("app", profile=profile)
        bare = stack.start_server("bare_flow")
        result = run(measure(args, stack, api, bare))

    s = result["summary"]
    print()
    print(
        table(
            [
                "server",
                "CPU ms/flow",
                "flows/s",
                "p50 ms",
                "p99 ms",
                "sandbox CPU ms/flow",
                "DB CPU ms/flow",
                "redis CPU ms/flow",
                "errors",
            ],
            [
                [
                    label,
                    s[kind]["server_cpu_ms_per_flow"],
                    s[kind]["flows_per_s"],
                    s[kind]["p50_ms"],
                    s[kind]["p99_ms"],
                    s[kind]["sandbox_cpu_ms_per_flow"],
                    s[kind]["db_cpu_ms_per_flow"],
                    s[kind]["redis_cpu_ms_per_flow"],
                    s[kind]["errors"],
                ]
                for kind, label in (("app", "API (GraphQL)"), ("bare_flow", "bare Starlette"))
            ],
        )
    )
    print(
        f"\nAPI / bare CPU per flow: {s['ratio_median']:.2f}x (median of rounds, range "
        f"{s['ratio_range'][0]:.2f}-{s['ratio_range'][1]:.2f}); target <= {TARGET_RATIO}x: "
        f"{'met' if s['target_met'] else 'NOT met'}"
    )
    path = write_results(
        NAME,
        {"benchmark": NAME, "environment": env, "parameters": vars(args), **result},
        profiled=args.profile,
    )
    print(f"written {path}")
    errors = s["app"]["errors"] + s["bare_flow"]["errors"]
    return 0 if errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
