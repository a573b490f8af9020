"""refundPayment acceptance time: how long an admin waits for the answer (accepted, or
rejected with a UserError), at 20 concurrent admin clients and with a single client; and how
long an accepted refund then takes to be COMPLETED by the worker.

Prepared first, through the real API: completed payments (initiatePayment -> sandbox pay ->
verifyPayment; 499.00 INR each). Each refund is a partial refund (150.00) of a distinct payment,
with its own idempotency key. The answer comes once the amount is reserved and the refund is
queued (PENDING). The real arq worker runs in its own process throughout, sending each refund
to the sandbox and settling it, so the acceptance figures are taken while the settlement work
shares the database and the two cores. The sandbox runs in a process of its own, as the real
gateways are elsewhere (`paygraph sandbox`); it answers refunds `processed` at once (its
default) and its webhooks are dropped (`webhooks: drop`), so the worker's send is what
completes each refund.

Rounds alternate the order of the two phases: "serial" (1 admin client, closed loop) and
"concurrent" (20 admin clients, closed loop), each a fixed number of refunds. After each phase
the benchmark waits until every refund of the phase is COMPLETED (the drain), so a phase does not
inherit the previous one's backlog. Reported per phase: answer p50/p90/p99, refunds/s accepted,
accepted/rejected counts, accepted -> COMPLETED p50/p99 (from each refund's stored timestamps),
the drain time and the end-to-end rate (refunds / (phase + drain)); medians over rounds; the
ratio of the concurrent p99 to the serial p99; and the seed's floor, p99 < 500 ms at 20 clients.

    .venv/bin/python -m bench.refund_accept [--quick] [--rounds N] [--clients N]
        [--per-client N] [--serial N]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import Counter
from typing import Any

from bson import ObjectId
from pymongo import AsyncMongoClient

from bench._harness import (
    BENCH_DB,
    BenchError,
    CpuMeter,
    Shopper,
    Stack,
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
    write_results,
)
from bench._load import Recorder, closed_loop
from infra import embedded

NAME = "refund_accept"
FLOOR_P99_MS = 500.0
REFUND = """
mutation($input: RefundPaymentInput!) {
  refundPayment(input: $input) {
    __typename
    ... on RefundSuccess { refund { id status gatewayRefundId amount { amount currency minor } } }
    ... on UserError { code message }
  }
}"""


async def prepare(url: str, stack: Stack, count: int) -> list[str]:
    """`count` COMPLETED payments through the API (initiate -> pay -> verify)."""
    tag = run_id()
    customers = max(count // 5, 1)
    tokens = {c: stack.token(f"refund-{tag}-{c}") for c in range(customers)}
    done: list[str] = []
    failures: Counter[str] = Counter()
    limit = asyncio.Semaphore(24)
    async with client(url, 24, timeout=120) as http:

        async def one(i: int) -> None:
            cid = i % customers
            shopper = Shopper(
                http, tokens[cid], f"refund-{tag}-{cid}", sandbox_url=stack.sandbox_url or ""
            )
            async with limit:
                try:
                    initiated = await shopper.initiate(f"RF{tag}n{i}")
                    paid = await shopper.pay(initiated["checkout"]["gatewayOrderId"])
                    verified = await shopper.verify(initiated["payment"]["id"], paid)
                except BenchError as exc:
                    failures[str(exc)[:80]] += 1
                    return
            if verified["payment"]["status"] == "COMPLETED":
                done.append(verified["payment"]["id"])

        await asyncio.gather(*(one(i) for i in range(count)))
    for message, n in failures.items():
        print(f"  preparing: {n} x {message}", flush=True)
    return done


def make_step(https: list[Any], token: str, payments: list[str], tag: str) -> Any:
    """Each call takes the next unused payment: every refund is of a distinct payment."""
    headers = {"Authorization": f"Bearer {token}"}
    outcomes: Counter[str] = Counter()
    accepted_ids: list[str] = []

    async def step(index: int, recorder: Recorder) -> None:
        payment_id = payments.pop()
        variables = {
            "input": {
                "paymentId": payment_id,
                "amount": "150.00",
                "reason": "CUSTOMER_REQUEST",
                "idempotencyKey": f"accept{tag}{payment_id}",
            }
        }
        started = time.perf_counter()
        response = await https[index].post(
            "/graphql", json={"query": REFUND, "variables": variables}, headers=headers
        )
        body = response.json()
        elapsed = time.perf_counter() - started
        if response.status_code != 200 or body.get("errors"):
            raise RuntimeError(f"HTTP {response.status_code} {str(body)[:100]}")
        result = body["data"]["refundPayment"]
        if result["__typename"] == "RefundSuccess":
            accepted_ids.append(result["refund"]["id"])
            outcomes[f"accepted {result['refund']['status']}"] += 1
            recorder.record("accepted", elapsed)
        else:
            outcomes[f"rejected {result.get('code')}"] += 1
            recorder.record("rejected", elapsed)
        recorder.record("answer", elapsed)

    step.outcomes = outcomes  # type: ignore[attr-defined]
    step.accepted_ids = accepted_ids  # type: ignore[attr-defined]
    return step


async def drain(db: Any, ids: list[str], within: float = 300.0) -> tuple[float, list[float]]:
    """Wait until the worker has COMPLETED every refund in `ids`; the wait in seconds and each
    refund's accepted -> COMPLETED time (completed_at - created_at, as stored)."""
    object_ids = [ObjectId(i) for i in ids]
    started = time.perf_counter()
    while True:
        done = await db["refunds"].count_documents(
            {"_id": {"$in": object_ids}, "status": "COMPLETED"}
        )
        if done == len(ids):
            break
        if time.perf_counter() - started > within:
            raise BenchError(f"only {done} of {len(ids)} refunds COMPLETED after {within:.0f} s")
        await asyncio.sleep(0.5)  # seldom: the poll shares the database with the worker
    waited = time.perf_counter() - started
    settle = [
        (doc["completed_at"] - doc["created_at"]).total_seconds()
        async for doc in db["refunds"].find(
            {"_id": {"$in": object_ids}}, {"created_at": 1, "completed_at": 1}
        )
    ]
    return waited, settle


