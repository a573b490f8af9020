"""Subscription fan-out (issue 16 item 5): many open `paymentStatusChanged` subscriptions on one
API process, status changes made through the API, and how long each subscriber waits for them.

One stack: SecantusDB and Redis, the real app and the bare baseline (bench/baseline_fanout.py,
a Starlette WebSocket endpoint speaking the minimal graphql-transport-ws) each in its own process.
Payments are created through the app's API (initiatePayment); each status change is a
`cancelPayment` through the app's API, whichever server the subscribers are on (both listen on
the channel the app publishes on). The subscribers are real graphql-transport-ws clients
(`websockets`, one connection and one subscription each) in this process.

For each target (app, then bare; same payments count, fresh payments):
- steady: N payments with one subscriber each; after the subscriptions are open, an idle window
  (one heartbeat interval: what open subscriptions cost with nothing happening), then
  cancelPayment on --changes of them at a steady --rate (10/s by default: below what the API
  carries here with no subscriber, so the figure is the fan-out, not a mutation backlog), all
  N subscriptions staying open.
- burst: N subscribers on a few payments (N / --per-payment), all cancelled at once.

Measured per subscriber: the delay from the change's commit (the payment's `updatedAt`, set by
the writing process in the same write, same machine clock) to the arrival of the `next` that
shows it (`time.time()` when the client read it), p50/p99/max, and how many arrived (must be
all). Memory per subscription: the server process's RSS (/proc/PID/status VmRSS) after the
subscriptions opened minus before, over N. Redis connections: `INFO clients` before and after.

    .venv/bin/python -m bench.subscription_fanout [--quick] [--subs N] [--changes N] [--rate R]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import websockets
from redis.asyncio import Redis
from websockets.typing import Subprotocol

from bench._harness import (
    CpuMeter,
    ServerProcess,
    Shopper,
    Stack,
    clients,
    close_all,
    environment,
    latency_summary,
    run,
    run_id,
    stage,
    table,
    write_results,
)

NAME = "subscription_fanout"
PROTOCOL = Subprotocol("graphql-transport-ws")
FIELDS = "id orderId status version attemptCount amount { amount currency minor } updatedAt"
SUBSCRIBE = "subscription($id: ID!) { paymentStatusChanged(paymentId: $id) { %s } }" % FIELDS
CANCEL = """
mutation($id: ID!) {
  cancelPayment(id: $id) {
    __typename
    ... on PaymentSuccess { payment { id status version updatedAt } }
    ... on UserError { code message }
  }
}"""
CUSTOMERS = 20


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


@dataclass
class Subscriber:
    payment_id: str
    ws: Any = None
    initial: dict[str, Any] | None = None
    arrived: float | None = None  # time.time() when the CANCELLED `next` was read
    committed: float | None = None  # its updatedAt
    completed: bool = False
    error: str | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)


async def subscribe(url: str, token: str, sub: Subscriber) -> None:
    sub.ws = await websockets.connect(
        url, subprotocols=[PROTOCOL], open_timeout=60, ping_interval=None
    )
    auth = {"Authorization": f"Bearer {token}"}
    await sub.ws.send(json.dumps({"type": "connection_init", "payload": auth}))
    ack = json.loads(await sub.ws.recv())
    if ack.get("type") != "connection_ack":
        raise RuntimeError(f"no connection_ack: {ack}")
    payload = {"query": SUBSCRIBE, "variables": {"id": sub.payment_id}}
    await sub.ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
    first = json.loads(await sub.ws.recv())
    if first.get("type") != "next" or "errors" in first["payload"]:
        raise RuntimeError(f"first message: {str(first)[:200]}")
    sub.initial = first["payload"]["data"]["paymentStatusChanged"]


async def read_until_complete(sub: Subscriber) -> None:
    try:
        while True:
            raw = await sub.ws.recv()
            now = time.time()
            message = json.loads(raw)
            if message["type"] == "complete":
                sub.completed = True
                return
            if message["type"] != "next" or "errors" in message["payload"]:
                sub.error = str(message)[:200]
                return
            data = message["payload"]["data"]["paymentStatusChanged"]
            if data["status"] == "CANCELLED" and sub.arrived is None:
                sub.arrived = now
                sub.committed = datetime.fromisoformat(data["updatedAt"]).timestamp()
    except websockets.ConnectionClosed as exc:
        sub.error = sub.error or f"closed {exc.rcvd.code if exc.rcvd else ''}"
    finally:
        sub.done.set()


async def open_all(url: str, subs: list[tuple[Subscriber, str]], concurrency: int) -> float:
    limit = asyncio.Semaphore(concurrency)

    async def one(sub: Subscriber, token: str) -> None:
        async with limit:
            await subscribe(url, token, sub)

    started = time.perf_counter()
    await asyncio.gather(*(one(sub, token) for sub, token in subs))
    return time.perf_counter() - started


async def close_subs(subs: list[Subscriber]) -> None:
    async def close(sub: Subscriber) -> None:
        if sub.ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(sub.ws.close(), 5)

    await asyncio.gather(*(close(sub) for sub in subs))


async def redis_clients(redis: Redis) -> int:
    info = await redis.info("clients")
    return int(info["connected_clients"])


@dataclass
class Bench:
    args: argparse.Namespace
    stack: Stack
    app: ServerProcess
    bare: ServerProcess
    redis: Redis
    shoppers: list[Shopper]
    tag: str
    made: int = 0

    async def payments(self, count: int) -> list[tuple[str, int]]:
        """`count` new INITIATED payments: (payment id, index of its customer's shopper)."""
        limit = asyncio.Semaphore(len(self.shoppers))

        async def one(n: int) -> tuple[str, int]:
            who = n % len(self.shoppers)
            async with limit:
                made = await self.shoppers[who].initiate(f"fan{self.tag}x{n}y")
            return str(made["payment"]["id"]), who

        start, self.made = self.made, self.made + count
        return list(await asyncio.gather(*(one(n) for n in range(start, start + count))))

    async def cancel(self, payment_id: str, who: int) -> float:
        data = await self.shoppers[who].graphql(CANCEL, {"id": payment_id}, "cancel")
        result = data["cancelPayment"]
        if result["__typename"] != "PaymentSuccess":
            raise RuntimeError(f"cancel: {result}")
        return time.time()

    def ws_url(self, server: ServerProcess) -> str:
        return server.url.replace("http://", "ws://") + "/graphql"

    async def scenario(
        self,
        server: ServerProcess,
        payments: list[tuple[str, int]],
        per_payment: int,
        *,
        steady: bool,
    ) -> dict[str, Any]:
        tokens = [shopper.token for shopper in self.shoppers]
        pairs = [
            (Subscriber(pid), tokens[who]) for pid, who in payments for _ in range(per_payment)
        ]
        subs = [sub for sub, _ in pairs]
        rss_before, redis_before = rss_kib(server.pid), await redis_clients(self.redis)
        opened_s = await open_all(self.ws_url(server), pairs, self.args.open_concurrency)
        readers = [asyncio.create_task(read_until_complete(sub)) for sub in subs]
        await asyncio.sleep(1.0)
        rss_after, redis_after = rss_kib(server.pid), await redis_clients(self.redis)
        result: dict[str, Any] = {
            "subscriptions": len(subs),
            "payments": len(payments),
            "open_s": round(opened_s, 2),
            "rss_before_mib": round(rss_before / 1024, 1),
            "rss_after_mib": round(rss_after / 1024, 1),
            "rss_per_subscription_kib": round((rss_after - rss_before) / len(subs), 1),
            "redis_clients_before": redis_before,
            "redis_clients_after": redis_after,
            "redis_connections_per_subscription": round(
                (redis_after - redis_before) / len(subs), 3
            ),
        }
        pids = {server.kind: server.pid, **self.stack.pids()}
        if steady and self.args.idle > 0:
            meter = CpuMeter({k: pids[k] for k in (server.kind, "secantusdb", "redis")})
            meter.start()
            await asyncio.sleep(self.args.idle)
            result["idle_cpu"] = {k: v["util"] for k, v in meter.stop().items()}
        meter = CpuMeter({k: pids[k] for k in ("app", "bare_fanout", "secantusdb", "redis")})
        meter.start()
        changes_started = time.perf_counter()
        answered: dict[str, float] = {}

        async def change(index: int, payment_id: str, who: int) -> None:
            if steady:
                await asyncio.sleep(index / self.args.rate)
            answered[payment_id] = await self.cancel(payment_id, who)

        changed = payments[: self.args.changes] if steady else payments
        await asyncio.gather(*(change(i, pid, who) for i, (pid, who) in enumerate(changed)))
        changes_s = time.perf_counter() - changes_started
        told = {pid for pid, _ in changed}
        expected = [sub for sub in subs if sub.payment_id in told]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                asyncio.gather(*(sub.done.wait() for sub in expected)), self.args.wait
            )
        result["cpu"] = meter.stop()
        result["changes_s"] = round(changes_s, 2)
        delivered = [sub for sub in expected if sub.arrived is not None]
        since_commit = [sub.arrived - sub.committed for sub in delivered]  # type: ignore[operator]
        since_answer = [sub.arrived - answered[sub.payment_id] for sub in delivered]  # type: ignore[operator]
        result["changed_payments"] = len(changed)
        result["expected"] = len(expected)
        result["delivered"] = len(delivered)
        result["missing"] = len(expected) - len(delivered)
        result["completed"] = sum(sub.completed for sub in expected)
        errors = [sub.error for sub in subs if sub.error]
        result["errors"] = len(errors)
        result["error_sample"] = errors[:3]
        result["since_commit"] = latency_summary(since_commit)
        result["since_mutation_answer"] = latency_summary(since_answer)
        for task in readers:
            task.cancel()
        await close_subs(subs)
        return result


