"""The Razorpay sandbox's REST API over real HTTP: auth, the SDK, errors, orders, capture,
refunds."""

from __future__ import annotations

import base64
import uuid
from typing import TYPE_CHECKING

import httpx
import pytest
import razorpay

from tests.gateways.sandbox.razorpay.conftest import NA_ENVELOPE, VISA, Rzp, error_of, get_orders

if TYPE_CHECKING:  # fixture types only
    from tests.gateways.conftest import RazorpayCredentials, SandboxControl


class TestAuthentication:
    async def test_missing_credentials_get_401(
        self, razorpay_sandbox_url: str, razorpay_control: SandboxControl
    ) -> None:
        answer = await get_orders(razorpay_sandbox_url)
        assert answer.status_code == 401
        assert error_of(answer) == {
            "code": "BAD_REQUEST_ERROR",
            "description": "Please provide your api key for authentication purposes.",
            **NA_ENVELOPE,
        }

    async def test_unknown_key_id_gets_401(
        self, razorpay_sandbox_url: str, razorpay_credentials: RazorpayCredentials
    ) -> None:
        auth = ("rzp_test_SomeoneElse", razorpay_credentials.key_secret)
        answer = await get_orders(razorpay_sandbox_url, auth=auth)
        assert answer.status_code == 401
        assert error_of(answer)["description"] == "The api key provided is invalid"

    async def test_wrong_secret_gets_401(
        self, razorpay_sandbox_url: str, razorpay_credentials: RazorpayCredentials
    ) -> None:
        answer = await get_orders(razorpay_sandbox_url, auth=(razorpay_credentials.key_id, "nope"))
        assert answer.status_code == 401
        assert error_of(answer)["description"] == "The api secret provided is invalid"

    async def test_lowercase_basic_scheme_gets_401(
        self, razorpay_sandbox_url: str, razorpay_credentials: RazorpayCredentials
    ) -> None:
        pair = f"{razorpay_credentials.key_id}:{razorpay_credentials.key_secret}"
        header = "basic " + base64.b64encode(pair.encode()).decode()
        answer = await get_orders(razorpay_sandbox_url, headers={"Authorization": header})
        assert answer.status_code == 401

    async def test_checkout_stand_in_needs_no_api_secret(self, rzp: Rzp) -> None:
        order = await rzp.order()
        async with httpx.AsyncClient(base_url=str(rzp.http.base_url)) as browser:
            answer = await browser.post(
                f"/checkout/{order['id']}/pay", json={"method": "upi", "vpa": "success@razorpay"}
            )
        assert answer.status_code == 200


class TestSdkCompatibility:
    def test_sdk_client_works_against_the_prefixed_base_url(
        self, razorpay_sandbox_url: str, razorpay_credentials: RazorpayCredentials
    ) -> None:
        client = razorpay.Client(
            auth=(razorpay_credentials.key_id, razorpay_credentials.key_secret),
            base_url=razorpay_sandbox_url,
        )
        receipt = uuid.uuid4().hex[:20]
        order = client.order.create({"amount": 12_300, "currency": "INR", "receipt": receipt})
        assert client.order.fetch(order["id"])["amount_due"] == 12_300
        assert [o["id"] for o in client.order.all({"receipt": receipt})["items"]] == [order["id"]]

    def test_sdk_maps_sandbox_errors_to_its_bad_request_error(
        self, razorpay_sandbox_url: str, razorpay_credentials: RazorpayCredentials
    ) -> None:
        client = razorpay.Client(
            auth=(razorpay_credentials.key_id, razorpay_credentials.key_secret),
            base_url=razorpay_sandbox_url,
        )
        with pytest.raises(razorpay.errors.BadRequestError, match="does not exist"):
            client.payment.fetch("pay_AAAAAAAAAAAAAA")

    async def test_sdk_verifies_the_checkout_signature(
        self, rzp: Rzp, razorpay_credentials: RazorpayCredentials
    ) -> None:
        order = await rzp.order()
        answer = await rzp.pay(order["id"], method="card", card_number=VISA)
        keys = (razorpay_credentials.key_id, razorpay_credentials.key_secret)
        assert razorpay.Client(auth=keys).utility.verify_payment_signature(answer.json())


