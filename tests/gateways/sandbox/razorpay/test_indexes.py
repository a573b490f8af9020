"""The Razorpay sandbox's lookups by receipt, order, payment and customer read indexes kept
as entities are created: they find exactly what a scan would, and nothing after a reset."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateways.sandbox.razorpay.config import RazorpaySandboxConfig
from gateways.sandbox.razorpay.state import OrderRules, Sandbox
from tests.gateways.sandbox.razorpay.conftest import VISA, Rzp

if TYPE_CHECKING:  # fixture types only
    from tests.gateways.conftest import SandboxControl


async def test_lookups_follow_creation_and_reset(
    rzp: Rzp, razorpay_control: SandboxControl
) -> None:
    orders = [await rzp.order(receipt=f"idx-{n}") for n in range(200)]
    twin = await rzp.order(receipt="idx-7")  # receipts need not be unique
    for n, order in enumerate(orders):
        listed = await rzp.get("/v1/orders", receipt=f"idx-{n}")
        expected = [twin["id"], order["id"]] if n == 7 else [order["id"]]  # newest first
        assert [o["id"] for o in listed["items"]] == expected

    paid = orders[42]
    answer = await rzp.pay(paid["id"], method="card", card_number=VISA)
    payment_id = answer.json()["razorpay_payment_id"]
    payments = await rzp.get(f"/v1/orders/{paid['id']}/payments")
    assert [p["id"] for p in payments["items"]] == [payment_id]
    assert (await rzp.get(f"/v1/orders/{orders[43]['id']}/payments"))["count"] == 0
    assert [o["id"] for o in (await rzp.get("/v1/orders", authorized=1, count=100))["items"]] == [
        paid["id"]
    ]
    captured = await rzp.http.post(
        f"/v1/payments/{payment_id}/capture", json={"amount": 50_000, "currency": "INR"}
    )
    assert captured.status_code == 200, captured.text
    refunds = [(await rzp.refund(payment_id, amount=100)).json()["id"] for _ in range(2)]
    listed_refunds = await rzp.get(f"/v1/payments/{payment_id}/refunds")
    assert [r["id"] for r in listed_refunds["items"]] == refunds[::-1]

    customer = await rzp.customer(email="idx@example.com", contact="+919000000042")
    again = await rzp.customer(email="idx@example.com", contact="+919000000042", fail_existing="0")
    assert again["id"] == customer["id"]

    await razorpay_control.post(action="reset")
    assert (await rzp.get("/v1/orders", receipt="idx-42"))["count"] == 0
    answer = await rzp.http.get(f"/v1/orders/{paid['id']}/payments")
    assert answer.status_code == 400
    fresh = await rzp.customer(email="idx@example.com", contact="+919000000042")
    assert fresh["id"] != customer["id"]


def test_reset_empties_every_index() -> None:
    sandbox = Sandbox(RazorpaySandboxConfig(key_id="rzp_test_idx", key_secret="secret"))
    order = {"id": "order_000000000000A1", "receipt": "r-1"}
    sandbox.add_order(order, OrderRules(partial_payment=False, auto_capture=None))
    sandbox.add_payment({"id": "pay_00000000000000A1", "order_id": order["id"]})
    sandbox.add_refund({"id": "rfnd_0000000000000A1", "payment_id": "pay_00000000000000A1"})
    sandbox.add_customer({"id": "cust_0000000000000A1", "email": "a@b.c", "contact": None})
    sandbox.add_token("token_000000000000A1", {"customer_id": "cust_0000000000000A1"})
    assert [o["id"] for o in sandbox.orders_with_receipt("r-1")] == [order["id"]]
    assert [p["id"] for p in sandbox.payments_of(order["id"])] == ["pay_00000000000000A1"]
    assert [r["id"] for r in sandbox.refunds_of("pay_00000000000000A1")] == ["rfnd_0000000000000A1"]
    assert [t for t, _ in sandbox.tokens_of("cust_0000000000000A1")] == ["token_000000000000A1"]

    sandbox.reset()
    assert sandbox.orders_with_receipt("r-1") == []
    assert sandbox.payments_of(order["id"]) == []
    assert sandbox.refunds_of("pay_00000000000000A1") == []
    assert sandbox.tokens_of("cust_0000000000000A1") == []
    assert sandbox.customer_by_contact == {}