async def check_same_answer(bench: Bench) -> None:
    """Both servers' first `next` for one payment must be the same JSON."""
    [(pid, who)] = await bench.payments(1)
    token = bench.shoppers[who].token
    seen = []
    for server in (bench.app, bench.bare):
        sub = Subscriber(pid)
        await subscribe(bench.ws_url(server), token, sub)
        seen.append(sub.initial)
        await close_subs([sub])
    if seen[0] != seen[1]:
        raise SystemExit(f"app and bare answer differently:\n{seen[0]}\n{seen[1]}")


async def measure(args: argparse.Namespace, stack: Stack) -> dict[str, Any]:
    app = stack.start_server("app")
    bare = stack.start_server("bare_fanout")
    https = clients(app.url, 32)
    redis = Redis.from_url(stack.redis.url)  # type: ignore[union-attr]
    shoppers = [
        Shopper(https[i], stack.token(f"fan-cust-{i}"), f"fan-cust-{i}") for i in range(CUSTOMERS)
    ]
    bench = Bench(args, stack, app, bare, redis, shoppers, run_id())
    results: dict[str, Any] = {}
    try:
        await check_same_answer(bench)
        for server in (app, bare):
            with stage(f"{server.kind}: warm-up (20 subscriptions)"):
                await bench.scenario(server, await bench.payments(20), 1, steady=False)
            with stage(f"{server.kind}: creating {args.subs} payments"):
                steady_payments = await bench.payments(args.subs)
            with stage(
                f"{server.kind}: steady, {args.subs} subscriptions, "
                f"{args.changes} changes at {args.rate}/s"
            ):
                steady = await bench.scenario(server, steady_payments, 1, steady=True)
            count = max(1, args.subs // args.per_payment)
            burst_payments = await bench.payments(count)
            with stage(f"{server.kind}: burst, {args.subs} subscriptions on {count} payments"):
                burst = await bench.scenario(server, burst_payments, args.per_payment, steady=False)
            results[server.kind] = {"steady": steady, "burst": burst}
    finally:
        await close_all(https)
        await redis.aclose()
    return results


def ratio(a: float, b: float) -> float:
    return round(a / b, 2) if b else float("nan")


def report(results: dict[str, Any]) -> dict[str, Any]:
    rows = []
    ratios: dict[str, Any] = {}
    for scenario in ("steady", "burst"):
        for kind in ("app", "bare_fanout"):
            r = results[kind][scenario]
            lat = r["since_commit"]
            rows.append(
                [
                    scenario,
                    kind,
                    r["subscriptions"],
                    f"{r['delivered']}/{r['expected']}",
                    lat["p50_ms"],
                    lat["p99_ms"],
                    lat["max_ms"],
                    r["rss_per_subscription_kib"],
                    r["redis_connections_per_subscription"],
                    r["cpu"][kind]["cpu_s"],
                    r.get("idle_cpu", {}).get(kind, float("nan")),
                    r.get("idle_cpu", {}).get("secantusdb", float("nan")),
                ]
            )
        app, bare = results["app"][scenario], results["bare_fanout"][scenario]
        ratios[scenario] = {
            "p99_ratio": ratio(app["since_commit"]["p99_ms"], bare["since_commit"]["p99_ms"]),
            "p50_ratio": ratio(app["since_commit"]["p50_ms"], bare["since_commit"]["p50_ms"]),
            "memory_per_subscription_ratio": ratio(
                app["rss_per_subscription_kib"], bare["rss_per_subscription_kib"]
            ),
        }
    headers = [
        "scenario", "server", "subs", "delivered", "p50 ms", "p99 ms", "max ms",
        "KiB/sub", "redis conn/sub", "server cpu s", "idle cpu", "idle db cpu",
    ]  # fmt: skip
    print()
    print(table(headers, rows))
    print()
    for scenario, r in ratios.items():
        print(
            f"{scenario}: app/bare p99 {r['p99_ratio']}x, p50 {r['p50_ratio']}x, "
            f"memory per subscription {r['memory_per_subscription_ratio']}x"
        )
    return ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="250 subscriptions, 100 changes, 25 per payment"
    )
    parser.add_argument("--subs", type=int, default=1000, help="subscriptions per scenario")
    parser.add_argument("--rate", type=float, default=10.0, help="steady: changes per second")
    parser.add_argument(
        "--changes", type=int, default=200, help="steady: payments changed (of --subs)"
    )
    parser.add_argument("--per-payment", type=int, default=100, help="burst: subscribers each")
    parser.add_argument("--idle", type=float, default=16.0, help="idle window seconds")
    parser.add_argument("--wait", type=float, default=60.0, help="wait for deliveries, s")
    parser.add_argument("--open-concurrency", type=int, default=50)
    args = parser.parse_args()
    if args.quick:
        args.subs, args.changes, args.per_payment = 250, 100, 25

    with Stack(NAME) as stack:
        env = environment()
        results = run(measure(args, stack))
    ratios = report(results)
    path = write_results(
        NAME,
        {
            "environment": env,
            "args": vars(args),
            "results": results,
            "ratios_app_over_bare": ratios,
        },
    )
    print(f"\nwritten {path}")


if __name__ == "__main__":
    main()
