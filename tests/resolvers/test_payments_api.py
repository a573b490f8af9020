"""Payments over GraphQL against the sandbox gateways over real HTTP: every method from
initiatePayment to its final status, idempotency, ownership, validation and cancellation."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from models.payment import Payment
from tests.support.checkout import FAILING_CARD, Shopper

_orders = itertools.count(1)


def order_id() -> str:
    return f"ORD-{next(_orders):05d}"


@pytest.fixture
async def shopper(client, tokens) -> Shopper:
    return Shopper(client, tokens.mint("cust-1"))


@pytest.fixture
async def other_shopper(client, tokens) -> Shopper:
    return Shopper(client, tokens.mint("cust-2"))


@pytest.fixture
async def sandbox(client):
    """The sandboxes' control endpoints, reset before each test."""
    await client.post("/sandbox/razorpay/_control", json={"action": "reset"})
    await client.post("/sandbox/paypal/_control", json={"action": "reset"})

    class Control:
        async def razorpay(self) -> dict:
            return (await client.get("/sandbox/razorpay/_control")).json()

        async def razorpay_do(self, **action) -> dict:
            response = await client.post("/sandbox/razorpay/_control", json=action)
            assert response.status_code == 200, response.text
            return response.json()

        async def paypal(self) -> dict:
            return (await client.get("/sandbox/paypal/_control")).json()

    return Control()


async def pay_and_verify(shopper: Shopper, initiated: dict, **pay) -> dict:
    checkout = initiated["checkout"]
    paid = await shopper.pay_razorpay(checkout["gatewayOrderId"], **pay)
    assert "razorpay_payment_id" in paid, paid
    return await shopper.verify(
        paymentId=initiated["payment"]["id"],
        gatewayPaymentId=paid["razorpay_payment_id"],
        signature=paid["razorpay_signature"],
    )


