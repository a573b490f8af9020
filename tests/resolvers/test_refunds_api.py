"""Refunds over GraphQL against the sandbox: never more than captured, never twice.

refundPayment answers once the amount is reserved (a new refund is PENDING); a real arq worker
(the `worker` fixture, on every test here) sends it to the gateway, so the tests wait for it to
leave PENDING before they look at the gateway's answer."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from beanie import PydanticObjectId

from models.enums import PaymentStatus, RefundStatus
from models.payment import Payment
from models.refund import Refund
from tests.resolvers.test_payments_api import order_id, pay_and_verify
from tests.support.checkout import Shopper
from tests.support.webhooks import eventually

REFUND = """
mutation($input: RefundPaymentInput!) {
  refundPayment(input: $input) {
    __typename
    ... on RefundSuccess { refund { id status amount { amount minor currency } gatewayRefundId errorMessage } }
    ... on UserError { code message }
    ... on ValidationError { field }
  }
}"""


@pytest.fixture
async def shopper(client, tokens) -> Shopper:
    await client.post("/sandbox/razorpay/_control", json={"action": "reset"})
    await client.post("/sandbox/paypal/_control", json={"action": "reset"})
    return Shopper(client, tokens.mint("cust-rf"))


@pytest.fixture
async def admin(client, tokens) -> Shopper:
    return Shopper(client, tokens.mint("ops-rf", admin=True))


async def completed_payment(shopper: Shopper, amount: str = "1000.00") -> str:
    initiated = await shopper.initiate(orderId=order_id(), amount=amount)
    verified = await pay_and_verify(shopper, initiated)
    assert verified["payment"]["status"] == "COMPLETED"
    return initiated["payment"]["id"]


pytestmark = pytest.mark.usefixtures("worker")

REFUND_NOW = """
query($id: ID!) {
  refund(id: $id) { id status amount { amount minor currency } gatewayRefundId errorMessage }
}"""


async def refund(who: Shopper, **fields) -> dict:
    """The mutation's answer: a new refund PENDING, or a UserError. Each call is a new refund
    request (its own idempotency key) unless the test passes one."""
    fields.setdefault("idempotencyKey", f"rf-{uuid.uuid4()}")
    return (await who.graphql(REFUND, {"input": fields}))["refundPayment"]


async def sent(who: Shopper, answer: dict, *, within: float = 20, settled: bool = True) -> dict:
    """The accepted refund once the worker has sent it: COMPLETED or FAILED, or with
    `settled=False` (the sandbox keeps refunds pending) no longer PENDING. PROCESSING alone
    does not say the send is done: the sandbox's refund.created webhook (status pending) may
    be applied before the worker records the gateway's "processed" answer."""
    assert answer["__typename"] == "RefundSuccess", answer
    done = {"COMPLETED", "FAILED"} if settled else {"PROCESSING", "COMPLETED", "FAILED"}
    current: dict = {}

    async def sent_by_the_worker() -> bool:
        current.update((await who.graphql(REFUND_NOW, {"id": answer["refund"]["id"]}))["refund"])
        return current["status"] in done

    await eventually(sent_by_the_worker, within=within)
    return current


async def refund_sent(who: Shopper, *, settled: bool = True, **fields) -> dict:
    return await sent(who, await refund(who, **fields), settled=settled)


async def settled_payment(pid: str, refunded_minor: int) -> Payment:
    """The payment once its refunds have settled to `refunded_minor`, none left in flight."""

    async def check() -> Payment | None:
        payment = await Payment.get(pid)
        done = (payment.refunded_minor, payment.refund_reserved_minor) == (refunded_minor, 0)
        return payment if done else None

    return await eventually(check)


async def sandbox_refunds(client) -> int:
    return (await client.get("/sandbox/razorpay/_control")).json()["counts"]["refunds"]


