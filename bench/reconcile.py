"""Reconcile N stale payments against the sandbox, next to the sandbox's own fetch rate.

The app (with the Razorpay sandbox mounted) runs in its own process on an in-memory SecantusDB
and Redis. Seeding goes straight to the sandbox API (orders; then checkout payments: 70% paid and
auto-captured, 10% declined, 20% never paid; every webhook dropped) and straight into MongoDB
(the matching payments, INITIATED, created 90 minutes ago so the unpaid ones are past
PAYMENT_TIMEOUT_MINUTES). Then, in this process:

1. gateway alone: `list_order_payments` for every order through the same adapter and the same
   concurrency bound reconciliation uses - the most a run could do if it cost nothing itself;
2. one reconciliation run over all of them (each payment: that read, then one or two
   compare-and-set writes through the state machine).

Reported: payments/s of the run, fetches/s of the gateway alone, and their ratio. A ratio near 1
means the gateway is the limit; well below 1, reconciliation's own work (MongoDB writes, Python)
is. CPU seconds per process say which side burned the time.

    .venv/bin/python -m bench.reconcile [--quick] [--payments N] [--concurrency C]
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
import time
from datetime import timedelta
from typing import Any

import httpx

from bench._harness import BENCH_DB, CpuMeter, Stack, environment, table, write_results

NAME = "reconcile"
GOOD_CARD = "4100280000001007"
DECLINED_CARD = "4100280000060003"


def _mix(count: int) -> list[str]:
    """70% paid, 10% declined, 20% never paid; interleaved so every batch is mixed."""
    pattern = ["paid"] * 7 + ["declined"] + ["unpaid"] * 2
    return [pattern[i % len(pattern)] for i in range(count)]


async def seed_gateway(url: str, auth: tuple[str, str], kinds: list[str]) -> list[str]:
    """One sandbox order per payment (and its checkout attempt); returns the order ids."""
    limit = asyncio.Semaphore(32)
    orders: list[str] = [""] * len(kinds)
    async with httpx.AsyncClient(base_url=url, auth=auth, timeout=30,
                                 limits=httpx.Limits(max_connections=32)) as http:  # fmt: skip
        control = await http.post(
            "/sandbox/razorpay/_control",
            json={"action": "configure", "webhooks": "drop", "auto_capture": True},
        )
        control.raise_for_status()

        async def one(i: int, kind: str) -> None:
            async with limit:
                order = await http.post(
                    "/sandbox/razorpay/v1/orders",
                    json={"amount": 49900, "currency": "INR", "receipt": f"bench{i}"},
                )
                order.raise_for_status()
                orders[i] = order.json()["id"]
                if kind != "unpaid":
                    card = GOOD_CARD if kind == "paid" else DECLINED_CARD
                    await http.post(
                        f"/sandbox/razorpay/checkout/{orders[i]}/pay",
                        json={"method": "card", "card_number": card},
                    )

        await asyncio.gather(*(one(i, kind) for i, kind in enumerate(kinds)))
    return orders


async def seed_payments(orders: list[str]) -> None:
    from models.clock import utcnow
    from models.enums import Gateway, PaymentMethodType, PaymentStatus
    from models.money import Money
    from models.payment import Payment

    created = utcnow() - timedelta(minutes=90)
    tag = secrets.token_hex(3)
    documents = [
        Payment(
            order_id=f"bench{tag}o{i}",
            customer_id=f"bench-customer-{i % 100}",
            amount=Money(amount_minor=49900, currency="INR"),
            gateway=Gateway.RAZORPAY,
            method_type=PaymentMethodType.CARD,
            status=PaymentStatus.INITIATED,
            gateway_order_id=order,
            receipt=f"bench{i}",
            request_fingerprint=secrets.token_hex(16),
            created_at=created,
            updated_at=created,
            expires_at=created + timedelta(minutes=60),
        )
        for i, order in enumerate(orders)
    ]
    for start in range(0, len(documents), 1000):
        await Payment.insert_many(documents[start : start + 1000])


async def gateway_rate(adapter: Any, orders: list[str], concurrency: int) -> float:
    """Order-payment reads per second through the adapter, `concurrency` in flight."""
    limit = asyncio.Semaphore(concurrency)

    async def one(order: str) -> None:
        async with limit:
            await adapter.list_order_payments(order)

    started = time.perf_counter()
    await asyncio.gather(*(one(order) for order in orders))
    return len(orders) / (time.perf_counter() - started)


async def main(args: argparse.Namespace) -> int:
    from core import build_core
    from gateways.base import Gateway
    from infra.db import init_models
    from models.enums import ReconciliationTrigger
    from services.reconciliation import ReconciliationPolicy, ReconciliationService

    count = 1000 if args.quick and args.payments is None else (args.payments or 10_000)
    kinds = _mix(count)
    with Stack(NAME) as stack:
        server = stack.start_server("app")
        settings = stack.settings(server.port)
        core = build_core(settings, serve_sandboxes=False)
        try:
            await init_models(core.mongo, BENCH_DB)
            print(
                f"[{NAME}] seeding {count} orders at the sandbox and {count} stale payments ...",
                flush=True,
            )
            started = time.perf_counter()
            auth = (settings.razorpay_key_id or "", settings.razorpay_key_secret or "")
            orders = await seed_gateway(server.url, auth, kinds)
            await seed_payments(orders)
            print(f"[{NAME}] seeded in {time.perf_counter() - started:.1f}s", flush=True)

            adapter = core.gateways.registry.get(Gateway.RAZORPAY)
            meter = CpuMeter(stack.pids())
            meter.start()
            fetch_rate = await gateway_rate(adapter, orders, args.concurrency)
            fetch_cpu = meter.stop()
            print(f"[{NAME}] gateway alone: {fetch_rate:.0f} fetches/s", flush=True)

            service = ReconciliationService(
                core.payments, core.refunds, core.gateways.registry, core.redis,
                ReconciliationPolicy(concurrency=args.concurrency),
            )  # fmt: skip
            meter = CpuMeter(stack.pids())
            meter.start()
            started = time.perf_counter()
            report = await service.reconcile(ReconciliationTrigger.CLI)
            took = time.perf_counter() - started
            run_cpu = meter.stop()
        finally:
            await core.aclose()

    rate = count / took
    expected = {k: kinds.count(k) for k in ("paid", "declined", "unpaid")}
    correct = (
        report.recovered == expected["paid"]
        and report.expired == expected["declined"] + expected["unpaid"]
        and report.failed_attempts == expected["declined"]
        and not report.mismatches
        and report.gateway_errors == 0
    )
    print()
    print(
        table(
            ["what", "payments", "seconds", "per second"],
            [
                [
                    "gateway alone (list_order_payments)",
                    count,
                    round(count / fetch_rate, 2),
                    round(fetch_rate),
                ],
                ["reconciliation run", count, round(took, 2), round(rate)],
            ],
        )
    )
    print(f"\nratio run/gateway: {rate / fetch_rate:.2f} (concurrency {args.concurrency})")
    print(
        f"run: {report.recovered} recovered, {report.expired} expired, {report.failed_attempts} "
        f"failed attempts, {len(report.mismatches)} issues, {report.gateway_errors} gateway errors"
        f" - {'as seeded' if correct else 'NOT AS SEEDED'}"
    )
    print("CPU seconds (gateway alone | run): " + ", ".join(
        f"{name} {fetch_cpu.get(name, {}).get('cpu_s', 0):.1f} | {run_cpu.get(name, {}).get('cpu_s', 0):.1f}"
        for name in sorted(run_cpu)
    ))  # fmt: skip
    path = write_results(
        NAME,
        {
            "environment": environment(),
            "payments": count,
            "mix": expected,
            "concurrency": args.concurrency,
            "gateway_fetches_per_second": round(fetch_rate, 1),
            "reconciled_per_second": round(rate, 1),
            "ratio": round(rate / fetch_rate, 3),
            "run_seconds": round(took, 2),
            "report": {
                "recovered": report.recovered,
                "expired": report.expired,
                "failed_attempts": report.failed_attempts,
                "issues": len(report.mismatches),
                "gateway_errors": report.gateway_errors,
            },
            "correct": correct,
            "cpu_seconds": {"gateway_alone": fetch_cpu, "run": run_cpu},
        },
    )
    print(f"results: {path}")
    return 0 if correct else 1


def cli() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="1,000 payments instead of 10,000")
    parser.add_argument("--payments", type=int, default=None)
    parser.add_argument("--concurrency", type=int, default=8, help="gateway calls in flight")
    sys.exit(asyncio.run(main(parser.parse_args())))


if __name__ == "__main__":
    cli()
