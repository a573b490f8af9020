"""Soak: 2,000 checkout flows with 250 in flight, on the whole stack, and whether it holds up.

The stack (issue 16 item 6): SecantusDB + Redis, the API under uvicorn in a child process, the
sandbox gateways in ANOTHER child process (`paygraph sandbox`) with webhooks ON, delivered to
the API's /api/webhooks/razorpay, and the real arq worker (bench._worker) processing them.
Each flow is what a shop does: initiatePayment -> the sandbox's checkout pay -> verifyPayment,
at most --in-flight flows at once (a semaphore; each slot has its own HTTP connection). The
client honours a 503's Retry-After (waits, then sends the same request again), as the React
package and a shop's backend do; anything else that is not a success fails the flow.

Reported (bench/results/soak.json; exit 1 if a check fails):
  - completed flows (all of them must be COMPLETED) and failures by kind
  - one gateway order per payment: the sandbox's order count == payments in MongoDB == flows,
    gateway_order_ids distinct; one sandbox payment per paid flow; nothing left unfinished
  - flows/s in each quarter of the run, by completions: quarter k is completions
    (k-1)N/4..kN/4, its rate N/4 over the time between those completions (the first quarter
    starts at the first completion, so the time before anything can finish is not counted);
    the check: the last quarter's rate is at least 75% of the first's. The rate per quarter
    of wall time is in the JSON too.
  - p50/p90/p99 per flow and per step; 503s answered and honoured per step; the sandbox's
    webhook deliveries and the API's webhook_events by status once the worker has drained

The API and the worker connect with the app's own MongoDB URL; `--mongo-option NAME=VALUE`
adds a URI option to it. On the MongoDB-wire test server, run the soak with
`--mongo-option retryWrites=false`: that server's cost per retryable write grows with the
retryable writes made before it (bench/server_writes.py measures it), so with the driver's
default the soak measures that server's bookkeeping rather than paygraph's. mongod's per-write
cost does not grow that way, and the app keeps retryable writes on.

    .venv/bin/python -m bench.soak [--quick] [--flows N] [--in-flight N] [--timeout S]
                                   [--mongo-option retryWrites=false]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time
from collections import Counter
from typing import Any

import httpx
from pymongo import AsyncMongoClient

from bench._harness import (
    BENCH_DB,
    BenchError,
    CpuMeter,
    Shopper,
    Stack,
    clients,
    close_all,
    environment,
    latency_summary,
    percentile,
    run,
    run_id,
    table,
    write_results,
)

NAME = "soak"
MAX_503_RETRIES = 60  # per request; past that the flow fails as "still 503"


class PoliteShopper(Shopper):
    """A shopper whose requests honour 503 + Retry-After (counted per step)."""

    overload: Counter[str]

    def bind(self, overload: Counter[str]) -> PoliteShopper:
        self.overload = overload
        return self

    async def _post(self, op: str, url: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
        for _ in range(MAX_503_RETRIES):
            response = await self.http.post(url, json=body, headers=headers)
            if response.status_code != 503 or "retry-after" not in response.headers:
                return response
            self.overload[op] += 1
            # At least what the server asked, spread a little so refused clients do not all
            # come back in the same instant.
            await asyncio.sleep(float(response.headers["retry-after"]) + random.uniform(0, 0.5))
        raise BenchError(f"{op}: still 503 after {MAX_503_RETRIES} waits")

    async def graphql(
        self, query: str, variables: dict[str, Any], op: str | None = None
    ) -> dict[str, Any]:
        headers = {**self.headers, "X-Bench-Op": op} if op else self.headers
        response = await self._post(
            op or "graphql", "/graphql", {"query": query, "variables": variables}, headers
        )
        if response.status_code != 200:
            raise BenchError(f"graphql HTTP {response.status_code}")
        body: dict[str, Any] = response.json()
        if body.get("errors"):
            raise BenchError("graphql error: " + str(body["errors"][0].get("message"))[:80])
        data: dict[str, Any] = body["data"]
        return data

    async def pay(self, gateway_order_id: str) -> dict[str, Any]:
        response = await self._post(
            "sandbox_pay",
            f"{self.sandbox_url}/sandbox/razorpay/checkout/{gateway_order_id}/pay",
            {"method": "card", "card_number": "4100280000001007"},
            {"X-Bench-Op": "sandbox_pay"},
        )
        body: dict[str, Any] = response.json()
        if "razorpay_payment_id" not in body:
            raise BenchError(f"sandbox pay: HTTP {response.status_code} {str(body)[:80]}")
        return body


def quarters(done_at: list[float], elapsed: float) -> dict[str, list[float]]:
    """flows/s per quarter: by completions (see the module's doc) and by wall time."""
    times = sorted(done_at)
    by_completions: list[float] = []
    if len(times) >= 8:
        n = len(times)
        bounds = [times[0]] + [times[(n * k) // 4 - 1] for k in range(1, 5)]
        for k in range(4):
            count = (n * (k + 1)) // 4 - (n * k) // 4 - (1 if k == 0 else 0)
            span = bounds[k + 1] - bounds[k]
            by_completions.append(round(count / span, 2) if span > 0 else float("nan"))
    by_wall = [
        round(
            sum(1 for t in times if elapsed * k / 4 <= t < elapsed * (k + 1) / 4) / (elapsed / 4), 2
        )
        for k in range(4)
    ]
    if times and times[-1] >= elapsed:  # the last completion sits on the boundary
        by_wall[3] = round(by_wall[3] + 1 / (elapsed / 4), 2)
    return {"by_completions": by_completions, "by_wall_time": by_wall}


async def drain_webhooks(
    stack: Stack, mongo: AsyncMongoClient[dict[str, Any]], wait: float
) -> dict[str, Any]:
    """Wait (at most `wait` s) until the sandbox has no delivery pending and the worker has
    left no webhook_events row RECEIVED; what was seen then."""
    deadline = time.monotonic() + wait
    events = mongo[BENCH_DB]["webhook_events"]
    started = time.monotonic()
    deliveries: list[dict[str, Any]] = []
    pending = -1  # unknown until the sandbox answers
    async with httpx.AsyncClient(base_url=stack.sandbox_url or "", timeout=120) as control:
        while True:
            try:
                snap = (await control.get("/sandbox/razorpay/_control")).json()
            except httpx.HTTPError:  # the sandbox is still busy delivering: ask again
                if time.monotonic() > deadline:
                    break
                continue
            deliveries = snap["deliveries"]
            pending = sum(
                1 for d in deliveries if not (d["delivered"] or d["gave_up"] or d["dropped"])
            )
            by_status = {
                row["_id"]: row["n"]
                async for row in await events.aggregate(
                    [{"$group": {"_id": "$status", "n": {"$sum": 1}}}]
                )
            }
            if (pending == 0 and not by_status.get("RECEIVED")) or time.monotonic() > deadline:
                break
            await asyncio.sleep(2)
    statuses: Counter[str] = Counter(s for d in deliveries for s in d["statuses"])
    return {
        "drain_wait_s": round(time.monotonic() - started, 1),
        "sandbox_deliveries": len(deliveries),
        "delivered": sum(1 for d in deliveries if d["delivered"]),
        "pending": pending,
        "gave_up": sum(1 for d in deliveries if d["gave_up"]),
        "attempts": sum(d["attempts"] for d in deliveries),
        "attempt_answers": dict(statuses),
        "webhook_events_by_status": by_status,
    }


async def measure(args: argparse.Namespace, stack: Stack, url: str) -> dict[str, Any]:
    tag = run_id()
    slots: asyncio.Queue[httpx.AsyncClient] = asyncio.Queue()
    https = clients(url, args.in_flight, timeout=args.timeout)
    for http in https:
        slots.put_nowait(http)
    tokens = {c: stack.token(f"soak-{tag}-{c}") for c in range(max(args.flows // 5, 1))}
    limit = asyncio.Semaphore(args.in_flight)
    steps: dict[str, list[float]] = {"initiate": [], "sandbox_pay": [], "verify": [], "flow": []}
    done_at: list[float] = []
    outcomes: dict[int, dict[str, Any]] = {}
    errors: Counter[str] = Counter()
    overload: Counter[str] = Counter()
    started = time.perf_counter()

    async def flow(i: int, http: httpx.AsyncClient) -> None:
        customer = i % len(tokens)
        shopper = PoliteShopper(
            http, tokens[customer], f"soak-{tag}-{customer}", sandbox_url=stack.sandbox_url or ""
        ).bind(overload)
        t0 = time.perf_counter()
        step = "initiate"
        try:
            initiated = await shopper.initiate(f"S{tag}n{i}")
            outcomes[i] = {"payment_id": initiated["payment"]["id"]}
            t1 = time.perf_counter()
            step = "sandbox_pay"
            paid = await shopper.pay(initiated["checkout"]["gatewayOrderId"])
            outcomes[i]["paid"] = True
            t2 = time.perf_counter()
            step = "verify"
            verified = await shopper.verify(initiated["payment"]["id"], paid)
            t3 = time.perf_counter()
        except (BenchError, httpx.HTTPError) as exc:
            errors[f"{step}: {type(exc).__name__}: {str(exc)[:100]}"] += 1
            return
        outcomes[i]["status"] = verified["payment"]["status"]
        steps["initiate"].append(t1 - t0)
        steps["sandbox_pay"].append(t2 - t1)
        steps["verify"].append(t3 - t2)
        steps["flow"].append(t3 - t0)
        done_at.append(t3 - started)
        if len(done_at) % max(args.flows // 8, 1) == 0:
            print(
                f"  {len(done_at)}/{args.flows} completed at {t3 - started:.0f} s"
                f" (load {os.getloadavg()[0]:.1f})",
                flush=True,
            )

    async def bounded(i: int) -> None:
        async with limit:
            http = slots.get_nowait()
            try:
                await flow(i, http)
            finally:
                slots.put_nowait(http)

    meter = CpuMeter(stack.pids())
    meter.start()
    load_before = os.getloadavg()[0]
    try:
        await asyncio.gather(*(bounded(i) for i in range(args.flows)))
    finally:
        await close_all(https)
    elapsed = time.perf_counter() - started
    cpu = meter.stop()
    load_after = os.getloadavg()[0]

    print(
        f"  flows done in {elapsed:.1f} s: {len(done_at)} completed, {sum(errors.values())} failed"
        f" {dict(errors)}; 503s honoured {dict(overload)}; draining webhooks ...",
        flush=True,
    )
    # --- audit -----------------------------------------------------------------------------
    assert stack.mongo is not None
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack.mongo.url)
    try:
        webhooks = await drain_webhooks(stack, mongo, args.drain)
        async with httpx.AsyncClient(base_url=stack.sandbox_url or url, timeout=120) as control:
            sandbox = (await control.get("/sandbox/razorpay/_control")).json()["counts"]
        collection = mongo[BENCH_DB]["payment_orders"]
        docs = await collection.find({}, {"status": 1, "gateway_order_id": 1}).to_list(None)
    finally:
        await mongo.close()
    by_status = Counter(str(d["status"]) for d in docs)
    completed = sum(1 for o in outcomes.values() if o.get("status") == "COMPLETED")
    paid_flows = sum(1 for o in outcomes.values() if o.get("paid"))
    gateway_orders = [d.get("gateway_order_id") for d in docs]
    distinct = len({g for g in gateway_orders if g})
    rates = quarters(done_at, elapsed)
    first, last = (rates["by_completions"] or [float("nan")] * 4)[0::3]
    audit = {
        "flows": args.flows,
        "completed": completed,
        "failed_flows": sum(errors.values()),
        "initiated_flows": len(outcomes),
        "paid_flows": paid_flows,
        "payments_in_mongodb": len(docs),
        "payments_by_status": dict(by_status),
        "sandbox_counts": sandbox,
        "distinct_gateway_order_ids": distinct,
        "payments_without_gateway_order": sum(1 for g in gateway_orders if not g),
    }
    checks = {
        "all_flows_completed": completed == args.flows,
        # Per payment: a flow refused before its initiate was admitted made no payment, and
        # all_flows_completed already counts it.
        "one_gateway_order_per_payment": sandbox["orders"] == len(docs) and distinct == len(docs),
        "one_gateway_payment_per_paid_flow": sandbox["payments"] == paid_flows,
        "none_unfinished": set(by_status) == {"COMPLETED"},
        "last_quarter_within_25pct_of_first": last >= 0.75 * first,
        "webhooks_all_delivered_and_processed": webhooks["pending"] == 0
        and webhooks["gave_up"] == 0
        and set(webhooks["webhook_events_by_status"]) <= {"PROCESSED", "IGNORED"},
    }
    return {
        "elapsed_s": round(elapsed, 2),
        "flows_per_s": round(completed / elapsed, 2),
        "flows_per_s_by_quarter": rates,
        "last_over_first_quarter": round(last / first, 3) if first else None,
        "latency": {name: latency_summary(values) for name, values in steps.items() if values},
        "flow_p50_ms": round(percentile(steps["flow"], 50) * 1000, 1),
        "flow_p99_ms": round(percentile(steps["flow"], 99) * 1000, 1),
        "errors": dict(errors),
        "overload_503_honoured": dict(overload),
        "cpu_util": {name: v["util"] for name, v in cpu.items()},
        "cpu_ms_per_flow": {
            name: round(v["cpu_s"] * 1000 / max(completed, 1), 1) for name, v in cpu.items()
        },
        "loadavg_1m": [round(load_before, 2), round(load_after, 2)],
        "webhooks": webhooks,
        "audit": audit,
        "checks": checks,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="300 flows, 60 in flight")
    parser.add_argument("--flows", type=int)
    parser.add_argument("--in-flight", type=int, dest="in_flight")
    parser.add_argument("--timeout", type=float, default=30.0, help="per request (s)")
    parser.add_argument("--drain", type=float, default=120.0, help="wait for webhooks at most (s)")
    parser.add_argument(
        "--instrument",
        action="store_true",
        help="time the API's Mongo, Redis and gateway calls per step (bench._instrument)",
    )
    parser.add_argument(
        "--app-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting of the API and worker (e.g. http_max_in_flight=0), repeatable",
    )
    parser.add_argument(
        "--mongo-option",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a MongoDB URI option of the API and worker (e.g. retryWrites=false), repeatable",
    )
    args = parser.parse_args()
    args.flows = args.flows or (300 if args.quick else 2000)
    args.in_flight = args.in_flight or (60 if args.quick else 250)

    env = environment()
    print(f"{NAME}: {args.flows} flows, {args.in_flight} in flight", flush=True)
    overrides = dict(item.split("=", 1) for item in args.app_env)
    with Stack(NAME) as stack:
        from infra.embedded import free_port

        base = stack.settings_kwargs

        def settings_kwargs(port: int) -> dict[str, Any]:
            kwargs = {**base(port), **overrides}
            for option in args.mongo_option:
                kwargs["mongodb_url"] += "&" + option
            return kwargs

        stack.settings_kwargs = settings_kwargs  # type: ignore[method-assign]
        app_port = free_port()
        stack.start_sandbox(webhook_port=app_port)
        app = stack.start_server("app", port=app_port, instrument=args.instrument)
        stack.start_worker(app)
        result = run(measure(args, stack, url=app.url))
        if args.instrument:
            from bench import _instrument

            stats = httpx.get(f"{app.url}/_bench/stats", timeout=30).json()
            result["where_time_goes"] = {
                label: _instrument.breakdown(stats, label) for label in stats
            }
        env["logs"] = str(stack.log_dir)

    print()
    print(
        table(
            ["step", "n", "p50 ms", "p90 ms", "p99 ms", "max ms"],
            [
                [name, v["n"], v["p50_ms"], v["p90_ms"], v["p99_ms"], v["max_ms"]]
                for name, v in result["latency"].items()
            ],
        )
    )
    audit = result["audit"]
    rates = result["flows_per_s_by_quarter"]
    print(
        f"\n{audit['completed']}/{args.flows} flows COMPLETED in {result['elapsed_s']:.1f} s "
        f"({result['flows_per_s']:.1f} flows/s); flows/s by quarter (completions) "
        f"{rates['by_completions']}, (wall time) {rates['by_wall_time']}; "
        f"last/first {result['last_over_first_quarter']}"
    )
    print(
        f"sandbox orders {audit['sandbox_counts']['orders']}, payments "
        f"{audit['sandbox_counts']['payments']}; payments in MongoDB {audit['payments_in_mongodb']} "
        f"{audit['payments_by_status']}; distinct gateway orders {audit['distinct_gateway_order_ids']}"
    )
    print(f"503s honoured: {result['overload_503_honoured']}; cpu util {result['cpu_util']}")
    print(f"webhooks: {result['webhooks']}")
    print(
        table(
            ["check", "result"],
            [[name, "pass" if ok else "FAIL"] for name, ok in result["checks"].items()],
        )
    )
    for label, parts in result.get("where_time_goes", {}).items():
        print(f"  {label}: {parts}")
    for message, count in sorted(result["errors"].items(), key=lambda kv: -kv[1]):
        print(f"  {count} x {message}")
    path = write_results(
        NAME, {"benchmark": NAME, "environment": env, "parameters": vars(args), **result}
    )
    print(f"written {path}")
    return 0 if all(result["checks"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