class TestFullAndPartial:
    async def test_answered_pending_then_sent(self, client, shopper, admin):
        # The answer comes once the amount is reserved, before the gateway is called.
        pid = await completed_payment(shopper)
        answer = await refund(admin, paymentId=pid, amount="100.00")
        assert answer["refund"]["status"] == "PENDING"
        assert answer["refund"]["gatewayRefundId"] is None
        assert (await Payment.get(pid)).refundable_minor == 90000  # reserved already
        done = await sent(admin, answer)
        assert done["status"] == "COMPLETED" and done["gatewayRefundId"].startswith("rfnd_")
        assert await sandbox_refunds(client) == 1

    async def test_full_refund(self, client, shopper, admin):
        pid = await completed_payment(shopper)
        result = {"refund": await refund_sent(admin, paymentId=pid)}
        assert result["refund"]["status"] == "COMPLETED"
        assert result["refund"]["amount"] == {
            "amount": "1000.00",
            "minor": 100000,
            "currency": "INR",
        }
        payment = await shopper.payment(pid)
        assert payment["status"] == "REFUNDED"
        assert payment["refundedAmount"]["minor"] == 100000

    async def test_three_partials_up_to_the_capture_and_a_fourth_rejected(
        self, client, shopper, admin
    ):
        pid = await completed_payment(shopper)
        for amount, status in (
            ("300.00", "PARTIALLY_REFUNDED"),
            ("300.00", "PARTIALLY_REFUNDED"),
            ("400.00", "REFUNDED"),
        ):
            assert (await refund_sent(admin, paymentId=pid, amount=amount))["status"] == "COMPLETED"
            assert (await shopper.payment(pid))["status"] == status
        fourth = await refund(admin, paymentId=pid, amount="1.00")
        assert fourth["code"] in ("REFUND_EXCEEDS_CAPTURED", "INVALID_STATE")
        payment = await Payment.get(pid)
        assert (payment.refunded_minor, payment.refund_reserved_minor) == (100000, 0)
        assert await sandbox_refunds(client) == 3

    async def test_over_refund_of_a_partially_refunded_payment(self, shopper, admin):
        pid = await completed_payment(shopper)
        await refund(admin, paymentId=pid, amount="600.00")
        over = await refund(admin, paymentId=pid, amount="500.00")
        assert over["code"] == "REFUND_EXCEEDS_CAPTURED"
        assert "400.00" in over["message"]

    async def test_fifty_concurrent_ten_percent_refunds(self, client, shopper, admin):
        pid = await completed_payment(shopper)
        results = await asyncio.gather(
            *(refund(admin, paymentId=pid, amount="100.00") for _ in range(50))
        )
        accepted = [r for r in results if r["__typename"] == "RefundSuccess"]
        rejected = [r for r in results if r["__typename"] != "RefundSuccess"]
        assert len(accepted) == 10
        assert {r["code"] for r in rejected} == {"REFUND_EXCEEDS_CAPTURED"}
        payment = await settled_payment(pid, 100000)
        assert payment.status is PaymentStatus.REFUNDED
        assert await Refund.find({"payment_id": payment.id}).count() == 10
        assert await sandbox_refunds(client) == 10


class TestIdempotency:
    async def test_a_refund_without_a_key_is_refused_before_anything_is_reserved(
        self, client, shopper, admin
    ):
        pid = await completed_payment(shopper)
        response = await admin.http.post(
            "/graphql",
            json={"query": REFUND, "variables": {"input": {"paymentId": pid, "amount": "10.00"}}},
            headers={"Authorization": f"Bearer {admin.token}"},
        )
        answer = response.json()
        assert answer.get("data") is None
        assert "idempotencyKey" in answer["errors"][0]["message"]
        assert await Refund.find({"payment_id": PydanticObjectId(pid)}).count() == 0
        assert await sandbox_refunds(client) == 0

    @pytest.mark.parametrize("key", ["", "   ", "k" * 129])
    async def test_a_blank_or_long_key_is_a_validation_error(self, shopper, admin, key):
        pid = await completed_payment(shopper)
        answer = await refund(admin, paymentId=pid, amount="10.00", idempotencyKey=key)
        assert (answer["__typename"], answer["code"], answer["field"]) == (
            "ValidationError",
            "VALIDATION_ERROR",
            "idempotencyKey",
        )
        assert await Refund.find({"payment_id": PydanticObjectId(pid)}).count() == 0

    async def test_double_submit_with_one_key_makes_one_gateway_refund(
        self, client, shopper, admin
    ):
        pid = await completed_payment(shopper)
        first, second = await asyncio.gather(
            refund(admin, paymentId=pid, amount="250.00", idempotencyKey="rf-key-1"),
            refund(admin, paymentId=pid, amount="250.00", idempotencyKey="rf-key-1"),
        )
        assert first["refund"]["id"] == second["refund"]["id"]
        await settled_payment(pid, 25000)
        assert await sandbox_refunds(client) == 1

    async def test_same_key_other_parameters_is_a_conflict(self, shopper, admin):
        pid = await completed_payment(shopper)
        await refund(admin, paymentId=pid, amount="250.00", idempotencyKey="rf-key-2")
        other = await refund(admin, paymentId=pid, amount="260.00", idempotencyKey="rf-key-2")
        assert other["code"] == "IDEMPOTENCY_CONFLICT"

    async def test_repeat_after_the_refund_took_the_rest_returns_it(self, client, shopper, admin):
        # The first refund empties the payment (REFUNDED): the repeat is not rejected as
        # INVALID_STATE, it gets the first refund back and nothing reaches the gateway again.
        pid = await completed_payment(shopper)
        first = await refund(admin, paymentId=pid, idempotencyKey="rf-key-3")
        await sent(admin, first)
        assert (await shopper.payment(pid))["status"] == "REFUNDED"
        again = await refund(admin, paymentId=pid, idempotencyKey="rf-key-3")
        assert again["__typename"] == "RefundSuccess"
        assert again["refund"]["id"] == first["refund"]["id"]
        assert await sandbox_refunds(client) == 1

    async def test_repeat_of_a_partial_when_too_little_is_left(self, client, shopper, admin):
        # 700 of 1000 refunded under a key; the repeat would exceed what is left, yet it is the
        # same request: it gets its refund back. Another key for 700 is refused.
        pid = await completed_payment(shopper)
        first = await refund(admin, paymentId=pid, amount="700.00", idempotencyKey="rf-key-4")
        again = await refund(admin, paymentId=pid, amount="700.00", idempotencyKey="rf-key-4")
        assert again["refund"]["id"] == first["refund"]["id"]
        other = await refund(admin, paymentId=pid, amount="700.00", idempotencyKey="rf-key-5")
        assert other["code"] == "REFUND_EXCEEDS_CAPTURED"
        conflict = await refund(admin, paymentId=pid, amount="1.00", idempotencyKey="rf-key-4")
        assert conflict["code"] == "IDEMPOTENCY_CONFLICT"
        await settled_payment(pid, 70000)
        assert await sandbox_refunds(client) == 1