class TestEveryMethodReachesItsFinalStatus:
    async def test_card(self, shopper, sandbox):
        initiated = await shopper.initiate(
            orderId=order_id(), amount="1499.50", paymentMethod="CARD"
        )
        assert initiated["__typename"] == "InitiatePaymentSuccess"
        assert initiated["payment"]["status"] == "INITIATED"
        assert initiated["checkout"]["gateway"] == "RAZORPAY"
        assert initiated["checkout"]["amountMinor"] == 149950
        assert initiated["checkout"]["keyId"].startswith("rzp_test_")
        verified = await pay_and_verify(shopper, initiated)
        assert verified["__typename"] == "PaymentSuccess"
        payment = verified["payment"]
        assert payment["status"] == "COMPLETED"
        assert payment["gatewayPaymentId"].startswith("pay_")
        # The sandbox captures automatically, as Razorpay accounts do by default.
        assert [e["toStatus"] for e in payment["timeline"]] == ["PENDING", "INITIATED", "COMPLETED"]
        assert {e["source"] for e in payment["timeline"]} == {"API"}

    async def test_manual_capture_authorizes_then_verify_captures(self, client, shopper, sandbox):
        await client.post(
            "/sandbox/razorpay/_control", json={"action": "configure", "auto_capture": False}
        )
        initiated = await shopper.initiate(orderId=order_id())
        verified = await pay_and_verify(shopper, initiated)
        timeline = [e["toStatus"] for e in verified["payment"]["timeline"]]
        assert timeline == ["PENDING", "INITIATED", "AUTHORIZED", "COMPLETED"]

    async def test_rupay_card(self, shopper, sandbox):
        initiated = await shopper.initiate(orderId=order_id(), paymentMethod="CARD")
        verified = await pay_and_verify(shopper, initiated, card_number="6527658900001005")
        assert verified["payment"]["status"] == "COMPLETED"

    async def test_upi_success(self, shopper, sandbox):
        initiated = await shopper.initiate(
            orderId=order_id(), paymentMethod="UPI", vpa="success@razorpay"
        )
        verified = await pay_and_verify(shopper, initiated, method="upi", vpa="success@razorpay")
        assert verified["payment"]["status"] == "COMPLETED"

    async def test_upi_failure_then_success_on_retry(self, shopper, sandbox):
        initiated = await shopper.initiate(orderId=order_id(), paymentMethod="UPI")
        order = initiated["checkout"]["gatewayOrderId"]
        failed = await shopper.pay_razorpay(order, method="upi", vpa="failure@razorpay")
        assert "error" in failed
        failed_id = failed["error"]["metadata"]["payment_id"]
        after_failure = await shopper.verify(
            paymentId=initiated["payment"]["id"], gatewayPaymentId=failed_id
        )
        assert after_failure["payment"]["status"] == "FAILED"
        assert after_failure["payment"]["attemptCount"] == 1
        assert after_failure["payment"]["errorMessage"]
        verified = await pay_and_verify(shopper, initiated, method="upi", vpa="success@razorpay")
        assert verified["payment"]["status"] == "COMPLETED"
        assert verified["payment"]["attemptCount"] == 1

    async def test_netbanking(self, shopper, sandbox):
        initiated = await shopper.initiate(
            orderId=order_id(), paymentMethod="NETBANKING", bank="HDFC"
        )
        verified = await pay_and_verify(shopper, initiated, method="netbanking", bank="HDFC")
        assert verified["payment"]["status"] == "COMPLETED"

    async def test_wallet(self, shopper, sandbox):
        initiated = await shopper.initiate(
            orderId=order_id(), paymentMethod="WALLET", wallet="phonepe"
        )
        verified = await pay_and_verify(shopper, initiated, method="wallet", wallet="phonepe")
        assert verified["payment"]["status"] == "COMPLETED"

    async def test_emi(self, shopper, sandbox):
        initiated = await shopper.initiate(
            orderId=order_id(), amount="30000.00", paymentMethod="EMI", installments=6
        )
        assert initiated["payment"]["installments"] == 6
        verified = await pay_and_verify(
            shopper, initiated, method="emi", card_number="5241810000000000", emi_duration=6
        )
        assert verified["payment"]["status"] == "COMPLETED"

    async def test_paypal_in_usd(self, shopper, sandbox):
        initiated = await shopper.initiate(
            orderId=order_id(), amount="25.00", currency="USD", paymentMethod="PAYPAL"
        )
        assert initiated["__typename"] == "InitiatePaymentSuccess", initiated
        checkout = initiated["checkout"]
        assert checkout["gateway"] == "PAYPAL" and checkout["approveUrl"]
        not_yet = await shopper.verify(paymentId=initiated["payment"]["id"])
        assert not_yet["code"] == "INVALID_STATE"
        await shopper.approve_paypal(checkout["approveUrl"])
        verified = await shopper.verify(paymentId=initiated["payment"]["id"])
        assert verified["payment"]["status"] == "COMPLETED"
        again = await shopper.verify(paymentId=initiated["payment"]["id"])
        assert again["payment"]["status"] == "COMPLETED"
        assert (await sandbox.paypal())["captures"] == 1

    async def test_declined_card_counts_an_attempt(self, shopper, sandbox):
        initiated = await shopper.initiate(orderId=order_id())
        failed = await shopper.pay_razorpay(
            initiated["checkout"]["gatewayOrderId"], card_number=FAILING_CARD
        )
        result = await shopper.verify(
            paymentId=initiated["payment"]["id"],
            gatewayPaymentId=failed["error"]["metadata"]["payment_id"],
        )
        assert result["payment"]["status"] == "FAILED"
        assert result["payment"]["attemptCount"] == 1


