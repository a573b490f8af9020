"""Events out under load: N checkout flows (initiatePayment -> sandbox pay -> verifyPayment) with
one healthy webhook endpoint registered, then an audit of what the shop's receiver got.

The stack is the real one: the app server and the sandbox gateways in processes of their own,
the real arq worker (its events lane relays and delivers) in another, SecantusDB and Redis.
The receiver runs in this process on a loopback port (uvicorn), verifies every delivery with the
`standardwebhooks` library and records its arrival time.

Audit: each payment must be told `payment.initiated` and `payment.completed` (2 x N expected
events): missing = expected (payment, type) pairs never delivered; duplicated = event ids
delivered (2xx) more than once; unverified = deliveries whose signature did not verify.
Latency, per delivered event: the receiver's arrival time (time.time() when the request reached
the handler) minus the event's `timestamp` (the time the change was written, set by the writing
process). Same machine, same clock.

    .venv/bin/python -m bench.events_delivery [--quick] [--flows N] [--concurrency N]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import string
import time
from collections import Counter
from datetime import datetime
from typing import Any

import uvicorn
from standardwebhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench._harness import (
    Shopper,
    Stack,
    client,
    clients,
    close_all,
    environment,
    latency_summary,
    run,
    table,
    write_results,
)
from infra.embedded import free_port

NAME = "events_delivery"
CREATE = """
mutation($input: CreateWebhookEndpointInput!) {
  createWebhookEndpoint(input: $input) {
    __typename ... on WebhookEndpointSecretSuccess { secret endpoint { id } }
  }
}"""
EXPECTED_TYPES = ("payment.initiated", "payment.completed")


class Receiver:
    def __init__(self) -> None:
        self.secret = ""
        self.arrivals: list[tuple[str, str, str, float]] = []  # id, type, payment id, latency
        self.unverified = 0

    def app(self) -> Starlette:
        async def hook(request: Request) -> Response:
            arrived = time.time()
            body = await request.body()
            try:
                payload = Webhook(self.secret).verify(body, dict(request.headers))
            except WebhookVerificationError:
                self.unverified += 1
                return Response(status_code=400)
            changed = datetime.fromisoformat(payload["timestamp"]).timestamp()
            self.arrivals.append(
                (
                    request.headers["webhook-id"],
                    payload["type"],
                    payload["data"]["payment"]["id"],
                    arrived - changed,
                )
            )
            return Response(status_code=204)

        return Starlette(routes=[Route("/hooks", hook, methods=["POST"])])


async def checkout(shopper: Shopper, order_id: str) -> str:
    initiated = await shopper.initiate(order_id)
    paid = await shopper.pay(initiated["checkout"]["gatewayOrderId"])
    await shopper.verify(initiated["payment"]["id"], paid)
    payment_id: str = initiated["payment"]["id"]
    return payment_id


async def measure(args: argparse.Namespace, stack: Stack, url: str) -> dict[str, Any]:
    receiver = Receiver()
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(receiver.app(), host="127.0.0.1", port=port, log_level="warning")
    )
    serving = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to await
        await asyncio.sleep(0.05)
    admin_http = client(url)
    try:
        admin = Shopper(admin_http, stack.token("ops-bench", admin=True), "ops-bench")
        made = (await admin.graphql(CREATE, {"input": {"url": f"http://127.0.0.1:{port}/hooks"}}))[
            "createWebhookEndpoint"
        ]
        receiver.secret = made["secret"]

        # Letters only around the number: a long digit run would look like a card number.
        tag = "".join(random.choice(string.ascii_lowercase) for _ in range(8))
        limit = asyncio.Semaphore(args.concurrency)
        https = clients(url, args.concurrency)
        started = time.monotonic()

        async def one(i: int) -> str:
            async with limit:
                http = https[i % len(https)]
                customer = f"cust-ev-{i % 50}"
                shopper = Shopper(
                    http, stack.token(customer), customer, sandbox_url=stack.sandbox_url or ""
                )
                return await checkout(shopper, f"evt-{tag}-{i}")

        payment_ids = await asyncio.gather(*(one(i) for i in range(args.flows)))
        flows_done = time.monotonic() - started
        expected = {(pid, t) for pid in payment_ids for t in EXPECTED_TYPES}
        deadline = time.monotonic() + args.wait
        while time.monotonic() < deadline:
            if {(pid, t) for _, t, pid, _ in receiver.arrivals} >= expected:
                break
            await asyncio.sleep(0.2)
        drained = time.monotonic() - started
        await asyncio.sleep(2.0)  # late duplicates, if any, would arrive now
        await close_all(https)
    finally:
        await admin_http.aclose()
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await serving

    delivered = {(pid, t) for _, t, pid, _ in receiver.arrivals}
    ids = Counter(event_id for event_id, *_ in receiver.arrivals)
    latencies = [latency for *_, latency in receiver.arrivals]
    return {
        "flows": args.flows,
        "concurrency": args.concurrency,
        "flows_elapsed_s": round(flows_done, 2),
        "all_delivered_after_s": round(drained, 2),
        "expected_events": len(expected),
        "delivered_events": len(ids),
        "missing": len(expected - delivered),
        "duplicated_ids": sum(1 for count in ids.values() if count > 1),
        "unverified": receiver.unverified,
        "by_type": dict(Counter(t for _, t, _, _ in receiver.arrivals)),
        "latency_change_to_delivery": latency_summary(latencies),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="200 flows")
    parser.add_argument("--flows", type=int)
    parser.add_argument("--concurrency", type=int, default=50, help="flows in flight at once")
    parser.add_argument("--wait", type=float, default=120.0, help="seconds to wait for events")
    args = parser.parse_args()
    args.flows = args.flows or (200 if args.quick else 1000)
    print(f"{NAME}: {args.flows} checkout flows, {args.concurrency} at a time", flush=True)
    env = environment()
    with Stack(NAME) as stack:
        app_port = free_port()
        stack.start_sandbox(webhook_port=app_port)
        app = stack.start_server("app", port=app_port)
        stack.start_worker(app)
        result = run(measure(args, stack, url=app.url))
    lat = result["latency_change_to_delivery"]
    print()
    print(
        table(
            [
                "expected",
                "delivered",
                "missing",
                "dup ids",
                "unverified",
                "p50 ms",
                "p99 ms",
                "max ms",
            ],
            [
                [
                    result["expected_events"],
                    result["delivered_events"],
                    result["missing"],
                    result["duplicated_ids"],
                    result["unverified"],
                    lat["p50_ms"],
                    lat["p99_ms"],
                    lat["max_ms"],
                ]
            ],
        )
    )
    print(
        f"\nflows done in {result['flows_elapsed_s']} s; every expected event delivered "
        f"{result['all_delivered_after_s']} s after the start; by type {json.dumps(result['by_type'])}"
    )
    write_results(NAME, {"environment": env, "result": result})
    ok = result["missing"] == 0 and result["duplicated_ids"] == 0 and result["unverified"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
