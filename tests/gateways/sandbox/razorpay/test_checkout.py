"""The checkout stand-in's pay endpoint: the test instruments and what is kept of a card."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from tests.gateways.sandbox.razorpay.conftest import VISA, Rzp, error_of

if TYPE_CHECKING:  # fixture types only
    from tests.gateways.conftest import SandboxControl


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
