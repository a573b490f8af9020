"""What one write costs the MongoDB-wire test server as writes accumulate, with the driver's
retryable writes on (PyMongo's default, and the app's) and off: the figures behind the soak's
`--mongo-option retryWrites=false` run.

SecantusDB keeps a record per retryable write (lsid, txnNumber) for 30 minutes so that a retry
replays the original reply, and on every retryable write it scans all the records it keeps for
expired ones and, past 10,000 records, sorts them all to drop the oldest
(`secantus/transactions.py`, `_prune_retryable_locked`). A write's cost there grows with the
writes made before it. mongod keeps the same records in `config.transactions`, one per session,
so its cost per write does not depend on how many writes came before.

For each mode, a fresh server (in memory) and `--docs` documents, then `--rounds` rounds of
`--writes` `update_one` by _id on distinct documents from one client, one at a time. Reported
per round: the writes made before it and the server's CPU ms per write (its process CPU over
the round). No app code runs here: this measures the test server, not paygraph.

    .venv/bin/python -m bench.server_writes [--rounds N] [--writes N] [--docs N]
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from pymongo import AsyncMongoClient

from bench._harness import cpu_seconds, environment, run, table, write_results
from infra import embedded

NAME = "server_writes"


async def rounds(url: str, pid: int, args: argparse.Namespace) -> list[dict[str, Any]]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(url)
    try:
        rows = client.bench.rows
        await rows.insert_many(
            [{"n": i, "status": "RECEIVED", "attempts": 0} for i in range(args.docs)]
        )
        ids = [doc["_id"] async for doc in rows.find({}, {"_id": 1})]
        figures: list[dict[str, Any]] = []
        written = 0
        for round_no in range(args.rounds):
            cpu_before, started = cpu_seconds(pid), time.perf_counter()
            for k in range(args.writes):
                await rows.update_one(
                    {"_id": ids[(written + k) % len(ids)]},
                    {"$set": {"status": f"R{round_no}"}, "$inc": {"attempts": 1}},
                )
            wall, cpu = time.perf_counter() - started, cpu_seconds(pid) - cpu_before
            figures.append(
                {
                    "writes_before": written,
                    "db_cpu_ms_per_write": round(cpu / args.writes * 1000, 3),
                    "wall_ms_per_write": round(wall / args.writes * 1000, 3),
                }
            )
            written += args.writes
        return figures
    finally:
        await client.close()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--writes", type=int, default=1500, help="writes per round")
    parser.add_argument("--docs", type=int, default=2000)
    args = parser.parse_args()
    if min(args.rounds, args.writes, args.docs) < 1:
        parser.error("--rounds, --writes and --docs must be at least 1")
    env = environment()
    result: dict[str, list[dict[str, Any]]] = {}
    for option in ("retryWrites=true", "retryWrites=false"):
        print(f"[{NAME}] {option}: {args.rounds} rounds of {args.writes} writes", flush=True)
        mongo = embedded.start_mongo(None)
        try:
            result[option] = run(rounds(f"{mongo.url}&{option}", mongo.pid, args))
        finally:
            mongo.stop()
    on, off = result["retryWrites=true"], result["retryWrites=false"]
    print()
    print(
        table(
            ["writes before", "retryable: DB CPU ms/write", "not retryable: DB CPU ms/write"],
            [
                [a["writes_before"], a["db_cpu_ms_per_write"], b["db_cpu_ms_per_write"]]
                for a, b in zip(on, off, strict=True)
            ],
        )
    )
    path = write_results(
        NAME, {"benchmark": NAME, "environment": env, "parameters": vars(args), "rounds": result}
    )
    print(f"written {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
