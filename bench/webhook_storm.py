"""Webhook storm: N payments complete from webhooks alone while the Razorpay sandbox delivers
every webhook three times, shuffled, over 16 parallel lanes, to the real app with a real worker.

1. The sandbox holds every webhook: POST /sandbox/razorpay/_control {"action": "configure",
   "webhooks": "hold", "auto_capture": true, "refund_mode": "processed"}.
2. N checkout flows: initiatePayment -> sandbox pay, WITHOUT verifyPayment. Every 5th flow
   first pays with a declined card (4100280000060003), then with a good one.
3. A real arq worker runs (bench._worker: `Worker(**build_worker_settings(settings))`, as
   `paygraph worker` runs it, child process, same settings). Release #1:
   {"action": "release_webhooks", "order": "shuffle", "copies": 3, "concurrency": 16, "seed": 1}.
4. Refunds need a COMPLETED payment (REFUNDABLE_PAYMENT_STATUSES), and without verify only
   the webhooks complete a payment, so refunds cannot come before release #1. While the storm
   runs, every 4th payment is refunded (admin refundPayment; half the full amount, half a
   partial 150.00) as soon as the worker has completed it; the sandbox settles them at once
   (refund_mode processed) and holds their refund.created/refund.processed webhooks, which
   release #2 (same parameters) sends, three times each, shuffled, once the refunds are in.
5. Until everything is drained (sandbox holds nothing and every delivery is answered 2xx;
   no inbox row RECEIVED; the arq queue empty), a probe posts one signed event of an unknown
   type every 100 ms and times the acknowledgement as the gateway would see it.

Intake latency under the storm: the app's own `paygraph_http_request_seconds` histogram for
POST /api/webhooks/razorpay, difference of two /metrics scrapes around the releases
(interpolated within buckets as Prometheus' histogram_quantile does), plus the probe's timings.

Checks (non-zero exit on any failure): every payment and refund ends in the state the sandbox
holds (GET /v1/orders/{id}/payments, /v1/payments/{id}, /v1/payments/{id}/refunds with Basic
auth): status, gateway payment id, refunded totals, each refund's status and amount; failed
attempts counted once each; no gateway_event_id twice in any payment (or refund) timeline;
no inbox row left RECEIVED or FAILED; no webhook delivery refused.

    .venv/bin/python -m bench.webhook_storm [--quick] [--payments N] [--seed S]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import math
import sys
import time
from collections import Counter
from typing import Any

import httpx
from bson import ObjectId
from prometheus_client.parser import text_string_to_metric_families
from pymongo import AsyncMongoClient
from redis.asyncio import Redis

from bench._harness import (
    BENCH_DB,
    TEST_CARD,
    CpuMeter,
    Shopper,
    Stack,
    client,
    environment,
    latency_summary,
    run,
    run_id,
    stage,
    table,
    write_results,
)

NAME = "webhook_storm"
DECLINED_CARD = "4100280000060003"  # Razorpay test card: declined by the issuer
ROUTE = "/api/webhooks/razorpay"
QUEUE = "paygraph:queue"
RAZORPAY_TIMEOUT_S = 5.0

REFUND = """
mutation($input: RefundPaymentInput!) {
  refundPayment(input: $input) {
    __typename
    ... on RefundSuccess { refund { id status gatewayRefundId amount { minor } } }
    ... on UserError { code message }
  }
}"""

LOCAL_STATUS = {"none": "COMPLETED", "partial": "PARTIALLY_REFUNDED", "full": "REFUNDED"}
REFUND_STATUS = {"processed": "COMPLETED", "failed": "FAILED", "pending": "PROCESSING"}


# --- /metrics -------------------------------------------------------------------------------


def intake_histogram(text: str) -> dict[float, float]:
    """Cumulative bucket counts of paygraph_http_request_seconds for POST ROUTE."""
    buckets: dict[float, float] = {}
    for family in text_string_to_metric_families(text):
        if family.name != "paygraph_http_request_seconds":
            continue
        for sample in family.samples:
            labels = sample.labels
            if (
                sample.name.endswith("_bucket")
                and labels.get("route") == ROUTE
                and labels.get("method") == "POST"
            ):
                buckets[float(labels["le"])] = sample.value
    return buckets


def histogram_quantile(q: float, buckets: dict[float, float]) -> float:
    """Prometheus' histogram_quantile on cumulative buckets: linear within the bucket; in the
    +Inf bucket, the highest finite bound (the answer is then "at least that")."""
    bounds = sorted(buckets)
    total = buckets[bounds[-1]] if bounds else 0
    if total <= 0:
        return float("nan")
    rank = q * total
    lower_bound, lower_count = 0.0, 0.0
    for bound in bounds:
        count = buckets[bound]
        if count >= rank:
            if math.isinf(bound):
                return lower_bound
            if count == lower_count:
                return bound
            return lower_bound + (bound - lower_bound) * (rank - lower_count) / (
                count - lower_count
            )
        lower_bound, lower_count = bound, count
    return bounds[-1]


def bucket_bound(q: float, buckets: dict[float, float]) -> float:
    """The upper bound of the bucket holding the q-quantile: the quantile is at most this."""
    bounds = sorted(buckets)
    total = buckets[bounds[-1]]
    for bound in bounds:
        if buckets[bound] >= q * total:
            return bound
    return float("inf")


# --- the shop side --------------------------------------------------------------------------


async def pay_card(http: httpx.AsyncClient, gateway_order_id: str, card: str) -> dict[str, Any]:
    response = await http.post(
        f"/sandbox/razorpay/checkout/{gateway_order_id}/pay",
        json={"method": "card", "card_number": card},
    )
    body: dict[str, Any] = response.json()
    return body


async def graphql(
    http: httpx.AsyncClient, token: str, query: str, variables: dict[str, Any]
) -> Any:
    response = await http.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
    )
    body = response.json()
    if response.status_code != 200 or body.get("errors"):
        raise RuntimeError(f"graphql HTTP {response.status_code}: {str(body)[:120]}")
    return body["data"]


def admin_token(stack: Stack) -> str:
    stack.token("warm")  # builds the token service
    token: str = stack._tokens.mint("bench-storm-admin", admin=True)
    return token


# --- the run --------------------------------------------------------------------------------


async def measure(
    args: argparse.Namespace, stack: Stack, url: str, worker_url: str
) -> dict[str, Any]:
    settings = stack.settings()
    assert stack.mongo is not None and stack.redis is not None
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack.mongo.url, tz_aware=True)
    db = mongo[BENCH_DB]
    redis = Redis.from_url(stack.redis.url)
    basic = base64.b64encode(
        f"{settings.razorpay_key_id}:{settings.razorpay_key_secret}".encode()
    ).decode()
    sandbox_api = httpx.AsyncClient(
        base_url=f"{url}/sandbox/razorpay",
        headers={"Authorization": f"Basic {basic}"},
        timeout=60,
    )
    control = httpx.AsyncClient(base_url=f"{url}/sandbox/razorpay", timeout=120)
    tag = run_id()
    admin = admin_token(stack)
    errors: Counter[str] = Counter()
    timings: dict[str, float] = {}
    try:
        configured = (
            await control.post(
                "/_control",
                json={
                    "action": "configure",
                    "webhooks": "hold",
                    "auto_capture": True,
                    "refund_mode": "processed",
                },
            )
        ).json()
        print(f"  sandbox settings: {configured['settings']}", flush=True)

        # --- 1. checkout flows without verify --------------------------------------------
        flows: dict[int, dict[str, Any]] = {}
        customers = max(args.payments // 5, 1)
        tokens = {c: stack.token(f"storm-{tag}-{c}") for c in range(customers)}
        limit = asyncio.Semaphore(32)
        started = time.perf_counter()
        async with client(url, 32, timeout=120) as http:

            async def flow(i: int) -> None:
                cid = i % customers
                shopper = Shopper(http, tokens[cid], f"storm-{tag}-{cid}")
                async with limit:
                    try:
                        initiated = await shopper.initiate(f"S{tag}n{i}")
                        record = {
                            "payment_id": initiated["payment"]["id"],
                            "gateway_order_id": initiated["checkout"]["gatewayOrderId"],
                            "amount_minor": initiated["checkout"]["amountMinor"],
                            "declined_first": i % 5 == 0,
                            "refund": (
                                None if i % 4 != 1 else ("full" if i % 8 == 1 else "partial")
                            ),
                        }
                        if record["declined_first"]:
                            declined = await pay_card(
                                http, record["gateway_order_id"], DECLINED_CARD
                            )
                            if "error" not in declined:
                                raise RuntimeError(f"declined card was accepted: {declined}")
                        paid = await pay_card(http, record["gateway_order_id"], TEST_CARD)
                        if "razorpay_payment_id" not in paid:
                            raise RuntimeError(f"sandbox pay: {str(paid)[:100]}")
                        record["gateway_payment_id"] = paid["razorpay_payment_id"]
                        flows[i] = record
                    except Exception as exc:  # counted; the audit then fails
                        errors[f"flow: {type(exc).__name__}: {str(exc)[:100]}"] += 1

            await asyncio.gather(*(flow(i) for i in range(args.payments)))
        timings["flows_s"] = round(time.perf_counter() - started, 1)
        held = len((await control.get("/_control")).json()["held_webhooks"])
        print(
            f"  {len(flows)}/{args.payments} flows paid (no verify) in {timings['flows_s']} s; "
            f"{held} webhooks held",
            flush=True,
        )

        # --- 2. the storm ------------------------------------------------------------------
        before = intake_histogram((await control.get(f"{url}/metrics")).text)
        probe_latencies: list[float] = []
        probe_errors: Counter[str] = Counter()
        stop_probe = asyncio.Event()

        async def probe() -> None:
            secret = settings.razorpay_webhook_secret.encode()
            async with client(url, 1, timeout=30) as http:
                n = 0
                while not stop_probe.is_set():
                    n += 1
                    body = json.dumps(
                        {
                            "entity": "event",
                            "account_id": "acc_Sandbox0Paygrph",
                            "event": "bench.probe",
                            "contains": [],
                            "payload": {},
                            "created_at": int(time.time()),
                        },
                        separators=(",", ":"),
                    ).encode()
                    headers = {
                        "Content-Type": "application/json",
                        "X-Razorpay-Signature": hmac.new(secret, body, hashlib.sha256).hexdigest(),
                        "X-Razorpay-Event-Id": f"probe{tag}x{n}",
                    }
                    t0 = time.perf_counter()
                    try:
                        answer = await http.post(ROUTE, content=body, headers=headers)
                        if answer.status_code != 200:
                            probe_errors[f"HTTP {answer.status_code}"] += 1
                        else:
                            probe_latencies.append(time.perf_counter() - t0)
                    except httpx.HTTPError as exc:
                        probe_errors[type(exc).__name__] += 1
                    await asyncio.sleep(0.1)

        release = {
            "action": "release_webhooks",
            "order": "shuffle",
            "copies": 3,
            "concurrency": 16,
            "seed": args.seed,
        }
        meter = CpuMeter(stack.pids())
        meter.start()
        storm_started = time.perf_counter()
        probe_task = asyncio.create_task(probe())
        await control.post("/_control", json=release)
        print(f"  release #1: {held} webhooks x 3 copies, shuffled, 16 lanes", flush=True)

        # refunds, as soon as the webhooks have completed each payment
        to_refund = {r["payment_id"]: r for r in flows.values() if r["refund"]}
        refunds: dict[str, dict[str, Any]] = {}
        refund_latencies: list[float] = []
        refund_limit = asyncio.Semaphore(8)
        async with client(url, 8, timeout=120) as http:

            async def refund(record: dict[str, Any]) -> None:
                variables = {
                    "input": {
                        "paymentId": record["payment_id"],
                        "amount": None if record["refund"] == "full" else "150.00",
                        "reason": "CUSTOMER_REQUEST",
                        "idempotencyKey": f"storm{tag}{record['payment_id']}",
                    }
                }
                async with refund_limit:
                    t0 = time.perf_counter()
                    try:
                        data = await graphql(http, admin, REFUND, {**variables})
                    except Exception as exc:
                        errors[f"refund: {type(exc).__name__}: {str(exc)[:100]}"] += 1
                        return
                    refund_latencies.append(time.perf_counter() - t0)
                    result = data["refundPayment"]
                    if result["__typename"] != "RefundSuccess":
                        errors[f"refund: {result['__typename']} {result.get('code')}"] += 1
                        return
                    refunds[record["payment_id"]] = result["refund"]

            pending_ids = set(to_refund)
            tasks: list[asyncio.Task[None]] = []
            deadline = time.perf_counter() + args.timeout
            while pending_ids and time.perf_counter() < deadline:
                ready = (
                    await db["payment_orders"]
                    .find(
                        {"_id": {"$in": [ObjectId(p) for p in pending_ids]}, "status": "COMPLETED"},
                        {"_id": 1},
                    )
                    .to_list(None)
                )
                for doc in ready:
                    pid = str(doc["_id"])
                    pending_ids.discard(pid)
                    tasks.append(asyncio.create_task(refund(to_refund[pid])))
                await asyncio.sleep(0.5)
            await asyncio.gather(*tasks)
            if pending_ids:
                errors[f"refund: {len(pending_ids)} payments never COMPLETED"] += 1
        timings["refunds_done_s"] = round(time.perf_counter() - storm_started, 1)
        held2 = len((await control.get("/_control")).json()["held_webhooks"])
        await control.post("/_control", json=release)
        print(
            f"  {len(refunds)}/{len(to_refund)} refunds accepted by {timings['refunds_done_s']} s "
            f"into the storm; release #2: {held2} refund webhooks x 3 copies",
            flush=True,
        )

        # drained?
        drained = False
        state: dict[str, Any] = {}
        while time.perf_counter() - storm_started < args.timeout:
            state = (await control.get("/_control")).json()
            open_deliveries = sum(
                1
                for d in state["deliveries"]
                if not (d["delivered"] or d["gave_up"] or d["dropped"])
            )
            # the probe's own events come and go all the time: not part of the storm
            received = await db["webhook_events"].count_documents(
                {"status": "RECEIVED", "gateway_event_id": {"$not": {"$regex": "^probe"}}}
            )
            queued = sum(1 for job in await redis.zrange(QUEUE, 0, -1) if b"probe" not in job)
            if (
                not state["held_webhooks"]
                and open_deliveries == 0
                and received == 0
                and queued == 0
            ):
                drained = True
                break
            await asyncio.sleep(1)
        timings["storm_s"] = round(time.perf_counter() - storm_started, 1)
        stop_probe.set()
        await probe_task
        cpu = meter.stop()
        after = intake_histogram((await control.get(f"{url}/metrics")).text)
        worker_metrics = (await control.get(f"{worker_url}/metrics")).text
        print(
            f"  storm {'drained' if drained else 'NOT drained'} after {timings['storm_s']} s",
            flush=True,
        )

        # --- 3. intake latency under the storm -------------------------------------------
        delta = {le: after.get(le, 0) - before.get(le, 0) for le in after}
        total = delta.get(float("inf"), 0)
        intake = {
            "requests": int(total),
            "p50_s": round(histogram_quantile(0.50, delta), 4),
            "p99_s": round(histogram_quantile(0.99, delta), 4),
            "p99_bucket_upper_bound_s": bucket_bound(0.99, delta),
            "over_1s": int(total - delta.get(1.0, 0)),
            "over_2_5s": int(total - delta.get(2.5, 0)),
            "over_5s": int(total - delta.get(5.0, 0)),
            "buckets_delta": {str(k): int(v) for k, v in sorted(delta.items())},
        }
        processed: Counter[str] = Counter()
        for family in text_string_to_metric_families(worker_metrics):
            if family.name == "paygraph_webhooks_processed":
                for sample in family.samples:
                    if sample.name.endswith("_total"):
                        processed[sample.labels["outcome"]] += int(sample.value)
        received_by_outcome: Counter[str] = Counter()
        app_metrics = (await control.get(f"{url}/metrics")).text
        for family in text_string_to_metric_families(app_metrics):
            if family.name == "paygraph_webhooks_received":
                for sample in family.samples:
                    if sample.name.endswith("_total"):
                        received_by_outcome[sample.labels["outcome"]] += int(sample.value)

        # --- 4. audit --------------------------------------------------------------------
        deliveries = state.get("deliveries", [])
        statuses = Counter(s for d in deliveries for s in d["statuses"])
        refused = sum(1 for d in deliveries if any(s != "200" for s in d["statuses"]))
        events_by_status = {
            row["_id"]: row["n"]
            async for row in await db["webhook_events"].aggregate(
                [
                    {"$match": {"gateway_event_id": {"$not": {"$regex": "^probe"}}}},
                    {"$group": {"_id": "$status", "n": {"$sum": 1}}},
                ]
            )
        }
        failed_rows = (
            await db["webhook_events"]
            .find({"status": "FAILED"}, {"event_type": 1, "last_error": 1})
            .to_list(20)
        )
        payments = {
            str(d["_id"]): d
            async for d in db["payment_orders"].find(
                {"_id": {"$in": [ObjectId(r["payment_id"]) for r in flows.values()]}}
            )
        }
        local_refunds: dict[str, list[dict[str, Any]]] = {}
        async for d in db["refunds"].find({}):
            local_refunds.setdefault(str(d["payment_id"]), []).append(d)

        mismatches: list[str] = []
        gateway_refunded_total = local_refunded_total = 0
        status_counts: Counter[str] = Counter()
        duplicate_event_entries = 0
        audit_limit = asyncio.Semaphore(8)

        async def audit(record: dict[str, Any]) -> None:
            nonlocal gateway_refunded_total, local_refunded_total, duplicate_event_entries
            pid = record["payment_id"]
            local = payments.get(pid)
            if local is None:
                mismatches.append(f"{pid}: not in MongoDB")
                return
            async with audit_limit:
                attempts = (
                    await sandbox_api.get(f"/v1/orders/{record['gateway_order_id']}/payments")
                ).json()["items"]
                remote = (
                    await sandbox_api.get(f"/v1/payments/{record['gateway_payment_id']}")
                ).json()
                remote_refunds = (
                    await sandbox_api.get(f"/v1/payments/{record['gateway_payment_id']}/refunds")
                ).json()["items"]
            status_counts[local["status"]] += 1
            expected = LOCAL_STATUS[remote.get("refund_status") or "none"]
            if remote["status"] not in ("captured", "refunded"):
                mismatches.append(f"{pid}: the sandbox holds {remote['status']}")
            if local["status"] != expected:
                mismatches.append(f"{pid}: {local['status']}, the sandbox says {expected}")
            if local.get("gateway_payment_id") != remote["id"]:
                mismatches.append(
                    f"{pid}: gateway_payment_id {local.get('gateway_payment_id')} != {remote['id']}"
                )
            if local.get("refunded_minor", 0) != remote["amount_refunded"]:
                mismatches.append(
                    f"{pid}: refunded {local.get('refunded_minor', 0)}, sandbox {remote['amount_refunded']}"
                )
            reserved = local.get("refund_committed_minor", 0) - local.get("refunded_minor", 0)
            if reserved != 0:
                mismatches.append(f"{pid}: {reserved} still reserved")
            gateway_refunded_total += remote["amount_refunded"]
            local_refunded_total += local.get("refunded_minor", 0)
            failed_attempts = sum(1 for a in attempts if a["status"] == "failed")
            if local.get("attempt_count", 0) != failed_attempts:
                mismatches.append(
                    f"{pid}: attempt_count {local.get('attempt_count')}, {failed_attempts} failed at the sandbox"
                )
            seen = Counter(
                e.get("gateway_event_id")
                for e in local.get("timeline", [])
                if e.get("gateway_event_id")
            )
            twice = {k: v for k, v in seen.items() if v > 1}
            if twice:
                duplicate_event_entries += len(twice)
                mismatches.append(f"{pid}: timeline repeats gateway_event_id {twice}")
            mine = {r.get("gateway_refund_id"): r for r in local_refunds.get(pid, [])}
            if len(mine) != len(remote_refunds) or set(mine) != {r["id"] for r in remote_refunds}:
                mismatches.append(
                    f"{pid}: refunds {sorted(map(str, mine))} vs the sandbox's {[r['id'] for r in remote_refunds]}"
                )
            for remote_refund in remote_refunds:
                ours = mine.get(remote_refund["id"])
                if ours is None:
                    continue
                if ours["status"] != REFUND_STATUS.get(remote_refund["status"]):
                    mismatches.append(
                        f"{pid}: refund {remote_refund['id']} {ours['status']}, sandbox {remote_refund['status']}"
                    )
                if ours["amount"]["amount_minor"] != remote_refund["amount"]:
                    mismatches.append(f"{pid}: refund {remote_refund['id']} amount differs")
                seen_r = Counter(
                    e.get("gateway_event_id")
                    for e in ours.get("timeline", [])
                    if e.get("gateway_event_id")
                )
                if any(v > 1 for v in seen_r.values()):
                    duplicate_event_entries += 1
                    mismatches.append(
                        f"{pid}: refund {remote_refund['id']} timeline repeats an event id"
                    )
            completed_sum = sum(
                r["amount"]["amount_minor"]
                for r in local_refunds.get(pid, [])
                if r["status"] == "COMPLETED"
            )
            if completed_sum != local.get("refunded_minor", 0):
                mismatches.append(f"{pid}: completed refunds sum {completed_sum} != refunded_minor")

        with stage("audit against the sandbox"):
            await asyncio.gather(*(audit(r) for r in flows.values()))
    finally:
        await sandbox_api.aclose()
        await control.aclose()
        await redis.aclose()
        await mongo.close()

    checks = {
        "all_flows_paid": len(flows) == args.payments,
        "all_refunds_accepted": len(refunds) == len(to_refund),
        "storm_drained": drained,
        "every_delivery_acknowledged_2xx": refused == 0,
        "no_inbox_row_failed_or_left": set(events_by_status) <= {"PROCESSED", "IGNORED"},
        "states_match_gateway": not mismatches,
        "refunded_totals_match": gateway_refunded_total == local_refunded_total,
        "no_event_id_twice_in_a_timeline": duplicate_event_entries == 0,
        "intake_p99_under_5s": intake["p99_bucket_upper_bound_s"] <= RAZORPAY_TIMEOUT_S
        and intake["over_5s"] == 0,
    }
    return {
        "timings": timings,
        "held_webhooks": {"release_1": held, "release_2": held2},
        "deliveries": {
            "records": len(deliveries),
            "attempt_statuses": dict(statuses),
            "refused_first_or_later": refused,
        },
        "intake_under_storm_histogram": intake,
        "probe": {**latency_summary(probe_latencies), "errors": dict(probe_errors)},
        "refund_accept": latency_summary(refund_latencies),
        "intake_outcomes": dict(received_by_outcome),
        "worker_outcomes": dict(processed),
        "webhook_events_by_status": events_by_status,
        "failed_rows_sample": [
            {"event_type": r.get("event_type"), "last_error": r.get("last_error")}
            for r in failed_rows
        ],
        "payments_by_status": dict(status_counts),
        "refunds": {
            "requested": len(to_refund),
            "accepted": len(refunds),
            "by_status": dict(Counter(r["status"] for r in refunds.values())),
        },
        "refunded_minor": {"gateway": gateway_refunded_total, "local": local_refunded_total},
        "mismatches": mismatches[:50],
        "mismatch_count": len(mismatches),
        "errors": dict(errors),
        "cpu_util": {name: v["util"] for name, v in cpu.items()},
        "checks": checks,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="100 payments")
    parser.add_argument("--payments", type=int)
    parser.add_argument("--seed", type=int, default=1, help="the sandbox's shuffle seed")
    parser.add_argument("--timeout", type=float, default=900, help="seconds for the storm to drain")
    args = parser.parse_args()
    args.payments = args.payments or (100 if args.quick else 500)

    env = environment()
    print(f"{NAME}: {args.payments} payments, webhooks x3 shuffled, real worker", flush=True)
    with Stack(NAME) as stack:
        app = stack.start_server("app")
        worker, _port = stack.start_worker(app)
        result = run(measure(args, stack, app.url, worker.url))

    intake, probe = result["intake_under_storm_histogram"], result["probe"]
    print()
    print(
        table(
            ["intake under the storm", "requests", "p50 ms", "p99 ms", "max ms"],
            [
                [
                    "app histogram (server side)",
                    intake["requests"],
                    intake["p50_s"] * 1000,
                    intake["p99_s"] * 1000,
                    "-",
                ],
                [
                    "probe (client side, 10/s)",
                    probe["n"],
                    probe["p50_ms"],
                    probe["p99_ms"],
                    probe["max_ms"],
                ],
            ],
        )
    )
    print(
        f"p99 bucket upper bound {intake['p99_bucket_upper_bound_s']} s; over 1 s: {intake['over_1s']}, "
        f"over 2.5 s: {intake['over_2_5s']}, over 5 s: {intake['over_5s']} (Razorpay's limit 5 s)"
    )
    print(
        f"timings {result['timings']}; held {result['held_webhooks']}; deliveries "
        f"{result['deliveries']}"
    )
    print(
        f"intake outcomes {result['intake_outcomes']}; worker outcomes {result['worker_outcomes']}"
    )
    print(
        f"payments by status {result['payments_by_status']}; refunds {result['refunds']}; "
        f"refunded minor {result['refunded_minor']}; inbox rows {result['webhook_events_by_status']}"
    )
    print(
        table(
            ["check", "result"], [[k, "pass" if v else "FAIL"] for k, v in result["checks"].items()]
        )
    )
    for line in result["mismatches"][:20]:
        print(f"  mismatch: {line}")
    for message, count in result["errors"].items():
        print(f"  {count} x {message}")
    for row in result["failed_rows_sample"][:5]:
        print(f"  FAILED inbox row: {row}")
    path = write_results(
        NAME, {"benchmark": NAME, "environment": env, "parameters": vars(args), **result}
    )
    print(f"written {path}")
    return 0 if all(result["checks"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
