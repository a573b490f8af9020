"""Issue 16's figures side by side in one run, each against its bare baseline in bench/:

- reads: `payment(id)` over GraphQL against bench/baseline_app.py, at 20 and 32 closed-loop
  clients (bench.payment_read): req/s ratio (median of rounds) and server CPU per request;
- flows: API CPU per checkout flow against bench/baseline_flow.py, the Razorpay sandbox in its
  own process (bench.flow_cpu);
- subscriptions: 1,000 open `paymentStatusChanged` subscriptions, delay from commit and memory
  per subscription, against bench/baseline_fanout.py (bench.subscription_fanout).

Each benchmark runs in its own process, one after the other (they would compete for the same 2
cores), and writes its own JSON under bench/results/; this script keeps each run's JSON as
`fast_paths.<part>.json`, prints one table and writes `results/fast_paths.json`.

    .venv/bin/python -m bench.fast_paths [--quick] [--only reads,flows,subscriptions]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

RESULTS = Path(__file__).resolve().parent / "results"
PARTS = ("reads", "flows", "subscriptions")


def _run(module: str, args: list[str], produced: str, kept: str) -> dict[str, Any]:
    command = [sys.executable, "-m", f"bench.{module}", *args]
    print(f"[fast_paths] {' '.join(command[1:])}", flush=True)
    subprocess.run(command, check=True)
    shutil.copyfile(RESULTS / produced, RESULTS / kept)
    loaded: dict[str, Any] = json.loads((RESULTS / kept).read_text())
    return loaded


def reads(quick: bool) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for clients in (20, 32):
        args = ["--clients", str(clients), *(["--quick"] if quick else [])]
        run = _run("payment_read", args, "payment_read.json", f"fast_paths.read{clients}.json")
        summary = run["summary"]
        figures[f"{clients} clients"] = {
            "ratio": summary["ratio_graphql_over_bare"]["median_of_round_ratios"],
            "ratio_range": [
                summary["ratio_graphql_over_bare"]["min"],
                summary["ratio_graphql_over_bare"]["max"],
            ],
            "cpu_ratio": summary["ratio_graphql_over_bare"]["server_cpu_per_req_graphql_over_bare"],
            "graphql_req_per_s": summary["graphql"]["median_req_per_s"],
            "bare_req_per_s": summary["bare"]["median_req_per_s"],
            "graphql_cpu_ms": summary["graphql"]["median_server_cpu_ms_per_req"],
            "bare_cpu_ms": summary["bare"]["median_server_cpu_ms_per_req"],
        }
    return figures


def flows(quick: bool) -> dict[str, Any]:
    run = _run("flow_cpu", ["--quick"] if quick else [], "flow_cpu.json", "fast_paths.flows.json")
    summary = run["summary"]
    return {
        "cpu_ratio": summary["ratio_median"],
        "cpu_ratio_range": summary["ratio_range"],
        "app_cpu_ms_per_flow": summary["app"]["server_cpu_ms_per_flow"],
        "bare_cpu_ms_per_flow": summary["bare_flow"]["server_cpu_ms_per_flow"],
        "app_flows_per_s": summary["app"]["flows_per_s"],
        "bare_flows_per_s": summary["bare_flow"]["flows_per_s"],
    }


def subscriptions(quick: bool) -> dict[str, Any]:
    run = _run(
        "subscription_fanout",
        ["--quick"] if quick else [],
        "subscription_fanout.json",
        "fast_paths.subscriptions.json",
    )
    figures: dict[str, Any] = {}
    for scenario in ("steady", "burst"):
        app = run["results"]["app"][scenario]
        bare = run["results"]["bare_fanout"][scenario]
        figures[scenario] = {
            "subscriptions": app["subscriptions"],
            "delivered": app["delivered"],
            "expected": app["expected"],
            "app_p99_ms": app["since_commit"]["p99_ms"],
            "bare_p99_ms": bare["since_commit"]["p99_ms"],
            "app_kib_per_subscription": app["rss_per_subscription_kib"],
            "bare_kib_per_subscription": bare["rss_per_subscription_kib"],
        }
    return figures


def _table(figures: dict[str, Any]) -> Table:
    table = Table(title="issue 16: paygraph against its bare baselines (same run)")
    for column in ("figure", "paygraph", "bare", "ratio"):
        table.add_column(column, justify="right" if column != "figure" else "left")
    for clients, read in figures.get("reads", {}).items():
        table.add_row(
            f"payment(id) req/s, {clients}",
            f"{read['graphql_req_per_s']:,.0f}",
            f"{read['bare_req_per_s']:,.0f}",
            f"{read['ratio']:.2f} ({read['ratio_range'][0]:.2f}-{read['ratio_range'][1]:.2f})",
        )
        table.add_row(
            f"  server CPU ms/request, {clients}",
            f"{read['graphql_cpu_ms']:.2f}",
            f"{read['bare_cpu_ms']:.2f}",
            f"{read['cpu_ratio']:.2f}x",
        )
    if flow := figures.get("flows"):
        low, high = flow["cpu_ratio_range"]
        table.add_row(
            "API CPU ms per checkout flow",
            f"{flow['app_cpu_ms_per_flow']:.1f}",
            f"{flow['bare_cpu_ms_per_flow']:.1f}",
            f"{flow['cpu_ratio']:.2f}x ({low:.2f}-{high:.2f})",
        )
    for scenario, sub in figures.get("subscriptions", {}).items():
        table.add_row(
            f"{scenario}: p99 ms from commit ({sub['delivered']}/{sub['expected']} delivered)",
            f"{sub['app_p99_ms']:,.0f}",
            f"{sub['bare_p99_ms']:,.0f}",
            f"{sub['app_p99_ms'] / sub['bare_p99_ms']:.2f}x",
        )
        table.add_row(
            f"  KiB per subscription ({sub['subscriptions']} open)",
            f"{sub['app_kib_per_subscription']:.0f}",
            f"{sub['bare_kib_per_subscription']:.0f}",
            f"{sub['app_kib_per_subscription'] / sub['bare_kib_per_subscription']:.2f}x",
        )
    return table


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="each benchmark's --quick")
    parser.add_argument("--only", default=",".join(PARTS), help="a comma-separated subset")
    args = parser.parse_args()
    chosen = [part.strip() for part in args.only.split(",") if part.strip()]
    unknown = sorted(set(chosen) - set(PARTS))
    if unknown:
        parser.error(f"unknown part(s) {', '.join(unknown)}; choose from {', '.join(PARTS)}")
    runners = {"reads": reads, "flows": flows, "subscriptions": subscriptions}
    figures = {part: runners[part](args.quick) for part in chosen}
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    (RESULTS / "fast_paths.json").write_text(
        json.dumps({"commit": commit, "quick": args.quick, "figures": figures}, indent=1)
    )
    Console().print(_table(figures))
    print(f"written {RESULTS / 'fast_paths.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