class TestErrorEnvelope:
    async def test_unknown_route_is_400_not_found(self, rzp: Rzp) -> None:
        answer = await rzp.http.get("/v1/nothing-here")
        assert answer.status_code == 400
        assert error_of(answer) == {
            "code": "BAD_REQUEST_ERROR",
            "description": "The requested URL was not found on the server.",
            **NA_ENVELOPE,
        }

    async def test_unknown_id_is_400_does_not_exist(self, rzp: Rzp) -> None:
        answer = await rzp.http.get("/v1/orders/order_AAAAAAAAAAAAAA")
        assert answer.status_code == 400
        assert error_of(answer)["description"] == "The id provided does not exist"

    async def test_malformed_id_is_400_not_a_valid_id(self, rzp: Rzp) -> None:
        answer = await rzp.http.get("/v1/payments/pay_short")
        assert answer.status_code == 400
        assert error_of(answer)["description"] == "pay_short is not a valid id"

    async def test_amount_below_one_rupee_names_the_field(self, rzp: Rzp) -> None:
        answer = await rzp.http.post("/v1/orders", json={"amount": 99, "currency": "INR"})
        assert answer.status_code == 400
        assert error_of(answer) == {
            "code": "BAD_REQUEST_ERROR",
            "description": "The amount must be at least INR 1.00",
            "source": "business",
            "step": "payment_initiation",
            "reason": "input_validation_failed",
            "metadata": {},
            "field": "amount",
        }

    async def test_unexpected_field_is_not_required(self, rzp: Rzp) -> None:
        answer = await rzp.http.post(
            "/v1/orders", json={"amount": 100, "currency": "INR", "colour": "red"}
        )
        description = error_of(answer)["description"]
        assert description == "colour is/are not required and should not be sent"

    async def test_non_integer_amount_is_rejected(self, rzp: Rzp) -> None:
        answer = await rzp.http.post("/v1/orders", json={"amount": 100.5, "currency": "INR"})
        assert error_of(answer)["description"] == "The amount must be an integer."

    async def test_body_that_is_not_json_is_rejected(self, rzp: Rzp) -> None:
        answer = await rzp.http.post(
            "/v1/orders", content=b"amount=100", headers={"Content-Type": "application/json"}
        )
        assert answer.status_code == 400
        assert error_of(answer)["description"] == "The request body is not valid JSON."