class TestIdempotency:
    async def test_identical_repeat_returns_the_same_payment_and_order(self, shopper, sandbox):
        oid = order_id()
        first = await shopper.initiate(orderId=oid, amount="100.00")
        second = await shopper.initiate(orderId=oid, amount="100.00")
        assert second["payment"]["id"] == first["payment"]["id"]
        assert second["checkout"] == first["checkout"]
        assert (await sandbox.razorpay())["counts"]["orders"] == 1

    async def test_same_order_different_parameters_is_duplicate_order(self, shopper, sandbox):
        oid = order_id()
        first = await shopper.initiate(orderId=oid, amount="100.00")
        second = await shopper.initiate(orderId=oid, amount="200.00")
        assert second["__typename"] == "DuplicateOrderError"
        assert second["code"] == "DUPLICATE_ORDER"
        assert second["existingPaymentId"] == first["payment"]["id"]

    async def test_fifty_concurrent_identical_requests_make_one_payment_and_one_order(
        self, shopper, sandbox
    ):
        oid = order_id()
        results = await asyncio.gather(
            *(shopper.initiate(orderId=oid, amount="777.00") for _ in range(50))
        )
        assert {r["__typename"] for r in results} == {"InitiatePaymentSuccess"}
        assert len({r["payment"]["id"] for r in results}) == 1
        assert len({r["checkout"]["gatewayOrderId"] for r in results}) == 1
        assert await Payment.find({"order_id": oid}).count() == 1
        assert (await sandbox.razorpay())["counts"]["orders"] == 1

    async def test_verifying_a_completed_payment_returns_it_unchanged(self, shopper, sandbox):
        initiated = await shopper.initiate(orderId=order_id())
        first = await pay_and_verify(shopper, initiated)
        again = await shopper.verify(
            paymentId=initiated["payment"]["id"],
            gatewayPaymentId=first["payment"]["gatewayPaymentId"],
        )
        assert again["payment"] == first["payment"]


class TestSignatures:
    async def test_wrong_signature_is_refused_and_counts_an_attempt(self, shopper, sandbox):
        initiated = await shopper.initiate(orderId=order_id())
        paid = await shopper.pay_razorpay(initiated["checkout"]["gatewayOrderId"])
        result = await shopper.verify(
            paymentId=initiated["payment"]["id"],
            gatewayPaymentId=paid["razorpay_payment_id"],
            signature="0" * 64,
        )
        assert result["__typename"] == "InvalidSignatureError"
        payment = await shopper.payment(initiated["payment"]["id"])
        assert payment["attemptCount"] == 1
        assert payment["status"] == "FAILED"

    async def test_a_hex_signature_with_a_luhn_digit_run_is_not_taken_for_a_card(
        self, shopper, sandbox
    ):
        initiated = await shopper.initiate(orderId=order_id())
        paid = await shopper.pay_razorpay(initiated["checkout"]["gatewayOrderId"])
        signature = "9f4100280000001007" + "ab" * 23
        result = await shopper.verify(
            paymentId=initiated["payment"]["id"],
            gatewayPaymentId=paid["razorpay_payment_id"],
            signature=signature,
        )
        assert result["code"] == "INVALID_SIGNATURE"

    async def test_a_payment_of_another_order_is_refused(self, shopper, sandbox):
        one = await shopper.initiate(orderId=order_id())
        two = await shopper.initiate(orderId=order_id())
        paid_two = await shopper.pay_razorpay(two["checkout"]["gatewayOrderId"])
        result = await shopper.verify(
            paymentId=one["payment"]["id"], gatewayPaymentId=paid_two["razorpay_payment_id"]
        )
        assert result["code"] == "INVALID_SIGNATURE"
        assert (await shopper.payment(one["payment"]["id"]))["status"] == "INITIATED"

    async def test_max_attempts_end_the_payment(self, shopper, sandbox):
        oid = order_id()
        initiated = await shopper.initiate(orderId=oid)
        for _ in range(3):
            await shopper.verify(
                paymentId=initiated["payment"]["id"], gatewayPaymentId="pay_x", signature="bad"
            )
        payment = await shopper.payment(initiated["payment"]["id"])
        assert payment["status"] == "FAILED" and payment["attemptCount"] == 3
        again = await shopper.initiate(orderId=oid)
        assert again["code"] == "MAX_ATTEMPTS_EXCEEDED"


