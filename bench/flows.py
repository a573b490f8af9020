"""1000 concurrent checkout flows: initiatePayment -> sandbox pay -> verifyPayment, then an audit.

All flows start at once (--concurrency N bounds how many run at a time with a semaphore; the
default is no bound: every flow is in flight together). Each flow has its own HTTP connection;
customers are shared 5 flows each (different orders). The audit afterwards checks:
  - every flow's verifyPayment answered COMPLETED
  - no duplicate gateway orders: the sandbox's counts.orders == payments in MongoDB == flows,
    and gateway_order_id is distinct across payments
  - no payment lost or stuck: payment_orders counted by status in MongoDB, every payment an
    initiate answered for is present (and nothing else), and all of them are COMPLETED

    .venv/bin/python -m bench.flows [--quick] [--flows N] [--concurrency N]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import Counter
from typing import Any

import httpx
from bson import ObjectId
from pymongo import AsyncMongoClient

from bench._harness import (
    BENCH_DB,
    CpuMeter,
    Shopper,
    Stack,
    clients,
    close_all,
    environment,
    latency_summary,
    run,
    run_id,
    table,
    write_results,
)

NAME = "flows"


async def measure(args: argparse.Namespace, stack: Stack, url: str) -> dict[str, Any]:
    tag = run_id()
    https = clients(url, args.flows, timeout=300)
    tokens = {c: stack.token(f"flow-{tag}-{c}") for c in range(max(args.flows // 5, 1))}
    limit = asyncio.Semaphore(args.concurrency) if args.concurrency else None
    latencies: dict[str, list[float]] = {
        "initiate": [],
        "sandbox_pay": [],
        "verify": [],
        "flow": [],
    }
    outcomes: dict[int, dict[str, Any]] = {}
    errors: Counter[str] = Counter()

    async def flow(i: int) -> None:
        customer = i % len(tokens)
        shopper = Shopper(
            https[i],
            tokens[customer],
            f"flow-{tag}-{customer}",
            sandbox_url=stack.sandbox_url or "",
        )
        started = time.perf_counter()
        step = "initiate"
        try:
            initiated = await shopper.initiate(f"F{tag}n{i}")
            outcomes[i] = {"payment_id": initiated["payment"]["id"]}
            t1 = time.perf_counter()
            step = "sandbox_pay"
            paid = await shopper.pay(initiated["checkout"]["gatewayOrderId"])
            outcomes[i]["paid"] = True
            t2 = time.perf_counter()
            step = "verify"
            verified = await shopper.verify(initiated["payment"]["id"], paid)
            t3 = time.perf_counter()
        except Exception as exc:
            errors[f"{step}: {type(exc).__name__}: {str(exc)[:100]}"] += 1
            return
        outcomes[i]["status"] = verified["payment"]["status"]
        latencies["initiate"].append(t1 - started)
        latencies["sandbox_pay"].append(t2 - t1)
        latencies["verify"].append(t3 - t2)
        latencies["flow"].append(t3 - started)

    async def bounded(i: int) -> None:
        if limit is None:
            await flow(i)
            return
        async with limit:
            await flow(i)

    meter = CpuMeter(stack.pids())
    meter.start()
    started = time.perf_counter()
    try:
        await asyncio.gather(*(bounded(i) for i in range(args.flows)))
    finally:
        await close_all(https)
    elapsed = time.perf_counter() - started
    cpu = meter.stop()

    # --- audit -----------------------------------------------------------------------------
    async with httpx.AsyncClient(base_url=stack.sandbox_url or url) as control:
        sandbox = (await control.get("/sandbox/razorpay/_control")).json()["counts"]
    assert stack.mongo is not None
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack.mongo.url)
    try:
        collection = mongo[BENCH_DB]["payment_orders"]
        by_status = {
            row["_id"]: row["n"]
            async for row in await collection.aggregate(
                [{"$group": {"_id": "$status", "n": {"$sum": 1}}}]
            )
        }
        docs = await collection.find(
            {}, {"status": 1, "gateway_order_id": 1, "order_id": 1}
        ).to_list(None)
    finally:
        await mongo.close()
    stored = {str(d["_id"]): d for d in docs}
    flow_ids = {o["payment_id"] for o in outcomes.values() if "payment_id" in o}
    verified_completed = sum(1 for o in outcomes.values() if o.get("status") == "COMPLETED")
    gateway_orders = [d.get("gateway_order_id") for d in docs]
    audit = {
        "flows": args.flows,
        "verified_completed": verified_completed,
        "failed_flows": sum(errors.values()),
        "payments_in_mongodb": len(docs),
        "payments_by_status": by_status,
        "sandbox_counts": sandbox,
        "distinct_gateway_order_ids": len({g for g in gateway_orders if g}),
        "payments_without_gateway_order": sum(1 for g in gateway_orders if not g),
        "flow_payments_missing_from_mongodb": len(flow_ids - set(stored)),
        "flow_payments_not_completed_in_mongodb": sum(
            1 for pid in flow_ids if pid in stored and stored[pid]["status"] != "COMPLETED"
        ),
        "unexpected_payments": len(set(stored) - flow_ids),
    }
    paid_flows = sum(1 for o in outcomes.values() if o.get("paid"))
    audit["initiated_flows"] = len(flow_ids)
    audit["paid_flows"] = paid_flows
    checks = {
        "all_flows_completed": verified_completed == args.flows,
        # a duplicate would show as more gateway orders than payments, or a shared order id
        "no_duplicate_gateway_orders": sandbox["orders"] == len(docs)
        and audit["distinct_gateway_order_ids"] == len(docs),
        "one_gateway_payment_per_paid_flow": sandbox["payments"] == paid_flows,
        # every payment an initiate answered for is stored, and nothing else is
        "none_lost": audit["flow_payments_missing_from_mongodb"] == 0
        and audit["unexpected_payments"] == 0,
        "none_stuck": set(by_status) == {"COMPLETED"},
    }
    assert all(ObjectId.is_valid(pid) for pid in flow_ids)
    return {
        "elapsed_s": round(elapsed, 2),
        "flows_per_s": round(verified_completed / elapsed, 1),
        "latency": {name: latency_summary(values) for name, values in latencies.items() if values},
        "errors": dict(errors),
        "cpu_util": {name: v["util"] for name, v in cpu.items()},
        "audit": audit,
        "checks": checks,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="200 flows")
    parser.add_argument("--flows", type=int)
    parser.add_argument(
        "--in-process-sandbox",
        dest="sandbox_process",
        action="store_false",
        help="mount the sandboxes inside the app (as `paygraph dev` does) instead of their own process",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=0,
        help="at most N flows in flight (default 0: no bound, all at once)",
    )
    args = parser.parse_args()
    args.flows = args.flows or (200 if args.quick else 1000)

    env = environment()
    bound = (
        f"at most {args.concurrency} at a time" if args.concurrency else "all at once, no semaphore"
    )
    print(f"{NAME}: {args.flows} flows, {bound}", flush=True)
    with Stack(NAME) as stack:
        if args.sandbox_process:
            # The gateways in a process of their own, as real gateways are: under 1000
            # concurrent flows a sandbox inside the app's own event loop starves and times out.
            from infra.embedded import free_port

            app_port = free_port()
            stack.start_sandbox(webhook_port=app_port)
            app = stack.start_server("app", port=app_port)
        else:
            app = stack.start_server("app")
        result = run(measure(args, stack, url=app.url))

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
    print(
        f"\n{audit['verified_completed']}/{args.flows} flows COMPLETED in {result['elapsed_s']:.1f} s "
        f"({result['flows_per_s']:.1f} flows/s); sandbox orders {audit['sandbox_counts']['orders']}, "
        f"sandbox payments {audit['sandbox_counts']['payments']}, payments in MongoDB "
        f"{audit['payments_in_mongodb']} by status {audit['payments_by_status']}"
    )
    print(
        f"failed flows: {audit['failed_flows']} (initiated {audit['initiated_flows']}, paid {audit['paid_flows']})"
    )
    print(
        table(
            ["check", "result"],
            [[name, "pass" if ok else "FAIL"] for name, ok in result["checks"].items()],
        )
    )
    for message, count in result["errors"].items():
        print(f"  {count} x {message}")
    path = write_results(
        NAME, {"benchmark": NAME, "environment": env, "parameters": vars(args), **result}
    )
    print(f"written {path}")
    return 0 if all(result["checks"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