class TestOrders:
    async def test_new_order_has_razorpay_shape(self, rzp: Rzp) -> None:
        order = await rzp.order(50_000, receipt="rcpt-1")
        assert order["id"].startswith("order_") and len(order["id"]) == len("order_") + 14
        assert {k: order[k] for k in ("entity", "amount_paid", "amount_due", "status")} == {
            "entity": "order",
            "amount_paid": 0,
            "amount_due": 50_000,
            "status": "created",
        }
        assert (order["attempts"], order["offer_id"], order["receipt"]) == (0, None, "rcpt-1")
        assert order["notes"] == []  # empty notes serialise as a PHP list
        assert "partial_payment" not in order

    async def test_list_filters_by_receipt(self, rzp: Rzp) -> None:
        mine = await rzp.order(receipt="shared-receipt")
        await rzp.order(receipt="other-receipt")
        listed = await rzp.get("/v1/orders", receipt="shared-receipt")
        assert listed["entity"] == "collection"
        assert [o["id"] for o in listed["items"]] == [mine["id"]]

    async def test_duplicate_receipts_are_accepted_by_default(self, rzp: Rzp) -> None:
        await rzp.order(receipt="dup-receipt")
        await rzp.order(receipt="dup-receipt")
        assert (await rzp.get("/v1/orders", receipt="dup-receipt"))["count"] == 2

    async def test_receipt_uniqueness_can_be_switched_on(
        self, rzp: Rzp, razorpay_control: SandboxControl
    ) -> None:
        await razorpay_control.post(action="configure", order_receipt_unique=True)
        await rzp.order(receipt="unique-receipt")
        answer = await rzp.http.post(
            "/v1/orders", json={"amount": 100, "currency": "INR", "receipt": "unique-receipt"}
        )
        assert error_of(answer)["description"] == "Receipt should be unique."

    async def test_receipt_over_40_characters_is_rejected(self, rzp: Rzp) -> None:
        answer = await rzp.http.post(
            "/v1/orders", json={"amount": 100, "currency": "INR", "receipt": "r" * 41}
        )
        assert error_of(answer)["field"] == "receipt"

    async def test_payments_of_an_order_are_listed(self, rzp: Rzp) -> None:
        order = await rzp.order()
        await rzp.pay(order["id"], method="upi", vpa="failure@razorpay")
        await rzp.pay(order["id"], method="upi", vpa="success@razorpay")
        listed = await rzp.get(f"/v1/orders/{order['id']}/payments")
        assert sorted(p["status"] for p in listed["items"]) == ["authorized", "failed"]
        assert (await rzp.get(f"/v1/orders/{order['id']}"))["attempts"] == 2


class TestCapture:
    async def test_capture_moves_payment_and_order_forward(self, rzp: Rzp) -> None:
        payment = await rzp.captured()
        assert (payment["status"], payment["captured"]) == ("captured", True)
        assert payment["fee"] is not None and payment["tax"] is not None
        order = await rzp.get(f"/v1/orders/{payment['order_id']}")
        assert (order["status"], order["amount_paid"], order["amount_due"]) == ("paid", 50_000, 0)

    async def test_wrong_amount_is_refused(self, rzp: Rzp) -> None:
        payment = await rzp.authorized()
        answer = await rzp.http.post(
            f"/v1/payments/{payment['id']}/capture", json={"amount": 100, "currency": "INR"}
        )
        assert error_of(answer)["description"] == (
            "Capture amount must be equal to the amount authorized"
        )

    async def test_wrong_currency_is_refused(self, rzp: Rzp) -> None:
        payment = await rzp.authorized()
        answer = await rzp.http.post(
            f"/v1/payments/{payment['id']}/capture", json={"amount": 50_000, "currency": "USD"}
        )
        assert error_of(answer)["description"] == (
            "Capture request currency must be same as payment currency"
        )

    async def test_second_capture_is_refused(self, rzp: Rzp) -> None:
        payment = await rzp.captured()
        answer = await rzp.http.post(
            f"/v1/payments/{payment['id']}/capture", json={"amount": 50_000, "currency": "INR"}
        )
        assert error_of(answer)["description"] == "This payment has already been captured"

    async def test_auto_capture_order_captures_at_payment(self, rzp: Rzp) -> None:
        order = await rzp.order(payment={"capture": "automatic"})
        answer = await rzp.pay(order["id"], method="upi", vpa="success@razorpay")
        payment = await rzp.get(f"/v1/payments/{answer.json()['razorpay_payment_id']}")
        assert payment["status"] == "captured"