class TestPermissionsAndState:
    async def test_customer_gets_forbidden_and_others_not_found(self, client, tokens, shopper):
        pid = await completed_payment(shopper)
        assert (await refund(shopper, paymentId=pid))["code"] == "FORBIDDEN"
        stranger = Shopper(client, tokens.mint("stranger"))
        assert (await refund(stranger, paymentId=pid))["code"] == "NOT_FOUND"
        assert await Refund.find_all().count() == 0

    async def test_only_completed_payments(self, shopper, admin):
        initiated = await shopper.initiate(orderId=order_id())
        result = await refund(admin, paymentId=initiated["payment"]["id"])
        assert result["code"] == "INVALID_STATE"

    async def test_refund_window(self, shopper, admin):
        from datetime import timedelta

        pid = await completed_payment(shopper)
        payment = await Payment.get(pid)
        old = [e.model_copy(update={"at": e.at - timedelta(days=181)}) for e in payment.timeline]
        await Payment.get_pymongo_collection().update_one(
            {"_id": payment.id}, {"$set": {"timeline": [e.model_dump() for e in old]}}
        )
        assert (await refund(admin, paymentId=pid))["code"] == "REFUND_WINDOW_EXPIRED"

    @pytest.mark.parametrize(
        ("amount", "field"),
        [("0", "amount"), ("-1.00", "amount"), ("1.001", "amount"), ("0.50", "amount")],
    )
    async def test_bad_amounts(self, shopper, admin, amount, field):
        pid = await completed_payment(shopper)
        result = await refund(admin, paymentId=pid, amount=amount)
        assert result["code"] == "VALIDATION_ERROR" and result["field"] == field
        assert await Refund.find_all().count() == 0


class TestGatewayOutcomes:
    async def test_gateway_failure_releases_the_amount(self, client, shopper, admin):
        pid = await completed_payment(shopper)
        await client.post(
            "/sandbox/razorpay/_control",
            json={"action": "fault", "path": "/v1/payments/*/refund", "status": 400, "count": 1},
        )
        result = await refund_sent(admin, paymentId=pid, amount="100.00")
        assert result["status"] == "FAILED"
        assert result["errorMessage"]
        payment = await settled_payment(pid, 0)
        assert payment.status is PaymentStatus.COMPLETED

    async def test_timeout_after_the_gateway_acted_ends_right_by_webhook(
        self, client, shopper, admin
    ):
        pid = await completed_payment(shopper)
        await client.post(
            "/sandbox/razorpay/_control",
            json={
                "action": "fault",
                "path": "/v1/payments/*/refund",
                "phase": "after",
                "delay": 4,
                "count": 3,
            },
        )
        result = await refund(admin, paymentId=pid, amount="200.00")
        assert result["refund"]["status"] == "PENDING"
        refund_id = result["refund"]["id"]

        async def settled() -> bool:
            found = await Refund.get(refund_id)
            return found.status is RefundStatus.COMPLETED

        await eventually(settled, within=30)
        payment = await Payment.get(pid)
        assert (payment.refunded_minor, payment.refund_reserved_minor) == (20000, 0)
        assert await sandbox_refunds(client) == 1

    async def test_pending_refund_settles_by_webhook(self, client, shopper, admin):
        pid = await completed_payment(shopper)
        await client.post(
            "/sandbox/razorpay/_control", json={"action": "configure", "refund_mode": "pending"}
        )
        result = {"refund": await refund_sent(admin, paymentId=pid, amount="100.00", settled=False)}
        assert result["refund"]["status"] == "PROCESSING"
        await client.post(
            "/sandbox/razorpay/_control",
            json={
                "action": "settle_refund",
                "refund_id": result["refund"]["gatewayRefundId"],
                "status": "failed",
            },
        )

        async def failed() -> bool:
            return (await Refund.get(result["refund"]["id"])).status is RefundStatus.FAILED

        await eventually(failed, within=20)
        payment = await Payment.get(pid)
        assert (payment.refunded_minor, payment.refund_reserved_minor) == (0, 0)

    async def test_paypal_partial_refund(self, shopper, admin):
        initiated = await shopper.initiate(
            orderId=order_id(), amount="50.00", currency="USD", paymentMethod="PAYPAL"
        )
        await shopper.approve_paypal(initiated["checkout"]["approveUrl"])
        await shopper.verify(paymentId=initiated["payment"]["id"])
        result = await refund_sent(admin, paymentId=initiated["payment"]["id"], amount="20.00")
        assert result["status"] == "COMPLETED"
        assert (await shopper.payment(initiated["payment"]["id"]))["status"] == "PARTIALLY_REFUNDED"