class TestOwnership:
    async def test_another_customer_gets_not_found(self, client, shopper, other_shopper, sandbox):
        initiated = await shopper.initiate(orderId=order_id())
        pid = initiated["payment"]["id"]
        response = await client.post(
            "/graphql",
            json={"query": "query($id: ID!) { payment(id: $id) { id } }", "variables": {"id": pid}},
            headers={"Authorization": f"Bearer {other_shopper.token}"},
        )
        assert response.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
        assert (await other_shopper.verify(paymentId=pid, gatewayPaymentId="pay_x"))[
            "code"
        ] == "NOT_FOUND"
        assert (await other_shopper.cancel(pid))["code"] == "NOT_FOUND"

    async def test_admin_sees_any_payment(self, client, tokens, shopper, sandbox):
        initiated = await shopper.initiate(orderId=order_id())
        admin = Shopper(client, tokens.mint("ops", admin=True))
        assert (await admin.payment(initiated["payment"]["id"]))["customerId"] == "cust-1"

    async def test_malformed_id_is_not_found(self, client, shopper):
        response = await client.post(
            "/graphql",
            json={"query": '{ payment(id: "not-an-id") { id } }'},
            headers={"Authorization": f"Bearer {shopper.token}"},
        )
        assert response.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"


class TestValidation:
    @pytest.mark.parametrize(
        ("fields", "code", "field"),
        [
            ({"amount": "0"}, "VALIDATION_ERROR", "amount"),
            ({"amount": "-5.00"}, "VALIDATION_ERROR", "amount"),
            ({"amount": "1000000.00"}, "VALIDATION_ERROR", "amount"),
            ({"amount": "10.123"}, "VALIDATION_ERROR", "amount"),
            ({"amount": "abc"}, "VALIDATION_ERROR", "amount"),
            ({"amount": "0.50"}, "VALIDATION_ERROR", "amount"),
            ({"orderId": ""}, "VALIDATION_ERROR", "orderId"),
            ({"orderId": "has space"}, "VALIDATION_ERROR", "orderId"),
            ({"orderId": "x" * 51}, "VALIDATION_ERROR", "orderId"),
            ({"currency": "XYZ"}, "VALIDATION_ERROR", "currency"),
            ({"paymentMethod": "UPI", "vpa": "not a vpa"}, "VALIDATION_ERROR", "vpa"),
            ({"paymentMethod": "NETBANKING", "bank": "NOPE"}, "VALIDATION_ERROR", "bank"),
            ({"paymentMethod": "WALLET", "wallet": "bitcoin"}, "VALIDATION_ERROR", "wallet"),
            ({"installments": 3}, "VALIDATION_ERROR", "installments"),
            (
                {"paymentMethod": "EMI", "amount": "30000.00", "installments": 5},
                "VALIDATION_ERROR",
                "installments",
            ),
            (
                {"paymentMethod": "EMI", "amount": "100.00", "installments": 3},
                "VALIDATION_ERROR",
                "amount",
            ),
            ({"notes": "n" * 501}, "VALIDATION_ERROR", "notes"),
            ({"savedMethodId": "000000000000000000000000"}, "NOT_FOUND", "savedMethodId"),
        ],
    )
    async def test_bad_input_gets_a_typed_error_and_writes_nothing(
        self, shopper, sandbox, fields, code, field
    ):
        fields.setdefault("orderId", order_id())
        result = await shopper.initiate(**fields)
        assert result["code"] == code, result
        if "field" in result:
            assert result["field"] == field
        assert await Payment.find_all().count() == 0
        assert (await sandbox.razorpay())["counts"]["orders"] == 0

    async def test_paypal_in_inr_is_unsupported(self, shopper, sandbox):
        result = await shopper.initiate(orderId=order_id(), currency="INR", paymentMethod="PAYPAL")
        assert result["code"] == "UNSUPPORTED_METHOD"
        assert await Payment.find_all().count() == 0
        assert (await sandbox.paypal())["request_count"] == 0

    async def test_upi_in_usd_is_unsupported(self, shopper, sandbox):
        result = await shopper.initiate(orderId=order_id(), currency="USD", paymentMethod="UPI")
        assert result["code"] == "UNSUPPORTED_METHOD"

    async def test_unknown_enum_value_is_a_graphql_error(self, client, shopper):
        response = await client.post(
            "/graphql",
            json={
                "query": 'mutation { initiatePayment(input: {orderId: "A", amount: "1.00", paymentMethod: CASH}) { __typename } }'
            },
            headers={"Authorization": f"Bearer {shopper.token}"},
        )
        assert response.json()["errors"]
        assert await Payment.find_all().count() == 0


