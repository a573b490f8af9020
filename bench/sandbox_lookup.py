"""Does a Razorpay sandbox lookup cost more as the sandbox fills up?

The sandbox app (`create_razorpay_sandbox`) is called in process through httpx's ASGI
transport, so the figures are the handlers' own cost plus Starlette's, with no network or
load generator in the way. Orders are created through `POST /v1/orders` (a fresh receipt
each), and every fourth one is paid through `POST /checkout/{order_id}/pay` (card
4100280000001007, auto-captured) and refunded in part
(`POST /v1/payments/{id}/refund`, 100 paise). At each size (orders held: 500, 2,000, 8,000 by default,
grown cumulatively) these are timed serially, `--calls` each, on orders picked at random:

- `GET /v1/orders?receipt=R&count=100`: the lookup initiatePayment makes before each create;
- `GET /v1/orders/{id}/payments`: an order's payments (paid orders);
- `GET /v1/payments/{id}/refunds`: a payment's refunds.

Reported: median and p99 microseconds per call. A lookup that does not scan stays flat as the
sizes grow; one that scans grows with them.

    .venv/bin/python -m bench.sandbox_lookup [--sizes 500,2000,8000] [--calls 300]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from collections.abc import Awaitable, Callable

import httpx

from gateways.sandbox.razorpay import RazorpaySandboxConfig, create_razorpay_sandbox

_AUTH = ("rzp_test_bench", "bench-secret")
_CARD = {"method": "card", "card_number": "4100280000001007"}


async def _timed(calls: int, call: Callable[[], Awaitable[httpx.Response]]) -> tuple[float, float]:
    spent: list[float] = []
    for _ in range(calls):
        start = time.perf_counter()
        answer = await call()
        spent.append((time.perf_counter() - start) * 1e6)
        answer.raise_for_status()
    spent.sort()
    return statistics.median(spent), spent[min(len(spent) - 1, int(len(spent) * 0.99))]


async def run(sizes: list[int], calls: int) -> None:
    app = create_razorpay_sandbox(RazorpaySandboxConfig(key_id=_AUTH[0], key_secret=_AUTH[1]))
    transport = httpx.ASGITransport(app=app)
    rng = random.Random(16)
    orders: list[tuple[str, str]] = []  # (order id, receipt)
    paid: list[tuple[str, str]] = []  # (order id, payment id)
    async with httpx.AsyncClient(transport=transport, base_url="http://sb", auth=_AUTH) as http:
        print(f"{'orders':>7} {'lookup':<32} {'p50 us':>9} {'p99 us':>9}")
        for size in sizes:
            while len(orders) < size:
                receipt = f"rcpt-{len(orders)}"
                body = {"amount": 50000, "currency": "INR", "receipt": receipt}
                order = (await http.post("/v1/orders", json=body)).json()
                orders.append((order["id"], receipt))
                if len(orders) % 4 == 0:
                    answer = await http.post(f"/checkout/{order['id']}/pay", json=_CARD)
                    payment_id = answer.json()["razorpay_payment_id"]
                    paid.append((order["id"], payment_id))
                    await http.post(f"/v1/payments/{payment_id}/refund", json={"amount": 100})

            def by_receipt() -> Awaitable[httpx.Response]:
                receipt = rng.choice(orders)[1]
                return http.get("/v1/orders", params={"receipt": receipt, "count": 100})

            def order_payments() -> Awaitable[httpx.Response]:
                return http.get(f"/v1/orders/{rng.choice(paid)[0]}/payments")

            def payment_refunds() -> Awaitable[httpx.Response]:
                return http.get(f"/v1/payments/{rng.choice(paid)[1]}/refunds")

            for name, call in (
                ("GET /v1/orders?receipt=", by_receipt),
                ("GET /v1/orders/{id}/payments", order_payments),
                ("GET /v1/payments/{id}/refunds", payment_refunds),
            ):
                mean, p99 = await _timed(calls, call)
                print(f"{size:>7} {name:<32} {mean:>9.0f} {p99:>9.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="500,2000,8000")
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    asyncio.run(run([int(s) for s in args.sizes.split(",")], args.calls))


if __name__ == "__main__":
    main()
