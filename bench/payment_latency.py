"""verifyPayment and initiatePayment latency under concurrency, with a server-side breakdown.

Phases (each repeated for --rounds rounds; medians over rounds are reported):
  serial   1 client: initiate -> sandbox pay -> verify, the unloaded service time (baseline)
  verify   50 clients, closed loop: initiate -> sandbox pay -> verify; only verify is the figure
  initiate 100 clients, closed loop: initiatePayment with a fresh order each time

The app server runs with bench._instrument: wall time of every Mongo, Redis and gateway call is
added up per request and labelled by operation, so the table shows where a verify or an
initiate spends its time. The gateway is the Razorpay sandbox mounted in the same server, so a
gateway call's time includes the sandbox request it makes to this same process.

Seed floors checked: verify < 100 ms (p50 and p99 shown), initiate p99 < 200 ms.

    .venv/bin/python -m bench.payment_latency [--quick] [--rounds N] [--profile]
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import httpx

from bench import _instrument
from bench._harness import (
    RESULTS,
    CpuMeter,
    Shopper,
    Stack,
    add_what_if_argument,
    clients,
    close_all,
    environment,
    latency_summary,
    median,
    run,
    run_id,
    table,
    what_if_list,
    write_results,
)
from bench._load import Recorder, closed_loop, timed

NAME = "payment_latency"
VERIFY_FLOOR_MS = 100.0
INITIATE_P99_FLOOR_MS = 200.0


async def phase(
    stack: Stack, url: str, kind: str, n_clients: int, per_client: int
) -> dict[str, Any]:
    tag = run_id()
    https = clients(url, n_clients, timeout=120)
    shoppers = [
        Shopper(https[i], stack.token(f"lat-{tag}-{i}"), f"lat-{tag}-{i}") for i in range(n_clients)
    ]
    sequence = [0] * n_clients

    async def flow(index: int, recorder: Recorder) -> None:
        shopper = shoppers[index]
        sequence[index] += 1
        order_id = f"L{tag}c{index}n{sequence[index]}"
        initiated: Any = await timed(recorder, "initiate", shopper.initiate(order_id))
        if kind == "initiate":
            return
        paid: Any = await timed(
            recorder, "sandbox_pay", shopper.pay(initiated["checkout"]["gatewayOrderId"])
        )
        verified: Any = await timed(
            recorder, "verify", shopper.verify(initiated["payment"]["id"], paid)
        )
        if verified["payment"]["status"] != "COMPLETED":
            raise RuntimeError(f"verify left the payment {verified['payment']['status']}")

    async with httpx.AsyncClient(base_url=url) as control:
        await control.post("/_bench/stats")
        meter = CpuMeter(stack.pids())
        meter.start()
        try:
            recorder, elapsed = await closed_loop(n_clients, flow, iterations=per_client)
        finally:
            await close_all(https)
        cpu = meter.stop()
        stats = (await control.get("/_bench/stats")).json()
    flows = n_clients * per_client - sum(recorder.errors.values())
    return {
        "clients": n_clients,
        "flows_per_client": per_client,
        "elapsed_s": round(elapsed, 2),
        "flows_per_s": round(flows / elapsed, 1),
        # CPU each completed flow cost the server and the database (Little's law: with N
        # clients in a closed loop, latency ~ N / flows_per_s once the server is saturated).
        "app_cpu_ms_per_flow": round(cpu["app"]["cpu_s"] / max(flows, 1) * 1000, 2),
        "db_cpu_ms_per_flow": round(cpu["secantusdb"]["cpu_s"] / max(flows, 1) * 1000, 2),
        "latency": {name: latency_summary(values) for name, values in recorder.latencies.items()},
        "errors": dict(recorder.errors),
        "cpu_util": {name: v["util"] for name, v in cpu.items()},
        "breakdown": {
            label: _instrument.breakdown(stats, label)
            for label in ("initiate", "verify", "sandbox_pay", "sandbox")
        },
    }


def med(rounds: list[dict[str, Any]], op: str, key: str) -> float:
    return round(median([r["latency"][op][key] for r in rounds if op in r["latency"]]), 2)


async def measure(args: argparse.Namespace, stack: Stack, url: str) -> dict[str, Any]:
    phases: dict[str, list[dict[str, Any]]] = {"serial": [], "verify": [], "initiate": []}
    # warm-up: connections, caches, the first index pages
    await phase(stack, url, "verify", 8, 2)
    for r in range(args.rounds):
        for name, kind, n_clients, per_client in (
            ("serial", "verify", 1, args.serial_flows),
            ("verify", "verify", args.verify_clients, args.flows),
            ("initiate", "initiate", args.initiate_clients, args.flows),
        ):
            result = await phase(stack, url, kind, n_clients, per_client)
            phases[name].append(result)
            op = "initiate" if name == "initiate" else "verify"
            lat = result["latency"].get(op, {})
            print(
                f"  round {r + 1} {name:8s}: {op} p50 {lat.get('p50_ms', float('nan')):7.1f} ms, "
                f"p99 {lat.get('p99_ms', float('nan')):7.1f} ms, errors {sum(result['errors'].values())}, "
                f"cpu app {result['cpu_util'].get('app', 0):.2f} db {result['cpu_util'].get('secantusdb', 0):.2f} "
                f"loadgen {result['cpu_util'].get('loadgen', 0):.2f}; {result['flows_per_s']:.0f} flows/s, "
                f"app CPU {result['app_cpu_ms_per_flow']:.1f} ms/flow",
                flush=True,
            )
    summary: dict[str, Any] = {}
    for name, rounds in phases.items():
        ops = ["initiate"] if name == "initiate" else ["initiate", "sandbox_pay", "verify"]
        summary[name] = {
            op: {k: med(rounds, op, k) for k in ("p50_ms", "p90_ms", "p99_ms", "max_ms")}
            for op in ops
        }
        summary[name]["errors"] = sum(sum(r["errors"].values()) for r in rounds)
        summary[name]["flows_per_s"] = round(median([r["flows_per_s"] for r in rounds]), 1)
        summary[name]["app_cpu_ms_per_flow"] = round(
            median([r["app_cpu_ms_per_flow"] for r in rounds]), 2
        )
        summary[name]["db_cpu_ms_per_flow"] = round(
            median([r["db_cpu_ms_per_flow"] for r in rounds]), 2
        )
    verify, initiate = summary["verify"]["verify"], summary["initiate"]["initiate"]
    summary["floors"] = {
        "verify_p50_under_100ms": verify["p50_ms"] < VERIFY_FLOOR_MS,
        "verify_p99_under_100ms": verify["p99_ms"] < VERIFY_FLOOR_MS,
        "initiate_p99_under_200ms": initiate["p99_ms"] < INITIATE_P99_FLOOR_MS,
    }
    summary["loaded_over_serial"] = {
        "verify_p50": round(verify["p50_ms"] / summary["serial"]["verify"]["p50_ms"], 1),
        "initiate_p50": round(initiate["p50_ms"] / summary["serial"]["initiate"]["p50_ms"], 1),
    }
    return {"phases": phases, "summary": summary}


def print_breakdown(title: str, entry: dict[str, Any]) -> None:
    if not entry:
        return
    print(
        f"\n{title}: {entry['server_ms_per_req']:.1f} ms in the server per request (mean over {entry['requests']})"
    )
    rows = [
        [name, part["calls_per_req"], part["ms_per_req"]] for name, part in entry["parts"].items()
    ]
    rows.append(
        ["other (GraphQL, pydantic, JSON, waiting for the loop)", "", entry["other_ms_per_req"]]
    )
    print(table(["awaited call", "calls/req", "ms/req"], rows))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="1 round, 3 flows per client")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--flows", type=int, help="flows per client per round")
    parser.add_argument("--verify-clients", type=int, default=50)
    parser.add_argument("--initiate-clients", type=int, default=100)
    parser.add_argument("--profile", action="store_true", help="cProfile the app server (slower)")
    add_what_if_argument(parser)
    args = parser.parse_args()
    args.what_if = what_if_list(args.what_if)
    args.rounds = args.rounds or (1 if args.quick else 3)
    args.flows = args.flows or (3 if args.quick else 6)
    args.serial_flows = 10 if args.quick else 20

    env = environment()
    if args.what_if:
        print(f"WHAT-IF run: patched in the app server process: {', '.join(args.what_if)}")
    print(
        f"{NAME}: {args.rounds} round(s); verify at {args.verify_clients} clients, initiate at {args.initiate_clients}"
    )
    with Stack(NAME) as stack:
        profile = RESULTS / f"{NAME}.app.prof" if args.profile else None
        if profile:
            RESULTS.mkdir(parents=True, exist_ok=True)
        app = stack.start_server("app", instrument=True, profile=profile, what_if=args.what_if)
        result = run(measure(args, stack, app.url))

    s = result["summary"]
    print()
    rows = []
    for name, label in (
        ("serial", "1 client"),
        ("verify", f"{args.verify_clients} clients"),
        ("initiate", f"{args.initiate_clients} clients"),
    ):
        for op, values in s[name].items():
            if not isinstance(values, dict):
                continue
            rows.append(
                [label, op, values["p50_ms"], values["p90_ms"], values["p99_ms"], values["max_ms"]]
            )
    print(table(["load", "operation", "p50 ms", "p90 ms", "p99 ms", "max ms"], rows))
    print()
    print(
        table(
            ["phase", "flows/s (median)", "app CPU ms/flow", "DB CPU ms/flow", "errors"],
            [
                [
                    name,
                    s[name]["flows_per_s"],
                    s[name]["app_cpu_ms_per_flow"],
                    s[name]["db_cpu_ms_per_flow"],
                    s[name]["errors"],
                ]
                for name in ("serial", "verify", "initiate")
            ],
        )
    )
    floors = s["floors"]
    print(
        f"\nfloors: verify p50 < 100 ms: {'met' if floors['verify_p50_under_100ms'] else 'NOT met'} "
        f"({s['verify']['verify']['p50_ms']:.1f}); verify p99 < 100 ms: "
        f"{'met' if floors['verify_p99_under_100ms'] else 'NOT met'} ({s['verify']['verify']['p99_ms']:.1f}); "
        f"initiate p99 < 200 ms: {'met' if floors['initiate_p99_under_200ms'] else 'NOT met'} "
        f"({s['initiate']['initiate']['p99_ms']:.1f})"
    )
    print(
        f"loaded / serial p50: verify {s['loaded_over_serial']['verify_p50']}x, initiate {s['loaded_over_serial']['initiate_p50']}x"
    )
    last_verify = result["phases"]["verify"][-1]["breakdown"]
    last_initiate = result["phases"]["initiate"][-1]["breakdown"]
    last_serial = result["phases"]["serial"][-1]["breakdown"]
    print_breakdown("verifyPayment, 1 client", last_serial["verify"])
    print_breakdown(f"verifyPayment, {args.verify_clients} clients", last_verify["verify"])
    print_breakdown(
        "sandbox requests made by the gateway adapter (same server)", last_verify["sandbox"]
    )
    print_breakdown(f"initiatePayment, {args.initiate_clients} clients", last_initiate["initiate"])
    errors = sum(s[name]["errors"] for name in ("serial", "verify", "initiate"))
    if errors:
        print(f"\n{errors} failed flows; see the JSON for the messages")
    path = write_results(
        NAME,
        {"benchmark": NAME, "environment": env, "parameters": vars(args), **result},
        args.what_if,
        profiled=args.profile,
    )
    print(f"written {path}")
    return 0 if errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
