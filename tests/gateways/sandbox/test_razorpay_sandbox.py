"""The Razorpay sandbox over real HTTP: Razorpay's shapes, errors, rules and webhooks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import razorpay

if TYPE_CHECKING:  # fixture types only
    from tests.gateways.conftest import RazorpayCredentials, SandboxControl, WebhookInbox

VISA = "4100 2800 0000 1007"
NA_ENVELOPE = {"source": "NA", "step": "NA", "reason": "NA", "metadata": {}}


@pytest.fixture
def rzp(razorpay_control: SandboxControl, razorpay_http: httpx.AsyncClient) -> Rzp:
    return Rzp(razorpay_http)


class Rzp:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def order(self, amount: int = 50_000, **body: Any) -> dict[str, Any]:
        body.setdefault("currency", "INR")
        body.setdefault("receipt", uuid.uuid4().hex[:20])
        answer = await self.http.post("/v1/orders", json={"amount": amount, **body})
        assert answer.status_code == 200, answer.text
        order: dict[str, Any] = answer.json()
        return order

    async def pay(self, order_id: str, **body: Any) -> httpx.Response:
        return await self.http.post(f"/checkout/{order_id}/pay", json=body)

    async def authorized(self, amount: int = 50_000, card: str = VISA) -> dict[str, Any]:
        order = await self.order(amount)
        answer = await self.pay(order["id"], method="card", card_number=card)
        assert answer.status_code == 200, answer.text
        return await self.get(f"/v1/payments/{answer.json()['razorpay_payment_id']}")

    async def captured(self, amount: int = 50_000) -> dict[str, Any]:
        payment = await self.authorized(amount)
        answer = await self.http.post(
            f"/v1/payments/{payment['id']}/capture", json={"amount": amount, "currency": "INR"}
        )
        assert answer.status_code == 200, answer.text
        captured: dict[str, Any] = answer.json()
        return captured

    async def get(self, path: str, **params: Any) -> dict[str, Any]:
        answer = await self.http.get(path, params=params)
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    async def refund(self, payment_id: str, key: str | None = None, **body: Any) -> httpx.Response:
        headers = {"X-Refund-Idempotency": key} if key else {}
        return await self.http.post(f"/v1/payments/{payment_id}/refund", json=body, headers=headers)


def error_of(answer: httpx.Response) -> dict[str, Any]:
    error: dict[str, Any] = answer.json()["error"]
    return error


async def get_orders(url: str, **options: Any) -> httpx.Response:
    async with httpx.AsyncClient(timeout=5, **options) as http:
        return await http.get(f"{url}/v1/orders")


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


class TestCheckoutInstruments:
    async def test_domestic_test_card_authorizes(self, rzp: Rzp) -> None:
        order = await rzp.order()
        answer = await rzp.pay(order["id"], method="card", card_number=VISA)
        assert answer.status_code == 200
        assert set(answer.json()) == {
            "razorpay_payment_id",
            "razorpay_order_id",
            "razorpay_signature",
        }
        payment = await rzp.get(f"/v1/payments/{answer.json()['razorpay_payment_id']}")
        assert (payment["status"], payment["method"], payment["amount"]) == (
            "authorized",
            "card",
            50_000,
        )
        order_now = await rzp.get(f"/v1/orders/{order['id']}")
        assert (order_now["status"], order_now["attempts"]) == ("attempted", 1)

    async def test_rupay_card_keeps_only_last4_and_network(self, rzp: Rzp) -> None:
        payment = await rzp.authorized(card="6527 6589 0000 1005")
        expanded = await rzp.get(f"/v1/payments/{payment['id']}", **{"expand[]": "card"})
        assert (expanded["card"]["last4"], expanded["card"]["network"]) == ("1005", "RuPay")
        assert expanded["card_id"] == expanded["card"]["id"]

    async def test_international_card_is_marked_international(self, rzp: Rzp) -> None:
        payment = await rzp.authorized(card="5555 5555 5555 4444")
        assert payment["international"] is True

    @pytest.mark.parametrize(
        ("card", "code", "reason"),
        [
            ("4100280000090000", "BAD_REQUEST_ERROR", "payment_timed_out"),
            ("4100280000080001", "BAD_REQUEST_ERROR", "insufficient_funds"),
            ("4100280000070002", "BAD_REQUEST_ERROR", "payment_cancelled"),
            ("4100280000060003", "BAD_REQUEST_ERROR", "card_declined"),
            ("4100280000030006", "BAD_REQUEST_ERROR", "card_disabled_for_online_payments"),
            ("4100280000010008", "BAD_REQUEST_ERROR", "card_number_invalid"),
            ("4100280000020007", "GATEWAY_ERROR", "gateway_technical_error"),
            ("4100280000000009", "GATEWAY_ERROR", "authentication_failed"),
            ("5305620000060003", "BAD_REQUEST_ERROR", "card_declined"),
        ],
    )
    async def test_error_card_fails_with_its_reason(
        self, rzp: Rzp, card: str, code: str, reason: str
    ) -> None:
        order = await rzp.order()
        answer = await rzp.pay(order["id"], method="card", card_number=card)
        assert answer.status_code == 400
        error = error_of(answer)
        assert (error["code"], error["reason"]) == (code, reason)
        assert error["metadata"]["order_id"] == order["id"]
        payment = await rzp.get(f"/v1/payments/{error['metadata']['payment_id']}")
        assert (payment["status"], payment["error_reason"]) == ("failed", reason)

    async def test_luhn_invalid_card_is_refused_without_a_payment(self, rzp: Rzp) -> None:
        order = await rzp.order()
        answer = await rzp.pay(order["id"], method="card", card_number="4111 1111 1111 1112")
        assert (answer.status_code, error_of(answer)["field"]) == (400, "card_number")
        assert (await rzp.get(f"/v1/orders/{order['id']}/payments"))["count"] == 0

    async def test_upi_success_vpa_authorizes(self, rzp: Rzp) -> None:
        order = await rzp.order()
        answer = await rzp.pay(order["id"], method="upi", vpa="success@razorpay")
        payment = await rzp.get(f"/v1/payments/{answer.json()['razorpay_payment_id']}")
        assert (payment["status"], payment["vpa"]) == ("authorized", "success@razorpay")

    async def test_upi_failure_vpa_fails(self, rzp: Rzp) -> None:
        order = await rzp.order()
        answer = await rzp.pay(order["id"], method="upi", vpa="failure@razorpay")
        assert (answer.status_code, error_of(answer)["reason"]) == (400, "payment_failed")

    async def test_unknown_vpa_is_invalid_vpa(self, rzp: Rzp) -> None:
        order = await rzp.order()
        answer = await rzp.pay(order["id"], method="upi", vpa="someone@okbank")
        assert (error_of(answer)["reason"], error_of(answer)["field"]) == ("invalid_vpa", "vpa")

    async def test_netbanking_success_and_failure_buttons(self, rzp: Rzp) -> None:
        first, second = await rzp.order(), await rzp.order()
        ok = await rzp.pay(first["id"], method="netbanking", bank="HDFC")
        failed = await rzp.pay(second["id"], method="netbanking", bank="HDFC", outcome="failure")
        assert (ok.status_code, failed.status_code) == (200, 400)

    async def test_unknown_bank_is_refused(self, rzp: Rzp) -> None:
        order = await rzp.order()
        answer = await rzp.pay(order["id"], method="netbanking", bank="NOPE")
        assert error_of(answer)["field"] == "bank"

    async def test_wallet_authorizes(self, rzp: Rzp) -> None:
        order = await rzp.order()
        answer = await rzp.pay(order["id"], method="wallet", wallet="paytm")
        payment = await rzp.get(f"/v1/payments/{answer.json()['razorpay_payment_id']}")
        assert (payment["method"], payment["wallet"]) == ("wallet", "paytm")

    async def test_emi_with_a_plan_authorizes(self, rzp: Rzp) -> None:
        order = await rzp.order(300_000)
        answer = await rzp.pay(
            order["id"], method="emi", card_number="5241 8100 0000 0000", emi_duration=6
        )
        payment_id = answer.json()["razorpay_payment_id"]
        payment = await rzp.get(f"/v1/payments/{payment_id}", **{"expand[]": "emi"})
        assert (payment["method"], payment["emi"]["duration"]) == ("emi", 6)

    async def test_emi_without_a_valid_duration_is_refused(self, rzp: Rzp) -> None:
        order = await rzp.order()
        answer = await rzp.pay(order["id"], method="emi", card_number=VISA, emi_duration=5)
        assert error_of(answer)["field"] == "emi_duration"

    async def test_unknown_method_is_refused(self, rzp: Rzp) -> None:
        order = await rzp.order()
        answer = await rzp.pay(order["id"], method="cash")
        assert error_of(answer)["field"] == "method"

    async def test_non_inr_order_takes_cards_only(self, rzp: Rzp) -> None:
        order = await rzp.order(2_000, currency="USD")
        upi = await rzp.pay(order["id"], method="upi", vpa="success@razorpay")
        card = await rzp.pay(order["id"], method="card", card_number="4012 8888 8888 1881")
        assert (upi.status_code, card.status_code) == (400, 200)

    async def test_second_payment_on_an_authorized_order_is_refused(self, rzp: Rzp) -> None:
        order = await rzp.order()
        await rzp.pay(order["id"], method="card", card_number=VISA)
        answer = await rzp.pay(order["id"], method="card", card_number=VISA)
        assert error_of(answer)["description"] == "Payment already done for this order."

    async def test_saved_card_gets_a_token(self, rzp: Rzp) -> None:
        order = await rzp.order()
        answer = await rzp.pay(order["id"], method="card", card_number=VISA, save=True)
        payment = await rzp.get(f"/v1/payments/{answer.json()['razorpay_payment_id']}")
        assert payment["token_id"].startswith("token_")

    async def test_the_card_number_is_not_kept_anywhere(
        self, rzp: Rzp, razorpay_control: SandboxControl
    ) -> None:
        payment = await rzp.authorized(card="4100 2800 0000 1007")
        seen = json.dumps(
            [
                await rzp.get(f"/v1/payments/{payment['id']}", **{"expand[]": "card"}),
                await rzp.get(f"/v1/orders/{payment['order_id']}/payments"),
                await razorpay_control.state(),
            ]
        )
        assert "4100280000001007" not in seen
        assert "4100 2800 0000 1007" not in seen


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


def verify(hook_body: bytes, headers: dict[str, str], secret: str) -> bool:
    expected = hmac.new(secret.encode(), hook_body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers["x-razorpay-signature"])


def event_names(hooks: list[Any]) -> list[str]:
    return [json.loads(hook.body)["event"] for hook in hooks]


class TestWebhooks:
    async def test_auto_captured_payment_emits_three_signed_events_in_order(
        self,
        rzp: Rzp,
        razorpay_webhooks: WebhookInbox,
        razorpay_control: SandboxControl,
        razorpay_credentials: RazorpayCredentials,
    ) -> None:
        await razorpay_control.post(action="configure", auto_capture=True)
        await rzp.authorized()
        hooks = await razorpay_webhooks.wait_for(3)
        assert event_names(hooks) == ["payment.authorized", "payment.captured", "order.paid"]
        for hook in hooks:
            assert verify(hook.body, hook.headers, razorpay_credentials.webhook_secret)
            assert hook.headers["x-razorpay-event-id"] == hook.headers["request-id"]
            assert hook.headers["user-agent"] == "Razorpay-Webhook/v1"
            assert b", " not in hook.body and b": " not in hook.body  # compact JSON
        authorized = json.loads(hooks[0].body)
        assert authorized["payload"]["payment"]["entity"]["status"] == "authorized"
        assert authorized["contains"] == ["payment"]
        assert json.loads(hooks[2].body)["contains"] == ["payment", "order"]

    async def test_failed_deliveries_are_retried_until_2xx(
        self, rzp: Rzp, razorpay_webhooks: WebhookInbox, razorpay_control: SandboxControl
    ) -> None:
        razorpay_webhooks.fail_next(3)
        await rzp.authorized()
        [hook] = await razorpay_webhooks.wait_for(1)
        assert razorpay_webhooks.refused == 3
        [delivery] = (await razorpay_control.state())["deliveries"]
        assert delivery["attempts"] == 4
        assert delivery["statuses"] == ["500", "500", "500", "204"]
        assert delivery["event_id"] == hook.headers["x-razorpay-event-id"]

    async def test_api_answer_does_not_wait_for_a_failing_endpoint(
        self, rzp: Rzp, razorpay_webhooks: WebhookInbox
    ) -> None:
        razorpay_webhooks.fail_next(1_000)
        order = await rzp.order()
        started = time.monotonic()
        answer = await rzp.pay(order["id"], method="card", card_number=VISA)
        assert answer.status_code == 200
        assert time.monotonic() - started < 0.5

    async def test_dropped_webhooks_are_never_sent(
        self, rzp: Rzp, razorpay_webhooks: WebhookInbox, razorpay_control: SandboxControl
    ) -> None:
        await razorpay_control.post(action="configure", webhooks="drop")
        await rzp.authorized()
        assert await razorpay_webhooks.settle() == []
        assert [d["dropped"] for d in (await razorpay_control.state())["deliveries"]] == [True]

    async def test_duplicated_webhooks_share_one_event_id(
        self, rzp: Rzp, razorpay_webhooks: WebhookInbox, razorpay_control: SandboxControl
    ) -> None:
        await razorpay_control.post(action="configure", duplicate_webhooks=True)
        await rzp.authorized()
        first, second = await razorpay_webhooks.wait_for(2)
        assert first.headers["x-razorpay-event-id"] == second.headers["x-razorpay-event-id"]
        assert first.body == second.body

    async def test_reordered_webhooks_arrive_last_first(
        self, rzp: Rzp, razorpay_webhooks: WebhookInbox, razorpay_control: SandboxControl
    ) -> None:
        await razorpay_control.post(action="configure", auto_capture=True, reorder_webhooks=True)
        await rzp.authorized()
        hooks = await razorpay_webhooks.wait_for(3)
        assert event_names(hooks) == ["order.paid", "payment.captured", "payment.authorized"]

    async def test_held_webhooks_are_released_in_reverse(
        self, rzp: Rzp, razorpay_webhooks: WebhookInbox, razorpay_control: SandboxControl
    ) -> None:
        await razorpay_control.post(action="configure", webhooks="hold")
        payment = await rzp.authorized()
        await rzp.http.post(
            f"/v1/payments/{payment['id']}/capture", json={"amount": 50_000, "currency": "INR"}
        )
        assert await razorpay_webhooks.settle(0.05) == []
        await razorpay_control.post(action="release_webhooks", order="reverse")
        hooks = await razorpay_webhooks.wait_for(3)
        assert event_names(hooks) == ["order.paid", "payment.captured", "payment.authorized"]

    async def test_refund_emits_created_then_processed(
        self, rzp: Rzp, razorpay_webhooks: WebhookInbox
    ) -> None:
        payment = await rzp.captured()
        await razorpay_webhooks.wait_for(3)
        await rzp.refund(payment["id"], "webhook-key-01", amount=10_000)
        hooks = (await razorpay_webhooks.wait_for(5))[3:]
        assert event_names(hooks) == ["refund.created", "refund.processed"]
        created = json.loads(hooks[0].body)
        assert created["contains"] == ["refund", "payment"]
        assert created["payload"]["refund"]["entity"]["status"] == "pending"

    async def test_late_authorisation_turns_a_failed_payment_authorized(
        self, rzp: Rzp, razorpay_webhooks: WebhookInbox, razorpay_control: SandboxControl
    ) -> None:
        order = await rzp.order()
        failed = await rzp.pay(order["id"], method="card", card_number="4100280000090000")
        payment_id = error_of(failed)["metadata"]["payment_id"]
        await razorpay_control.post(action="late_authorize", payment_id=payment_id)
        hooks = await razorpay_webhooks.wait_for(2)
        assert event_names(hooks) == ["payment.failed", "payment.authorized"]
        late = json.loads(hooks[1].body)["payload"]["payment"]["entity"]
        assert (late["status"], late["late_authorized"]) == ("authorized", True)


class TestFaultInjection:
    async def test_next_request_answers_the_injected_status(
        self, rzp: Rzp, razorpay_control: SandboxControl
    ) -> None:
        await razorpay_control.fault("/v1/orders", method="GET", status=503, count=2)
        statuses = [(await rzp.http.get("/v1/orders")).status_code for _ in range(3)]
        assert statuses == [503, 503, 200]

    async def test_429_carries_retry_after_and_the_error_envelope(
        self, rzp: Rzp, razorpay_control: SandboxControl
    ) -> None:
        await razorpay_control.fault("/v1/orders", status=429, retry_after=3)
        answer = await rzp.http.get("/v1/orders")
        assert (answer.status_code, answer.headers["retry-after"]) == (429, "3")
        assert error_of(answer)["description"] == "Request failed. Please try after sometime."

    async def test_html_error_body_is_not_json(
        self, rzp: Rzp, razorpay_control: SandboxControl
    ) -> None:
        await razorpay_control.fault("/v1/orders", status=502, body="html")
        answer = await rzp.http.get("/v1/orders")
        assert answer.status_code == 502
        assert answer.headers["content-type"].startswith("text/html")

    async def test_fault_after_processing_still_changes_state(
        self, rzp: Rzp, razorpay_control: SandboxControl
    ) -> None:
        await razorpay_control.fault("/v1/orders", method="POST", status=500, phase="after")
        answer = await rzp.http.post(
            "/v1/orders", json={"amount": 100, "currency": "INR", "receipt": "after-500"}
        )
        assert answer.status_code == 500
        assert (await rzp.get("/v1/orders", receipt="after-500"))["count"] == 1

    async def test_delay_makes_a_client_time_out(
        self, rzp: Rzp, razorpay_control: SandboxControl
    ) -> None:
        await razorpay_control.fault("/v1/orders", method="GET", delay=0.5)
        with pytest.raises(httpx.ReadTimeout):
            await rzp.http.get("/v1/orders", timeout=0.1)

    async def test_unknown_action_is_a_400(self, razorpay_control: SandboxControl) -> None:
        answer = await razorpay_control.http.post("/_control", json={"action": "explode"})
        assert (answer.status_code, answer.json()) == (400, {"error": "unknown action 'explode'"})

    async def test_invalid_setting_is_a_400(self, razorpay_control: SandboxControl) -> None:
        answer = await razorpay_control.http.post(
            "/_control", json={"action": "configure", "refund_mode": "sometimes"}
        )
        assert answer.status_code == 400