class TestRefunds:
    async def test_partial_refund_keeps_the_payment_captured(self, rzp: Rzp) -> None:
        payment = await rzp.captured()
        answer = await rzp.refund(payment["id"], "partial-key-01", amount=20_000)
        assert (answer.json()["status"], answer.json()["amount"]) == ("processed", 20_000)
        after = await rzp.get(f"/v1/payments/{payment['id']}")
        assert (after["status"], after["refund_status"], after["amount_refunded"]) == (
            "captured",
            "partial",
            20_000,
        )

    async def test_refunding_the_rest_refunds_the_payment(self, rzp: Rzp) -> None:
        payment = await rzp.captured()
        await rzp.refund(payment["id"], "rest-key-0001", amount=20_000)
        answer = await rzp.refund(payment["id"], "rest-key-0002")
        assert answer.json()["amount"] == 30_000
        after = await rzp.get(f"/v1/payments/{payment['id']}")
        assert (after["status"], after["refund_status"]) == ("refunded", "full")

    async def test_refund_of_a_refunded_payment_is_refused(self, rzp: Rzp) -> None:
        payment = await rzp.captured()
        await rzp.refund(payment["id"], "full-key-0001")
        answer = await rzp.refund(payment["id"], "full-key-0002")
        assert error_of(answer)["description"] == "The payment has been fully refunded already"

    async def test_same_key_same_body_replays_the_refund(self, rzp: Rzp) -> None:
        payment = await rzp.captured()
        first = await rzp.refund(payment["id"], "replay-key-01", amount=10_000)
        second = await rzp.refund(payment["id"], "replay-key-01", amount=10_000)
        assert (second.status_code, second.json()["id"]) == (200, first.json()["id"])
        assert (await rzp.get(f"/v1/payments/{payment['id']}/refunds"))["count"] == 1

    async def test_same_key_different_body_is_409(self, rzp: Rzp) -> None:
        payment = await rzp.captured()
        await rzp.refund(payment["id"], "conflict-key-1", amount=10_000)
        answer = await rzp.refund(payment["id"], "conflict-key-1", amount=20_000)
        assert answer.status_code == 409
        assert error_of(answer) == {
            "code": "BAD_REQUEST_ERROR",
            "description": (
                "Different request with the same idempotency key has already been processed."
            ),
            **NA_ENVELOPE,
        }

    async def test_short_idempotency_key_is_refused(self, rzp: Rzp) -> None:
        payment = await rzp.captured()
        answer = await rzp.refund(payment["id"], "short")
        assert error_of(answer)["description"] == (
            "The idempotency key must be at least 10 characters long."
        )

    async def test_idempotency_key_with_bad_characters_is_refused(self, rzp: Rzp) -> None:
        payment = await rzp.captured()
        answer = await rzp.refund(payment["id"], "has spaces in it")
        assert answer.status_code == 400
        assert "alphanumeric" in error_of(answer)["description"]

    async def test_more_than_captured_is_refused(self, rzp: Rzp) -> None:
        payment = await rzp.captured()
        answer = await rzp.refund(payment["id"], "toomuch-key-1", amount=50_001)
        assert error_of(answer)["description"] == (
            "The refund amount provided is greater than amount captured"
        )

    async def test_uncaptured_payment_cannot_be_refunded(self, rzp: Rzp) -> None:
        payment = await rzp.authorized()
        answer = await rzp.refund(payment["id"], "uncapt-key-01")
        assert error_of(answer)["description"] == (
            "The payment status should be captured for action to be taken"
        )

    async def test_pending_refund_settles_when_told(
        self, rzp: Rzp, razorpay_control: SandboxControl
    ) -> None:
        await razorpay_control.post(action="configure", refund_mode="pending")
        payment = await rzp.captured()
        refund = (await rzp.refund(payment["id"], "pending-key-1", amount=10_000)).json()
        assert refund["status"] == "pending"
        await razorpay_control.post(action="settle_refund", refund_id=refund["id"])
        assert (await rzp.get(f"/v1/refunds/{refund['id']}"))["status"] == "processed"

    async def test_failed_refund_gives_the_amount_back(
        self, rzp: Rzp, razorpay_control: SandboxControl
    ) -> None:
        await razorpay_control.post(action="configure", refund_mode="pending")
        payment = await rzp.captured()
        refund = (await rzp.refund(payment["id"], "failing-key-1")).json()
        await razorpay_control.post(action="settle_refund", refund_id=refund["id"], status="failed")
        after = await rzp.get(f"/v1/payments/{payment['id']}")
        assert (after["status"], after["amount_refunded"], after["refund_status"]) == (
            "captured",
            0,
            None,
        )