class TestCancelAndExpiry:
    async def test_cancel_an_initiated_payment(self, shopper, sandbox):
        initiated = await shopper.initiate(orderId=order_id())
        cancelled = await shopper.cancel(initiated["payment"]["id"])
        assert cancelled["payment"]["status"] == "CANCELLED"
        # Verifying a closed payment asks the gateway first: it knows no such payment.
        verify = await shopper.verify(
            paymentId=initiated["payment"]["id"], gatewayPaymentId="pay_x"
        )
        assert verify["code"] == "INVALID_SIGNATURE"
        assert (await shopper.payment(initiated["payment"]["id"]))["status"] == "CANCELLED"

    async def test_a_cancelled_payment_paid_later_is_refused_and_its_money_returned(
        self, shopper, sandbox
    ):
        initiated = await shopper.initiate(orderId=order_id())
        await shopper.cancel(initiated["payment"]["id"])
        paid = await shopper.pay_razorpay(initiated["checkout"]["gatewayOrderId"])
        verify = await shopper.verify(
            paymentId=initiated["payment"]["id"],
            gatewayPaymentId=paid["razorpay_payment_id"],
            signature=paid["razorpay_signature"],
        )
        assert verify["code"] == "INVALID_STATE"
        assert "never captured" in verify["message"]

    async def test_a_completed_payment_cannot_be_cancelled(self, shopper, sandbox):
        initiated = await shopper.initiate(orderId=order_id())
        await pay_and_verify(shopper, initiated)
        assert (await shopper.cancel(initiated["payment"]["id"]))["code"] == "INVALID_STATE"

    async def test_expiry_marks_unpaid_payments_expired(self, shopper, sandbox, settings):
        from datetime import timedelta

        from core import build_core
        from models.clock import utcnow

        initiated = await shopper.initiate(orderId=order_id())
        paid = await shopper.initiate(orderId=order_id())
        await pay_and_verify(shopper, paid)
        core = build_core(settings, serve_sandboxes=False)  # the expiry job's services
        try:
            # It asks the gateway first: the unpaid order holds nothing, so it expires.
            assert await core.payments.expire_stale(now=utcnow() + timedelta(minutes=61)) == 1
        finally:
            await core.aclose()
        expired = await shopper.payment(initiated["payment"]["id"])
        assert expired["status"] == "EXPIRED"
        assert expired["timeline"][-1]["source"] == "EXPIRY"
        assert (await shopper.payment(paid["payment"]["id"]))["status"] == "COMPLETED"