async def measure(args: argparse.Namespace, stack: Stack, url: str) -> dict[str, Any]:
    async with client(stack.sandbox_url or url) as http:
        settings = (
            await http.post(
                "/sandbox/razorpay/_control",
                json={"action": "configure", "webhooks": "drop", "refund_mode": "processed"},
            )
        ).json()["settings"]
    print(f"  sandbox settings: {settings}", flush=True)
    per_round = args.serial + args.clients * args.per_client
    needed = args.rounds * per_round + args.warmup
    with stage(f"preparing {needed} completed payments through the API"):
        payments = await prepare(url, stack, needed)
    if len(payments) < needed:
        raise SystemExit(f"only {len(payments)} of {needed} payments completed; see above")
    stack.token("warm")
    admin = stack._tokens.mint("bench-refund-admin", admin=True)
    tag = run_id()
    https = clients(url, args.clients, timeout=120)
    pids = stack.pids()
    assert stack.mongo is not None
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack.mongo.url, tz_aware=True)
    db = mongo[BENCH_DB]
    rounds: list[dict[str, Any]] = []
    try:
        with stage("warm-up"):
            warm = make_step(https, admin, payments, tag)
            await closed_loop(
                min(args.clients, args.warmup),
                warm,
                iterations=max(args.warmup // args.clients, 1),
            )
            await drain(db, warm.accepted_ids)
        phases = {"serial": (1, args.serial), "concurrent": (args.clients, args.per_client)}
        for r in range(args.rounds):
            order = ["serial", "concurrent"] if r % 2 == 0 else ["concurrent", "serial"]
            this_round: dict[str, Any] = {"round": r + 1, "order": order}
            for phase in order:
                n_clients, iterations = phases[phase]
                step = make_step(https, admin, payments, tag)
                meter = CpuMeter(pids)
                meter.start()
                recorder, wall = await closed_loop(n_clients, step, iterations=iterations)
                drained, settle = await drain(db, step.accepted_ids)
                cpu = meter.stop()  # the phase and its drain: all the work of its refunds
                answered = recorder.count("answer")
                this_round[phase] = {
                    "clients": n_clients,
                    "refunds": answered,
                    "refunds_per_s": round(answered / wall, 1),
                    "answer": latency_summary(recorder.latencies.get("answer", [])),
                    "accepted": recorder.count("accepted"),
                    "rejected": recorder.count("rejected"),
                    "outcomes": dict(step.outcomes),
                    "errors": dict(recorder.errors),
                    "accepted_to_completed": latency_summary(settle),
                    "drain_s": round(drained, 2),
                    "end_to_end_refunds_per_s": round(answered / (wall + drained), 1),
                    "app_cpu_ms_per_refund": round(
                        cpu["app"]["cpu_s"] / max(answered, 1) * 1000, 2
                    ),
                    "db_cpu_ms_per_refund": round(
                        cpu["secantusdb"]["cpu_s"] / max(answered, 1) * 1000, 2
                    ),
                    "worker_cpu_ms_per_refund": round(
                        cpu["worker"]["cpu_s"] / max(answered, 1) * 1000, 2
                    ),
                    "cpu_util": {
                        k: v["util"]
                        for k, v in cpu.items()
                        if k in ("app", "worker", "sandbox", "secantusdb", "loadgen")
                    },
                }
            rounds.append(this_round)
            s, c = this_round["serial"], this_round["concurrent"]
            print(
                f"  round {r + 1}: serial p50 {s['answer']['p50_ms']:.0f} p99 "
                f"{s['answer']['p99_ms']:.0f} ms; {args.clients} clients p50 "
                f"{c['answer']['p50_ms']:.0f} p99 {c['answer']['p99_ms']:.0f} ms, "
                f"{c['refunds_per_s']:.1f} refunds/s; outcomes {c['outcomes']}",
                flush=True,
            )
    finally:
        await close_all(https)
        await mongo.close()

    summary: dict[str, Any] = {}
    for phase in ("serial", "concurrent"):
        summary[phase] = {
            "clients": rounds[0][phase]["clients"],
            "median_p50_ms": round(median([rd[phase]["answer"]["p50_ms"] for rd in rounds]), 1),
            "median_p90_ms": round(median([rd[phase]["answer"]["p90_ms"] for rd in rounds]), 1),
            "median_p99_ms": round(median([rd[phase]["answer"]["p99_ms"] for rd in rounds]), 1),
            "worst_p99_ms": round(max(rd[phase]["answer"]["p99_ms"] for rd in rounds), 1),
            "median_refunds_per_s": round(median([rd[phase]["refunds_per_s"] for rd in rounds]), 1),
            "median_app_cpu_ms_per_refund": round(
                median([rd[phase]["app_cpu_ms_per_refund"] for rd in rounds]), 2
            ),
            "median_db_cpu_ms_per_refund": round(
                median([rd[phase]["db_cpu_ms_per_refund"] for rd in rounds]), 2
            ),
            "median_worker_cpu_ms_per_refund": round(
                median([rd[phase]["worker_cpu_ms_per_refund"] for rd in rounds]), 2
            ),
            "median_completed_p50_ms": round(
                median([rd[phase]["accepted_to_completed"]["p50_ms"] for rd in rounds]), 1
            ),
            "median_completed_p99_ms": round(
                median([rd[phase]["accepted_to_completed"]["p99_ms"] for rd in rounds]), 1
            ),
            "median_drain_s": round(median([rd[phase]["drain_s"] for rd in rounds]), 2),
            "median_end_to_end_refunds_per_s": round(
                median([rd[phase]["end_to_end_refunds_per_s"] for rd in rounds]), 1
            ),
            "accepted": sum(rd[phase]["accepted"] for rd in rounds),
            "rejected": sum(rd[phase]["rejected"] for rd in rounds),
            "errors": sum(sum(rd[phase]["errors"].values()) for rd in rounds),
        }
    ratios = [
        rd["concurrent"]["answer"]["p99_ms"] / rd["serial"]["answer"]["p99_ms"] for rd in rounds
    ]
    summary["p99_concurrent_over_serial"] = {
        "median_of_round_ratios": round(median(ratios), 2),
        "min": round(min(ratios), 2),
        "max": round(max(ratios), 2),
    }
    summary["floor"] = {
        "p99_ms_floor": FLOOR_P99_MS,
        "concurrent_median_p99_ms": summary["concurrent"]["median_p99_ms"],
        "met": summary["concurrent"]["median_p99_ms"] < FLOOR_P99_MS,
        "met_in_every_round": all(
            rd["concurrent"]["answer"]["p99_ms"] < FLOOR_P99_MS for rd in rounds
        ),
    }
    return {"sandbox_settings": settings, "rounds": rounds, "summary": summary}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="2 rounds, 5 refunds per client")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--per-client", type=int, help="refunds per concurrent client per round")
    parser.add_argument("--serial", type=int, help="refunds by the single client per round")
    args = parser.parse_args()
    args.rounds = args.rounds or (2 if args.quick else 3)
    args.per_client = args.per_client or (5 if args.quick else 10)
    args.serial = args.serial or (15 if args.quick else 40)
    args.warmup = args.clients

    env = environment()
    print(
        f"{NAME}: {args.rounds} rounds; serial {args.serial} refunds, then {args.clients} clients "
        f"x {args.per_client} refunds (alternating order)",
        flush=True,
    )
    with Stack(NAME) as stack:
        app_port = embedded.free_port()
        stack.start_sandbox(webhook_port=app_port)
        app = stack.start_server("app", port=app_port)
        stack.start_worker(app)
        result = run(measure(args, stack, app.url))

    s = result["summary"]
    print()
    print(
        table(
            [
                "admin clients",
                "p50 ms",
                "p90 ms",
                "p99 ms (median)",
                "worst p99",
                "refunds/s",
                "-> COMPLETED p50/p99 ms",
                "end-to-end/s",
                "CPU ms/refund app/worker/db",
                "accepted",
                "rejected",
                "errors",
            ],
            [
                [
                    s[p]["clients"],
                    s[p]["median_p50_ms"],
                    s[p]["median_p90_ms"],
                    s[p]["median_p99_ms"],
                    s[p]["worst_p99_ms"],
                    s[p]["median_refunds_per_s"],
                    f"{s[p]['median_completed_p50_ms']:.0f} / {s[p]['median_completed_p99_ms']:.0f}",
                    s[p]["median_end_to_end_refunds_per_s"],
                    f"{s[p]['median_app_cpu_ms_per_refund']:.1f} / "
                    f"{s[p]['median_worker_cpu_ms_per_refund']:.1f} / "
                    f"{s[p]['median_db_cpu_ms_per_refund']:.1f}",
                    s[p]["accepted"],
                    s[p]["rejected"],
                    s[p]["errors"],
                ]
                for p in ("serial", "concurrent")
            ],
        )
    )
    floor = s["floor"]
    print(
        f"\np99 at {args.clients} clients / p99 at 1 client: median "
        f"{s['p99_concurrent_over_serial']['median_of_round_ratios']}x; floor p99 < "
        f"{FLOOR_P99_MS:.0f} ms at {args.clients} clients: "
        f"{'MET' if floor['met'] else 'NOT MET'} (median p99 {floor['concurrent_median_p99_ms']:.0f} ms"
        f"{'' if floor['met_in_every_round'] else '; not in every round'})"
    )
    path = write_results(
        NAME, {"benchmark": NAME, "environment": env, "parameters": vars(args), **result}
    )
    print(f"written {path}")
    ok = all(s[p]["errors"] == 0 and s[p]["rejected"] == 0 for p in ("serial", "concurrent"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