class TestReads:
    async def test_refund_query_and_payment_refunds(self, shopper, admin):
        pid = await completed_payment(shopper)
        created = await refund(admin, paymentId=pid, amount="10.00")
        await sent(admin, created)
        rid = created["refund"]["id"]
        mine = await shopper.graphql(
            "query($id: ID!) { refund(id: $id) { id status } }", {"id": rid}
        )
        assert mine["refund"]["status"] == "COMPLETED"
        listed = await shopper.graphql(
            "query($id: ID!) { payment(id: $id) { refunds { id } } }", {"id": pid}
        )
        assert listed["payment"]["refunds"] == [{"id": rid}]


class TestRefundStatusChanged:
    async def test_current_refunds_first_then_changes(self, client, app_server, shopper, admin):
        import json

        import websockets

        pid = await completed_payment(shopper)
        await refund_sent(admin, paymentId=pid, amount="10.00")
        await client.post(
            "/sandbox/razorpay/_control", json={"action": "configure", "refund_mode": "pending"}
        )
        ws = await websockets.connect(
            app_server.url.replace("http://", "ws://") + "/graphql",
            subprotocols=["graphql-transport-ws"],
        )
        try:
            await ws.send(
                json.dumps(
                    {
                        "type": "connection_init",
                        "payload": {"Authorization": f"Bearer {admin.token}"},
                    }
                )
            )
            assert json.loads(await ws.recv())["type"] == "connection_ack"
            query = "subscription($id: ID!) { refundStatusChanged(paymentId: $id) { id status } }"
            await ws.send(
                json.dumps(
                    {
                        "id": "r",
                        "type": "subscribe",
                        "payload": {"query": query, "variables": {"id": pid}},
                    }
                )
            )
            first = json.loads(await ws.recv())["payload"]["data"]["refundStatusChanged"]
            assert first["status"] == "COMPLETED"
            second = await refund(admin, paymentId=pid, amount="20.00")
            seen = []
            async with asyncio.timeout(15):
                while "PROCESSING" not in seen:
                    message = json.loads(await ws.recv())
                    change = message["payload"]["data"]["refundStatusChanged"]
                    if change["id"] == second["refund"]["id"]:
                        seen.append(change["status"])
        finally:
            await ws.close()
        assert seen == ["PENDING", "PROCESSING"]  # accepted, then sent by the worker


class TestGatewaySettlesLater:
    async def test_refund_settles_after_the_gateways_delay(self, client, shopper, admin):
        pid = await completed_payment(shopper)
        await client.post(
            "/sandbox/razorpay/_control",
            json={"action": "configure", "refund_mode": "pending", "refund_settle_seconds": 0.3},
        )
        result = await refund(admin, paymentId=pid, amount="100.00")
        assert result["refund"]["status"] == "PENDING"

        async def completed() -> bool:
            return (await Refund.get(result["refund"]["id"])).status is RefundStatus.COMPLETED

        await eventually(completed, within=20)
        assert (await Payment.get(pid)).refunded_minor == 10000


class TestRemainderBelowTheGatewayMinimum:
    async def test_is_refused_before_anything_is_reserved(self, shopper, admin):
        pid = await completed_payment(shopper, amount="5.00")
        assert (await refund_sent(admin, paymentId=pid, amount="4.50"))["status"] == "COMPLETED"
        rest = await refund(admin, paymentId=pid)
        assert rest["code"] == "REFUND_EXCEEDS_CAPTURED"
        payment = await settled_payment(pid, 450)
        assert await Refund.find({"payment_id": payment.id}).count() == 1
