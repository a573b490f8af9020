"""`payment(id)` through GraphQL vs the same read through a bare Starlette endpoint.

Both servers run side by side (separate processes, one uvicorn worker each) on the same
SecantusDB database, seeded through the real API (initiatePayment, half of them paid and
verified so their timelines differ). Rounds alternate which server goes first; in each round each
target gets the same closed-loop load (default 32 clients for 6 s). A third target, the GraphQL
`viewer` query (token check, no database), separates the fixed GraphQL cost from the read.

Reported: req/s, p50/p99 per target per round; medians over rounds; the ratio GraphQL/bare per
round and its median; server and database CPU milliseconds per request (from /proc), which are
less sensitive to the machine's noise than req/s.

    .venv/bin/python -m bench.payment_read [--quick] [--rounds N] [--duration S] [--clients N]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import sys
from typing import Any

from bench._harness import (
    PAYMENT,
    RESULTS,
    BenchError,
    CpuMeter,
    Shopper,
    Stack,
    add_what_if_argument,
    client,
    clients,
    close_all,
    environment,
    latency_summary,
    median,
    run,
    run_id,
    stage,
    table,
    what_if_list,
    write_results,
)
from bench._load import Recorder, closed_loop

NAME = "payment_read"
VIEWER = "{ viewer { customerId roles } }"


async def seed(app_url: str, stack: Stack, payments: int, customers: int) -> dict[str, list[str]]:
    """Create `payments` payments through the API, pay and verify every other one."""
    tag = run_id()
    by_customer: dict[str, list[str]] = {f"read-{tag}-{c}": [] for c in range(customers)}
    tokens = {cid: stack.token(cid) for cid in by_customer}
    limit = asyncio.Semaphore(16)
    async with client(app_url, 32) as http:

        async def one(i: int) -> None:
            cid = f"read-{tag}-{i % customers}"
            shopper = Shopper(http, tokens[cid], cid)
            async with limit:
                initiated = await shopper.initiate(f"R{tag}n{i}")
                payment_id = initiated["payment"]["id"]
                if i % 2 == 0:
                    paid = await shopper.pay(initiated["checkout"]["gatewayOrderId"])
                    try:
                        await shopper.verify(payment_id, paid)
                    except (
                        BenchError
                    ) as exc:  # e.g. the PAN guard's false positives: still readable
                        print(
                            f"  seeding: verify refused ({exc}); the payment stays INITIATED",
                            flush=True,
                        )
            by_customer[cid].append(payment_id)

        await asyncio.gather(*(one(i) for i in range(payments)))
    return by_customer


async def shape_check(
    app_url: str, bare_url: str, stack: Stack, ids: dict[str, list[str]]
) -> dict[str, Any]:
    """The bare endpoint must answer exactly what GraphQL answers, or the comparison is void."""
    checked = 0
    async with client(app_url, 4) as app_http, client(bare_url, 4) as bare_http:
        for cid, payment_ids in ids.items():
            headers = {"Authorization": f"Bearer {stack.token(cid)}"}
            for pid in payment_ids[:3]:
                via_graphql = (
                    await app_http.post(
                        "/graphql",
                        json={"query": PAYMENT, "variables": {"id": pid}},
                        headers=headers,
                    )
                ).json()
                via_bare = (
                    await bare_http.post("/payment", json={"id": pid}, headers=headers)
                ).json()
                if via_graphql != via_bare:
                    return {"identical": False, "graphql": via_graphql, "bare": via_bare}
                checked += 1
    return {"identical": True, "documents_compared": checked}


def make_step(target: str, https: list[Any], ids: dict[str, list[str]], stack: Stack) -> Any:
    customers = list(ids)
    headers = [{"Authorization": f"Bearer {stack.token(cid)}"} for cid in customers]
    cycles = {}

    async def step(index: int, recorder: Recorder) -> None:
        slot = index % len(customers)
        if index not in cycles:
            cycles[index] = itertools.cycle(
                ids[customers[slot]][index // len(customers) :] + ids[customers[slot]]
            )
        pid = next(cycles[index])
        http = https[index]
        started = asyncio.get_running_loop().time()
        if target == "bare":
            response = await http.post("/payment", json={"id": pid}, headers=headers[slot])
        elif target == "graphql":
            response = await http.post(
                "/graphql", json={"query": PAYMENT, "variables": {"id": pid}}, headers=headers[slot]
            )
        else:
            response = await http.post(
                "/graphql", json={"query": VIEWER, "variables": {}}, headers=headers[slot]
            )
        body = response.json()
        elapsed = asyncio.get_running_loop().time() - started
        if response.status_code != 200 or body.get("errors") or body.get("data") is None:
            raise RuntimeError(f"{target}: HTTP {response.status_code} {str(body)[:80]}")
        if target != "viewer" and body["data"]["payment"]["id"] != pid:
            raise RuntimeError(f"{target}: wrong payment")
        recorder.record(target, elapsed)

    return step


async def measure(args: argparse.Namespace, stack: Stack) -> dict[str, Any]:
    app = stack.servers[0]
    bare = stack.servers[1]
    with stage(f"seeding {args.payments} payments through the API"):
        ids = await seed(app.url, stack, args.payments, args.customers)
    shape = await shape_check(app.url, bare.url, stack, ids)
    print(f"  shape check: {'identical JSON' if shape['identical'] else 'MISMATCH'}", flush=True)
    if not shape["identical"]:
        print(shape, file=sys.stderr)

    targets = ["graphql", "bare"] + (["viewer"] if args.viewer else [])
    pids = stack.pids()
    server_pid = {"graphql": "app", "viewer": "app", "bare": "bare"}
    rounds: list[dict[str, Any]] = []
    app_https, bare_https = clients(app.url, args.clients), clients(bare.url, args.clients)
    https = {"graphql": app_https, "viewer": app_https, "bare": bare_https}
    steps = {t: make_step(t, https[t], ids, stack) for t in targets}
    try:
        with stage("warm-up"):
            for target in targets:
                await closed_loop(args.clients, steps[target], duration=args.warmup)
        for r in range(args.rounds):
            order = targets if r % 2 == 0 else targets[::-1]
            this_round: dict[str, Any] = {"round": r + 1, "order": order}
            for target in order:
                meter = CpuMeter(pids)
                meter.start()
                recorder, window = await closed_loop(
                    args.clients, steps[target], duration=args.duration
                )
                cpu = meter.stop()
                done = recorder.count(target)
                this_round[target] = {
                    "completed": done,
                    "req_per_s": round(done / window, 1),
                    **latency_summary(recorder.latencies.get(target, [])),
                    "errors": dict(recorder.errors),
                    "server_cpu_ms_per_req": round(
                        cpu[server_pid[target]]["cpu_s"] / max(done, 1) * 1000, 3
                    ),
                    "db_cpu_ms_per_req": round(cpu["secantusdb"]["cpu_s"] / max(done, 1) * 1000, 3),
                    "cpu_util": {
                        name: v["util"]
                        for name, v in cpu.items()
                        if name in (server_pid[target], "secantusdb", "loadgen")
                    },
                }
            this_round["ratio_graphql_over_bare"] = round(
                this_round["graphql"]["req_per_s"] / this_round["bare"]["req_per_s"], 3
            )
            rounds.append(this_round)
            print(
                f"  round {r + 1}: "
                + ", ".join(f"{t} {this_round[t]['req_per_s']:.0f} req/s" for t in targets)
                + f", ratio {this_round['ratio_graphql_over_bare']:.3f}",
                flush=True,
            )
    finally:
        await close_all(app_https + bare_https)

    summary = {
        target: {
            "median_req_per_s": round(median([rd[target]["req_per_s"] for rd in rounds]), 1),
            "median_p50_ms": round(median([rd[target]["p50_ms"] for rd in rounds]), 2),
            "median_p99_ms": round(median([rd[target]["p99_ms"] for rd in rounds]), 2),
            "median_server_cpu_ms_per_req": round(
                median([rd[target]["server_cpu_ms_per_req"] for rd in rounds]), 3
            ),
            "median_db_cpu_ms_per_req": round(
                median([rd[target]["db_cpu_ms_per_req"] for rd in rounds]), 3
            ),
            "errors": sum(sum(rd[target]["errors"].values()) for rd in rounds),
        }
        for target in targets
    }
    ratios = [rd["ratio_graphql_over_bare"] for rd in rounds]
    summary["ratio_graphql_over_bare"] = {
        "median_of_round_ratios": round(median(ratios), 3),
        "min": min(ratios),
        "max": max(ratios),
        "stdev": round(statistics.stdev(ratios), 3) if len(ratios) > 1 else None,
        "server_cpu_per_req_graphql_over_bare": round(
            summary["graphql"]["median_server_cpu_ms_per_req"]
            / summary["bare"]["median_server_cpu_ms_per_req"],
            2,
        ),
    }
    return {"shape_check": shape, "rounds": rounds, "summary": summary}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="2 rounds of 3 s, 60 payments")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--duration", type=float, help="seconds per target per round")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--payments", type=int)
    parser.add_argument("--customers", type=int, default=8)
    parser.add_argument(
        "--profile",
        action="store_true",
        help="run the app server under cProfile (slows it: figures are then not comparable); "
        "writes bench/results/payment_read.app.prof(.txt)",
    )
    parser.add_argument(
        "--no-viewer", dest="viewer", action="store_false", help="skip the viewer target"
    )
    add_what_if_argument(parser)
    args = parser.parse_args()
    args.what_if = what_if_list(args.what_if)
    args.rounds = args.rounds or (2 if args.quick else 5)
    args.duration = args.duration or (3.0 if args.quick else 6.0)
    args.payments = args.payments or (60 if args.quick else 200)
    args.warmup = 1.0 if args.quick else 2.0

    env = environment()
    if args.what_if:
        print(f"WHAT-IF run: patched in the app server process: {', '.join(args.what_if)}")
    print(
        f"{NAME}: {args.clients} clients, {args.rounds} rounds x {args.duration:g} s per target",
        flush=True,
    )
    with Stack(NAME) as stack:
        profile = RESULTS / f"{NAME}.app.prof" if args.profile else None
        if profile:
            RESULTS.mkdir(parents=True, exist_ok=True)
        stack.start_server("app", profile=profile, what_if=args.what_if)
        stack.start_server("bare")
        result = run(measure(args, stack))

    s = result["summary"]
    targets = [t for t in ("graphql", "bare", "viewer") if t in s]
    print()
    print(
        table(
            [
                "target",
                "req/s (median)",
                "p50 ms",
                "p99 ms",
                "server CPU ms/req",
                "DB CPU ms/req",
                "errors",
            ],
            [
                [
                    {
                        "graphql": "GraphQL payment(id)",
                        "bare": "bare Starlette read",
                        "viewer": "GraphQL viewer (no DB)",
                    }[t],
                    s[t]["median_req_per_s"],
                    s[t]["median_p50_ms"],
                    s[t]["median_p99_ms"],
                    s[t]["median_server_cpu_ms_per_req"],
                    s[t]["median_db_cpu_ms_per_req"],
                    s[t]["errors"],
                ]
                for t in targets
            ],
        )
    )
    ratio = s["ratio_graphql_over_bare"]
    print(
        f"\nGraphQL/bare throughput ratio: median {ratio['median_of_round_ratios']:.3f} "
        f"(range {ratio['min']:.3f}-{ratio['max']:.3f} over {args.rounds} rounds); "
        f"server CPU per request GraphQL/bare: {ratio['server_cpu_per_req_graphql_over_bare']:.2f}x"
    )
    path = write_results(
        NAME,
        {"benchmark": NAME, "environment": env, "parameters": vars(args), **result},
        args.what_if,
        profiled=args.profile,
    )
    print(f"written {path}")
    return 0 if result["shape_check"]["identical"] else 1


if __name__ == "__main__":
    sys.exit(main())