class TestReads:
    async def test_payments_connection_pages_newest_first(self, shopper, other_shopper, sandbox):
        ids = [(await shopper.initiate(orderId=order_id()))["payment"]["id"] for _ in range(3)]
        await other_shopper.initiate(orderId=order_id())
        query = "query($after: String) { payments(first: 2, after: $after) { edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }"
        page1 = (await shopper.graphql(query))["payments"]
        assert [e["node"]["id"] for e in page1["edges"]] == ids[::-1][:2]
        assert page1["pageInfo"]["hasNextPage"] is True
        page2 = (await shopper.graphql(query, {"after": page1["pageInfo"]["endCursor"]}))[
            "payments"
        ]
        assert [e["node"]["id"] for e in page2["edges"]] == [ids[0]]
        assert page2["pageInfo"]["hasNextPage"] is False

    async def test_first_is_capped(self, client, shopper):
        response = await client.post(
            "/graphql",
            json={"query": "{ payments(first: 101) { edges { cursor } } }"},
            headers={"Authorization": f"Bearer {shopper.token}"},
        )
        assert response.json()["errors"][0]["extensions"]["code"] == "VALIDATION_ERROR"

    async def test_supported_methods_and_banks(self, shopper):
        inr = (
            await shopper.graphql(
                '{ supportedMethods(currency: "INR", amount: "3000.00") { method gateway emiTenures } }'
            )
        )["supportedMethods"]
        assert {m["method"] for m in inr} == {"CARD", "UPI", "NETBANKING", "WALLET", "EMI"}
        usd = (await shopper.graphql('{ supportedMethods(currency: "USD") { method gateway } }'))[
            "supportedMethods"
        ]
        assert {"method": "PAYPAL", "gateway": "PAYPAL"} in usd
        assert all(m["method"] != "UPI" for m in usd)
        banks = (await shopper.graphql("{ netbankingBanks { code name } }"))["netbankingBanks"]
        assert {"code": "HDFC", "name": "HDFC Bank"} in banks


class TestRejectedOrders:
    async def test_each_rejected_order_counts_until_max_attempts(self, client, shopper, sandbox):
        await client.post(
            "/sandbox/razorpay/_control",
            json={
                "action": "fault",
                "path": "/v1/orders",
                "method": "POST",
                "status": 400,
                "count": 10,
            },
        )
        oid = order_id()
        try:
            codes = [
                (await shopper.initiate(orderId=oid, amount="100.00"))["code"] for _ in range(4)
            ]
        finally:
            await client.post("/sandbox/razorpay/_control", json={"action": "clear_faults"})
        assert codes == ["GATEWAY_REJECTED"] * 3 + ["MAX_ATTEMPTS_EXCEEDED"]
        payment = await Payment.find_one({"order_id": oid})
        assert payment.attempt_count == 3 and payment.order_lease_until is None


class TestCheckoutForAShopsOwnPage:
    async def test_razorpay_checkout_names_the_script_to_load(self, shopper, sandbox, app_server):
        initiated = await shopper.initiate(orderId=order_id())
        # Outside production: the sandbox's stand-in for Razorpay's checkout.js.
        assert initiated["checkout"]["scriptUrl"] == (
            f"{app_server.url}/sandbox/razorpay/v1/checkout.js"
        )

    async def test_paypal_sends_the_buyer_back_to_the_shops_page(self, shopper, sandbox, client):
        shop = "http://localhost:5173"  # a Vite dev server: allowed by default outside production
        initiated = await shopper.initiate(
            orderId=order_id(),
            amount="25.00",
            currency="USD",
            paymentMethod="PAYPAL",
            returnUrl=f"{shop}/order/42?step=paid",
            cancelUrl=f"{shop}/order/42",
        )
        checkout = initiated["checkout"]
        assert checkout["scriptUrl"] is None  # PayPal's approval is a redirect
        approved = await client.post(checkout["approveUrl"], json={"action": "approve"})
        redirect = approved.json()["redirect_url"]
        assert redirect.startswith(f"{shop}/order/42?step=paid&token={checkout['gatewayOrderId']}")

    @pytest.mark.parametrize(
        ("url", "why"),
        [
            ("https://evil.example/steal", "allowed origin"),
            ("/relative/path", "absolute"),
            ("javascript:alert(1)", "absolute"),
        ],
    )
    async def test_a_return_url_elsewhere_is_refused_before_anything_is_made(
        self, shopper, sandbox, url, why
    ):
        answer = await shopper.initiate(
            orderId=order_id(),
            amount="25.00",
            currency="USD",
            paymentMethod="PAYPAL",
            returnUrl=url,
        )
        assert (answer["__typename"], answer["code"], answer["field"]) == (
            "ValidationError",
            "VALIDATION_ERROR",
            "returnUrl",
        )
        assert why in answer["message"]
        assert await Payment.find_all().count() == 0
