"""Webhook intake: `POST /api/webhooks/razorpay` on the real app vs a bare Starlette endpoint
doing the same verified single insert (bench/webhook_baseline.py), side by side.

Every request is a signed Razorpay `payment.captured` envelope (HMAC-SHA256 of the raw body
with the app's RAZORPAY_WEBHOOK_SECRET in X-Razorpay-Signature) with a unique
X-Razorpay-Event-Id, so every one is a NEW event: verified, inserted under the unique index on
(gateway, gateway_event_id), and (app only) enqueued for the worker. No worker runs here: this
measures intake alone. Before the rounds, one event is sent to each side and the two stored
rows are compared key by key (same document shape, or the comparison is void).

Rounds alternate which target goes first; each target gets the same closed-loop load (default
32 clients for 6 s), and webhook_events is emptied after every window. Caveat: SecantusDB's
insert cost grows with the inserts it has taken (~2-4 ms of its CPU per insert for the first
~7,000, then 20-30 ms), and emptying the collection does not bring it back; from the third
round on both sides are SecantusDB-bound and their ratio is ~1. Compare the early rounds (the
JSON has every round) or run fewer, shorter rounds. Reported per target: req/s,
p50/p99 acknowledgement time (request sent -> answer parsed, as the gateway's client sees it),
server and database CPU ms per request; medians over rounds, the per-round app/bare ratio and
its median, and the p99's headroom under Razorpay's 5 s webhook timeout. A third target,
"bare+enqueue", is the bare endpoint plus the app's own ArqJobQueue enqueue, to show how much
of the gap is the Redis enqueue.

    .venv/bin/python -m bench.webhook_intake [--quick] [--rounds N] [--duration S] [--clients N]
        [--no-enqueue-target]
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import itertools
import json
import statistics
import sys
import time
from typing import Any

from pymongo import AsyncMongoClient

from bench._harness import (
    BENCH_DB,
    CpuMeter,
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

NAME = "webhook_intake"
RAZORPAY_TIMEOUT_S = 5.0
TARGETS = {
    "app": "/api/webhooks/razorpay",
    "bare": "/webhook",
    "bare+enqueue": "/webhook?enqueue=1",
}
LABELS = {
    "app": "app POST /api/webhooks/razorpay",
    "bare": "bare Starlette: verify + insert",
    "bare+enqueue": "bare + arq enqueue (app's queue)",
}


class Envelopes:
    """Signed payment.captured envelopes, each with a fresh event id and payment id, shaped like
    the sandbox's (and Razorpay's) webhook body (~1.1 KB)."""

    def __init__(self, secret: str, tag: str) -> None:
        self.secret = secret.encode()
        self.tag = tag
        self.counter = itertools.count()

    def next(self) -> tuple[bytes, dict[str, str]]:
        n = next(self.counter)
        event_id = f"evt{self.tag}x{n}"
        payment = {
            "id": f"pay{self.tag}x{n}",
            "entity": "payment",
            "amount": 49900,
            "currency": "INR",
            "status": "captured",
            "order_id": f"order{self.tag}x{n}",
            "invoice_id": None,
            "international": False,
            "method": "card",
            "amount_refunded": 0,
            "refund_status": None,
            "captured": True,
            "description": None,
            "card_id": f"card{self.tag}x{n}",
            "bank": None,
            "wallet": None,
            "vpa": None,
            "email": "void@razorpay.com",
            "contact": "+919000090000",
            "customer_id": None,
            "token_id": None,
            "notes": [],
            "fee": 1178,
            "tax": 180,
            "error_code": None,
            "error_description": None,
            "error_source": None,
            "error_step": None,
            "error_reason": None,
            "acquirer_data": {"auth_code": "A1B2C3"},
            "created_at": int(time.time()),
        }
        envelope = {
            "entity": "event",
            "account_id": "acc_Sandbox0Paygrph",
            "event": "payment.captured",
            "contains": ["payment"],
            "payload": {"payment": {"entity": payment}},
            "created_at": int(time.time()),
        }
        body = json.dumps(envelope, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Razorpay-Webhook/v1",
            "X-Razorpay-Signature": hmac.new(self.secret, body, hashlib.sha256).hexdigest(),
            "X-Razorpay-Event-Id": event_id,
        }
        return body, headers


def make_step(target: str, https: list[Any], envelopes: Envelopes) -> Any:
    path = TARGETS[target]

    async def step(index: int, recorder: Recorder) -> None:
        body, headers = envelopes.next()
        started = time.perf_counter()
        response = await https[index].post(path, content=body, headers=headers)
        answer = response.json()
        elapsed = time.perf_counter() - started
        if response.status_code != 200 or answer.get("result") != "new":
            raise RuntimeError(f"{target}: HTTP {response.status_code} {str(answer)[:80]}")
        recorder.record(target, elapsed)

    return step


async def shape_check(stack: Stack, urls: dict[str, str], envelopes: Envelopes) -> dict[str, Any]:
    """One event through each side; the two stored rows must have the same keys and types."""
    ids = {}
    for target in ("app", "bare"):
        body, headers = envelopes.next()
        async with client(urls[target]) as http:
            response = await http.post(TARGETS[target], content=body, headers=headers)
            if response.status_code != 200:
                return {"identical_shape": False, "error": f"{target}: {response.text[:200]}"}
        ids[target] = headers["X-Razorpay-Event-Id"]
    assert stack.mongo is not None
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack.mongo.url, tz_aware=True)
    try:
        events = mongo[BENCH_DB]["webhook_events"]
        rows = {t: await events.find_one({"gateway_event_id": i}) for t, i in ids.items()}
        indexes = await events.index_information()
    finally:
        await mongo.close()

    def shape(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: shape(v) for k, v in sorted(value.items())}
        if isinstance(value, list):
            return [shape(v) for v in value]
        return type(value).__name__

    app_row, bare_row = rows["app"], rows["bare"]
    if app_row is None or bare_row is None:
        return {"identical_shape": False, "error": "a row is missing", "rows": rows}
    differences = []
    for key in sorted(set(app_row) | set(bare_row)):
        if shape(app_row.get(key, "<missing>")) != shape(bare_row.get(key, "<missing>")):
            differences.append(key)
    # values that must be equal, not just the same type (ids differ by construction)
    for key in ("gateway", "event_type", "status", "attempts"):
        if app_row.get(key) != bare_row.get(key):
            differences.append(f"{key} value")
    for key in ("kind", "amount_minor", "currency", "reference", "error_reason"):
        if app_row["event"].get(key) != bare_row["event"].get(key):
            differences.append(f"event.{key} value")
    unique = indexes.get("gateway_event_unique", {})
    return {
        "identical_shape": not differences,
        "differences": differences,
        "keys": sorted(app_row),
        "unique_index": {"key": unique.get("key"), "unique": unique.get("unique")},
    }


async def measure(args: argparse.Namespace, stack: Stack, urls: dict[str, str]) -> dict[str, Any]:
    settings = stack.settings()
    envelopes = Envelopes(settings.razorpay_webhook_secret, run_id())
    shape = await shape_check(stack, urls, envelopes)
    print(
        f"  shape check: {'same document shape' if shape['identical_shape'] else 'MISMATCH'}"
        f" ({len(shape.get('keys', []))} keys; unique index {shape.get('unique_index')})",
        flush=True,
    )
    if not shape["identical_shape"]:
        print(shape, file=sys.stderr)

    targets = ["app", "bare"] + (["bare+enqueue"] if args.enqueue_target else [])
    server_of = {"app": "app", "bare": "bare_webhook", "bare+enqueue": "bare_webhook"}
    pids = stack.pids()
    https = {
        "app": clients(urls["app"], args.clients),
        "bare": clients(urls["bare"], args.clients),
    }
    https["bare+enqueue"] = https["bare"]
    steps = {t: make_step(t, https[t], envelopes) for t in targets}
    rounds: list[dict[str, Any]] = []
    assert stack.mongo is not None
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack.mongo.url)
    events = mongo[BENCH_DB]["webhook_events"]
    try:
        with stage("warm-up"):
            for target in targets:
                await closed_loop(args.clients, steps[target], duration=args.warmup)
            await events.delete_many({})
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
                # Each target starts from the same empty collection. (SecantusDB still slows
                # with the inserts it has taken in total; see the module docstring.)
                await events.delete_many({})
                done = recorder.count(target)
                server = server_of[target]
                this_round[target] = {
                    "completed": done,
                    "req_per_s": round(done / window, 1),
                    **latency_summary(recorder.latencies.get(target, [])),
                    "errors": dict(recorder.errors),
                    "server_cpu_ms_per_req": round(cpu[server]["cpu_s"] / max(done, 1) * 1000, 3),
                    "db_cpu_ms_per_req": round(cpu["secantusdb"]["cpu_s"] / max(done, 1) * 1000, 3),
                    "redis_cpu_ms_per_req": round(cpu["redis"]["cpu_s"] / max(done, 1) * 1000, 3),
                    "cpu_util": {
                        name: v["util"]
                        for name, v in cpu.items()
                        if name in (server, "secantusdb", "redis", "loadgen")
                    },
                }
            this_round["ratio_app_over_bare"] = round(
                this_round["app"]["req_per_s"] / this_round["bare"]["req_per_s"], 3
            )
            rounds.append(this_round)
            print(
                f"  round {r + 1}: "
                + ", ".join(
                    f"{t} {this_round[t]['req_per_s']:.0f} req/s p99 {this_round[t]['p99_ms']:.0f} ms"
                    for t in targets
                )
                + f", ratio {this_round['ratio_app_over_bare']:.3f}",
                flush=True,
            )
    finally:
        await close_all(https["app"] + https["bare"])
        await mongo.close()

    summary: dict[str, Any] = {
        target: {
            "median_req_per_s": round(median([rd[target]["req_per_s"] for rd in rounds]), 1),
            "median_p50_ms": round(median([rd[target]["p50_ms"] for rd in rounds]), 2),
            "median_p99_ms": round(median([rd[target]["p99_ms"] for rd in rounds]), 2),
            "worst_p99_ms": round(max(rd[target]["p99_ms"] for rd in rounds), 2),
            "max_ms": round(max(rd[target]["max_ms"] for rd in rounds), 2),
            "median_server_cpu_ms_per_req": round(
                median([rd[target]["server_cpu_ms_per_req"] for rd in rounds]), 3
            ),
            "median_db_cpu_ms_per_req": round(
                median([rd[target]["db_cpu_ms_per_req"] for rd in rounds]), 3
            ),
            "median_redis_cpu_ms_per_req": round(
                median([rd[target]["redis_cpu_ms_per_req"] for rd in rounds]), 3
            ),
            "requests": sum(rd[target]["completed"] for rd in rounds),
            "errors": sum(sum(rd[target]["errors"].values()) for rd in rounds),
        }
        for target in targets
    }
    ratios = [rd["ratio_app_over_bare"] for rd in rounds]
    app_p99_s = summary["app"]["median_p99_ms"] / 1000
    summary["ratio_app_over_bare"] = {
        "median_of_round_ratios": round(median(ratios), 3),
        "min": min(ratios),
        "max": max(ratios),
        "stdev": round(statistics.stdev(ratios), 3) if len(ratios) > 1 else None,
        "server_cpu_per_req_app_over_bare": round(
            summary["app"]["median_server_cpu_ms_per_req"]
            / summary["bare"]["median_server_cpu_ms_per_req"],
            2,
        ),
    }
    summary["razorpay_timeout"] = {
        "limit_s": RAZORPAY_TIMEOUT_S,
        "app_median_p99_s": round(app_p99_s, 3),
        "app_worst_p99_s": round(summary["app"]["worst_p99_ms"] / 1000, 3),
        "app_max_s": round(summary["app"]["max_ms"] / 1000, 3),
        "headroom_s": round(RAZORPAY_TIMEOUT_S - app_p99_s, 3),
        "limit_over_p99": round(RAZORPAY_TIMEOUT_S / app_p99_s, 1) if app_p99_s else None,
    }
    return {"shape_check": shape, "rounds": rounds, "summary": summary}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="2 rounds of 3 s")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--duration", type=float, help="seconds per target per round")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument(
        "--no-enqueue-target",
        dest="enqueue_target",
        action="store_false",
        help="skip the bare+enqueue target",
    )
    args = parser.parse_args()
    args.rounds = args.rounds or (2 if args.quick else 5)
    args.duration = args.duration or (3.0 if args.quick else 6.0)
    args.warmup = 1.0 if args.quick else 2.0

    env = environment()
    print(
        f"{NAME}: {args.clients} clients, {args.rounds} rounds x {args.duration:g} s per target",
        flush=True,
    )
    with Stack(NAME) as stack:
        app = stack.start_server("app")
        bare = stack.start_server("bare_webhook")
        result = run(measure(args, stack, {"app": app.url, "bare": bare.url}))

    s = result["summary"]
    targets = [t for t in TARGETS if t in s]
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
                "Redis CPU ms/req",
                "errors",
            ],
            [
                [
                    LABELS[t],
                    s[t]["median_req_per_s"],
                    s[t]["median_p50_ms"],
                    s[t]["median_p99_ms"],
                    s[t]["median_server_cpu_ms_per_req"],
                    s[t]["median_db_cpu_ms_per_req"],
                    s[t]["median_redis_cpu_ms_per_req"],
                    s[t]["errors"],
                ]
                for t in targets
            ],
        )
    )
    ratio, limit = s["ratio_app_over_bare"], s["razorpay_timeout"]
    print(
        f"\napp/bare throughput ratio: median {ratio['median_of_round_ratios']:.3f} "
        f"(range {ratio['min']:.3f}-{ratio['max']:.3f} over {args.rounds} rounds); "
        f"server CPU per request app/bare: {ratio['server_cpu_per_req_app_over_bare']:.2f}x"
    )
    print(
        f"Razorpay's {limit['limit_s']:g} s limit: app p99 {limit['app_median_p99_s'] * 1000:.0f} ms "
        f"(median over rounds; worst round {limit['app_worst_p99_s'] * 1000:.0f} ms, max "
        f"{limit['app_max_s'] * 1000:.0f} ms) -> {limit['headroom_s']:.2f} s under the limit, "
        f"{limit['limit_over_p99']}x headroom"
    )
    path = write_results(
        NAME, {"benchmark": NAME, "environment": env, "parameters": vars(args), **result}
    )
    print(f"written {path}")
    ok = result["shape_check"]["identical_shape"] and all(s[t]["errors"] == 0 for t in targets)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
