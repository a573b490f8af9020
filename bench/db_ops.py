"""What each database operation of a refund costs the MongoDB-wire server, and what an `$expr`
filter costs there: the figures behind the reading of `refund_accept`.

SecantusDB (in memory) with the app's own documents and indexes (`init_models`) and N completed
payments shaped like the app's (four timeline entries, gateway ids, notes). Each operation runs
`--ops` times, one at a time and then from 20 concurrent clients, on distinct payments; reported:
wall ms per operation and the server's CPU ms per operation (its process CPU over the window).
The operations are the refund path's, written as services/refunds/ (accept, store) writes them:

- read the payment by _id (the ownership and state check);
- reserve: in one transaction, the conditional increment on the payment
  (`refund_committed_minor <= captured - amount`) and the refund's insert;
- read the refund by _id (the worker's job);
- settle: in one transaction, the refund's CAS update, the payment's read and its update.

Then the bare reservation update with its filter written two ways at several collection sizes:
the bound on one field (what the service does) and the `$expr` form it replaced
(`captured - refunded - reserved >= amount`, with `_id` in the same filter).

    .venv/bin/python -m bench.db_ops [--payments N] [--ops N]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from pymongo import AsyncMongoClient

from bench._harness import BENCH_DB, cpu_seconds, environment, run, table, write_results
from infra import embedded
from infra.db import init_models
from models.clock import utcnow
from models.common import RefundTimelineEntry, TimelineEntry
from models.enums import (
    Gateway,
    PaymentMethodType,
    PaymentStatus,
    RefundReason,
    RefundStatus,
    TransitionSource,
)
from models.money import Money
from models.payment import Payment
from models.refund import Refund

NAME = "db_ops"
CAPTURED = 49_900
AMOUNT = 100


def payment(i: int) -> Payment:
    now = utcnow()
    statuses = [
        PaymentStatus.PENDING,
        PaymentStatus.INITIATED,
        PaymentStatus.AUTHORIZED,
        PaymentStatus.COMPLETED,
    ]
    return Payment(
        order_id=f"DB-{i}",
        customer_id=f"cust-{i % 50}",
        amount=Money(amount_minor=CAPTURED, currency="INR"),
        method_type=PaymentMethodType.CARD,
        gateway=Gateway.RAZORPAY,
        status=PaymentStatus.COMPLETED,
        gateway_order_id=f"order_{i:014d}",
        gateway_payment_id=f"pay_{i:014d}",
        request_fingerprint="f" * 64,
        expires_at=now + timedelta(hours=1),
        notes={"sku": "A1"},
        timeline=[
            TimelineEntry(
                at=now,
                from_status=statuses[k - 1] if k else None,
                to_status=status,
                source=TransitionSource.API,
            )
            for k, status in enumerate(statuses)
        ],
    )


async def measure(
    pid: int, fn: Callable[[int], Awaitable[None]], indexes: list[int], clients: int
) -> dict[str, float]:
    pending = iter(indexes)

    async def client() -> None:
        for i in pending:
            await fn(i)

    cpu_before, started = cpu_seconds(pid), time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    wall, cpu = time.perf_counter() - started, cpu_seconds(pid) - cpu_before
    return {
        "wall_ms_per_op": round(wall / len(indexes) * 1000, 2),
        "db_cpu_ms_per_op": round(cpu / len(indexes) * 1000, 2),
    }


async def main_async(args: argparse.Namespace, mongo_url: str, pid: int) -> dict[str, Any]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url, tz_aware=True)
    try:
        await init_models(client, BENCH_DB)
        payments = Payment.get_pymongo_collection()
        refunds = Refund.get_pymongo_collection()
        await Payment.insert_many([payment(i) for i in range(args.payments)])
        ids = [doc["_id"] async for doc in payments.find({}, {"_id": 1})]
        refund_ids: dict[int, Any] = {}
        now = utcnow()

        async def read_payment(i: int) -> None:
            await payments.find_one({"_id": ids[i]})

        async def reserve(i: int) -> None:
            refund = Refund(
                payment_id=ids[i],
                order_id=f"DB-{i}",
                customer_id="cust",
                amount=Money(amount_minor=AMOUNT, currency="INR"),
                reason=RefundReason.CUSTOMER_REQUEST,
                gateway=Gateway.RAZORPAY,
                gateway_payment_id=f"pay_{i:014d}",
                idempotency_key=f"key-{i}",
                request_fingerprint="f" * 64,
                timeline=[
                    RefundTimelineEntry(
                        at=now,
                        from_status=None,
                        to_status=RefundStatus.PENDING,
                        source=TransitionSource.API,
                    )
                ],
            )

            async def work(session: Any) -> None:
                await payments.update_one(
                    {
                        "_id": ids[i],
                        "status": {"$in": ["COMPLETED", "PARTIALLY_REFUNDED"]},
                        "refund_committed_minor": {"$lte": CAPTURED - AMOUNT},
                    },
                    {
                        "$inc": {"refund_committed_minor": AMOUNT, "version": 1},
                        "$set": {"updated_at": now},
                    },
                    session=session,
                )
                await refund.insert(session=session)

            async with client.start_session() as session:
                await session.with_transaction(work)
            refund_ids[i] = refund.id

        async def read_refund(i: int) -> None:
            await refunds.find_one({"_id": refund_ids[i]})

        async def settle(i: int) -> None:
            async def work(session: Any) -> None:
                await refunds.update_one(
                    {"_id": refund_ids[i], "version": 0},
                    {
                        "$set": {"status": "COMPLETED", "updated_at": now, "completed_at": now},
                        "$inc": {"version": 1},
                        "$push": {"timeline": {"at": now, "to_status": "COMPLETED"}},
                    },
                    session=session,
                )
                await payments.find_one({"_id": ids[i]}, session=session)
                await payments.update_one(
                    {"_id": ids[i]},
                    {
                        "$inc": {"refunded_minor": AMOUNT, "version": 1},
                        "$set": {"status": "PARTIALLY_REFUNDED", "updated_at": now},
                        "$push": {"timeline": {"at": now, "to_status": "PARTIALLY_REFUNDED"}},
                    },
                    session=session,
                )

            async with client.start_session() as session:
                await session.with_transaction(work)

        steps = [
            ("read payment", read_payment),
            ("reserve (txn: update + insert)", reserve),
            ("read refund", read_refund),
            ("settle (txn: update + read + update)", settle),
        ]
        path: list[dict[str, Any]] = []
        for clients, block in ((1, 0), (20, 1)):
            indexes = list(range(block * args.ops, (block + 1) * args.ops))
            for name, fn in steps:
                figures = await measure(pid, fn, indexes, clients)
                path.append({"operation": name, "clients": clients, **figures})
                print(f"  {name}, {clients} client(s): {figures}", flush=True)

        # The reservation's filter, two ways, as the collection grows.
        bound_vs_expr: list[dict[str, Any]] = []
        for size in args.sizes:
            have = await payments.count_documents({})
            if size > have:
                await Payment.insert_many([payment(i) for i in range(have, size)])
            sample = [doc["_id"] async for doc in payments.find({}, {"_id": 1}).limit(args.ops)]
            row: dict[str, Any] = {"payments": size}
            for label, extra in (
                ("bound", {"refund_committed_minor": {"$lte": CAPTURED - AMOUNT}}),
                (
                    "expr",
                    {
                        "$expr": {
                            "$gte": [
                                {
                                    "$subtract": [
                                        "$amount.amount_minor",
                                        {"$add": ["$refunded_minor", "$refund_committed_minor"]},
                                    ]
                                },
                                AMOUNT,
                            ]
                        }
                    },
                ),
            ):

                async def update(
                    i: int, extra: dict[str, Any] = extra, sample: list[Any] = sample
                ) -> None:
                    await payments.update_one({"_id": sample[i], **extra}, {"$inc": {"version": 1}})

                row[label] = await measure(pid, update, list(range(len(sample))), 1)
            bound_vs_expr.append(row)
            print(f"  reservation filter at {size} payments: {row}", flush=True)
        return {"refund_path": path, "reservation_filter": bound_vs_expr}
    finally:
        await client.close()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--payments", type=int, default=500)
    parser.add_argument("--ops", type=int, default=100)
    args = parser.parse_args()
    if args.payments < 2 * args.ops:
        parser.error("--payments must be at least twice --ops")
    args.sizes = sorted({args.payments, 2_000, 8_000})
    env = environment()
    print(f"{NAME}: {args.payments} payments, {args.ops} operations per figure", flush=True)
    mongo = embedded.start_mongo(None)
    try:
        result = run(main_async(args, mongo.url, mongo.pid))
    finally:
        mongo.stop()
    print()
    print(
        table(
            ["operation", "clients", "wall ms/op", "DB CPU ms/op"],
            [
                [r["operation"], r["clients"], r["wall_ms_per_op"], r["db_cpu_ms_per_op"]]
                for r in result["refund_path"]
            ],
        )
    )
    print()
    print(
        table(
            ["payments", "bound: DB CPU ms/op", "$expr: DB CPU ms/op", "$expr / bound"],
            [
                [
                    r["payments"],
                    r["bound"]["db_cpu_ms_per_op"],
                    r["expr"]["db_cpu_ms_per_op"],
                    round(
                        r["expr"]["db_cpu_ms_per_op"] / max(r["bound"]["db_cpu_ms_per_op"], 0.01), 1
                    ),
                ]
                for r in result["reservation_filter"]
            ],
        )
    )
    path = write_results(
        NAME, {"benchmark": NAME, "environment": env, "parameters": vars(args), **result}
    )
    print(f"written {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
