"""The checkout's pure rules, table by table: every bad initiate input and the typed error it
gets, the fingerprint, routing and fallback over the real adapters' `supports`, and what the
checkout offers. No database, no network."""

from __future__ import annotations

from dataclasses import replace

import pytest
from beanie import PydanticObjectId

from gateways.base import (
    Gateway,
    GatewayOutcomeUnknown,
    GatewayRejected,
    GatewayUnavailable,
    UnsupportedMethod,
)
from gateways.paypal import PayPalGateway
from gateways.paypal.config import PayPalConfig
from gateways.policy import CircuitOpen
from gateways.razorpay import RazorpayGateway
from gateways.razorpay.config import RazorpayConfig
from gateways.registry import GatewayRegistry
from models.enums import PaymentMethodType
from models.errors import (
    InvalidAmount,
    UnsupportedPaymentMethod,
    ValidationFailed,
)
from models.money import Money
from models.payment import GatewayAttempt, MethodDetails
from services.payments import InitiateCommand, rules

M = PaymentMethodType
RZP, PP = Gateway.RAZORPAY, Gateway.PAYPAL
VALID = InitiateCommand(order_id="ORD-1", amount="499.00")
SAVED_ID = "65f0c0ffee0000000000beef"


@pytest.fixture(scope="module")
async def adapters():
    razorpay = RazorpayGateway(RazorpayConfig(key_id="rzp_test_rules", key_secret="secret"))
    paypal = PayPalGateway(
        PayPalConfig(
            client_id="pp-rules",
            client_secret="secret",
            return_url="http://shop.test/ok",
            cancel_url="http://shop.test/cancel",
        )
    )
    try:
        yield razorpay, paypal
    finally:
        await razorpay.aclose()
        await paypal.aclose()


@pytest.fixture(scope="module")
def both(adapters) -> GatewayRegistry:
    return GatewayRegistry(adapters)


@pytest.fixture(scope="module")
def razorpay_only(adapters) -> GatewayRegistry:
    return GatewayRegistry([adapters[0]])


@pytest.fixture(scope="module")
def paypal_only(adapters) -> GatewayRegistry:
    return GatewayRegistry([adapters[1]])


def command(**fields) -> InitiateCommand:
    return replace(VALID, **fields)


def inr(amount: str) -> Money:
    return Money.parse(amount, "INR")


class TestValidateRefuses:
    @pytest.mark.parametrize(
        ("fields", "error", "field", "says"),
        [
            ({"order_id": ""}, ValidationFailed, "orderId", "1-50 letters"),
            ({"order_id": "ORD 1"}, ValidationFailed, "orderId", "1-50 letters"),
            ({"order_id": "ORD/1"}, ValidationFailed, "orderId", "1-50 letters"),
            ({"order_id": "O" * 51}, ValidationFailed, "orderId", "1-50 letters"),
            ({"currency": "XYZ"}, ValidationFailed, "currency", "'XYZ' is not supported"),
            ({"currency": ""}, ValidationFailed, "currency", "is not supported"),
            ({"amount": "0"}, InvalidAmount, "amount", ""),
            ({"amount": "0.00"}, InvalidAmount, "amount", ""),
            ({"amount": ""}, InvalidAmount, "amount", "required"),
            ({"amount": "-5.00"}, InvalidAmount, "amount", "negative"),
            ({"amount": "+5.00"}, InvalidAmount, "amount", "sign"),
            ({"amount": "1e3"}, InvalidAmount, "amount", "exponent"),
            ({"amount": "10.001"}, InvalidAmount, "amount", ""),
            ({"amount": "ten"}, InvalidAmount, "amount", "digits"),
            ({"amount": "1000000.00"}, InvalidAmount, "amount", ""),
            ({"amount": "500.5", "currency": "JPY"}, InvalidAmount, "amount", ""),
            ({"method": M.UPI, "vpa": "no-at-sign"}, ValidationFailed, "vpa", "name@bank"),
            ({"method": M.UPI, "vpa": "a@b"}, ValidationFailed, "vpa", "name@bank"),
            ({"method": M.CARD, "vpa": "shopper@okaxis"}, ValidationFailed, "vpa", "only for UPI"),
            ({"method": M.CARD, "bank": "HDFC"}, ValidationFailed, "bank", "only for NETBANKING"),
            ({"method": M.NETBANKING, "bank": "XXXX"}, ValidationFailed, "bank", "netbankingBanks"),
            ({"method": M.CARD, "wallet": "paytm"}, ValidationFailed, "wallet", "only for WALLET"),
            (
                {"method": M.WALLET, "wallet": "nope"},
                ValidationFailed,
                "wallet",
                "supported wallets",
            ),
            ({"installments": 0}, ValidationFailed, "installments", "at least 1"),
            ({"installments": -3}, ValidationFailed, "installments", "at least 1"),
            ({"installments": 3}, ValidationFailed, "installments", "need the EMI method"),
            (
                {"method": M.EMI, "amount": "3000.00", "installments": 5},
                ValidationFailed,
                "installments",
                "3, 6, 9, 12, 18, 24",
            ),
            ({"method": M.EMI, "amount": "2499.99"}, ValidationFailed, "amount", "2500.00 INR"),
            ({"notes": "n" * 501}, ValidationFailed, "notes", "at most 500"),
            ({"saved_method_id": "not-an-id"}, ValidationFailed, "savedMethodId", "valid id"),
            ({"saved_method_id": ""}, ValidationFailed, "savedMethodId", "valid id"),
        ],
    )
    def test_each_bad_input_gets_its_typed_error(self, fields, error, field, says):
        with pytest.raises(ValidationFailed) as raised:
            rules.validate(command(**fields))
        assert type(raised.value) is error
        assert raised.value.field == field
        assert says in raised.value.message

    @pytest.mark.parametrize(
        ("fields", "field"),
        [
            ({"order_id": "", "currency": "XYZ", "amount": "-1"}, "orderId"),
            ({"currency": "XYZ", "amount": "-1"}, "currency"),
            ({"amount": "-1", "method": M.CARD, "vpa": "x@y"}, "amount"),
            ({"method": M.CARD, "bank": "HDFC", "wallet": "paytm"}, "bank"),
            ({"method": M.CARD, "wallet": "paytm", "vpa": "shopper@okaxis"}, "wallet"),
            ({"method": M.CARD, "vpa": "shopper@okaxis", "installments": 0}, "vpa"),
            ({"installments": 0, "notes": "n" * 501}, "installments"),
            ({"notes": "n" * 501, "saved_method_id": "bad"}, "notes"),
        ],
    )
    def test_the_first_problem_in_field_order_is_the_one_reported(self, fields, field):
        with pytest.raises(ValidationFailed) as raised:
            rules.validate(command(**fields))
        assert raised.value.field == field


class TestValidateAccepts:
    def test_a_plain_card_payment(self):
        valid = rules.validate(VALID)
        assert valid == rules.ValidInitiate(
            money=Money(amount_minor=49900, currency="INR"),
            method=M.CARD,
            details=MethodDetails(),
            installments=1,
            saved_method_id=None,
            notes={},
        )

    @pytest.mark.parametrize(
        ("fields", "details"),
        [
            ({"method": M.UPI, "vpa": "Shopper.1@OkAxis"}, MethodDetails(vpa="shopper.1@okaxis")),
            ({"method": M.UPI}, MethodDetails()),
            ({"method": M.NETBANKING, "bank": "HDFC"}, MethodDetails(bank="HDFC")),
            ({"method": M.NETBANKING}, MethodDetails()),
            ({"method": M.WALLET, "wallet": "paytm"}, MethodDetails(wallet="paytm")),
        ],
    )
    def test_method_details(self, fields, details):
        assert rules.validate(command(**fields)).details == details

    def test_currency_is_read_in_any_case(self):
        assert rules.validate(command(currency="usd", amount="40")).money == Money(
            amount_minor=4000, currency="USD"
        )

    def test_zero_decimal_currency(self):
        assert rules.validate(command(currency="JPY", amount="500")).money.amount_minor == 500

    @pytest.mark.parametrize("months", [3, 6, 9, 12, 18, 24])
    def test_emi_tenures(self, months):
        valid = rules.validate(command(method=M.EMI, amount="2500.00", installments=months))
        assert (valid.method, valid.installments) == (M.EMI, months)

    def test_notes_up_to_the_limit(self):
        assert rules.validate(command(notes="n" * 500)).notes == {"note": "n" * 500}

    def test_a_well_formed_saved_method_id(self):
        valid = rules.validate(command(saved_method_id=SAVED_ID))
        assert valid.saved_method_id == PydanticObjectId(SAVED_ID)


class TestFingerprint:
    def test_same_request_same_fingerprint(self):
        one = rules.fingerprint("ORD-1", rules.validate(VALID))
        assert one == rules.fingerprint("ORD-1", rules.validate(command()))
        assert len(one) == 64 and int(one, 16) >= 0

    @pytest.mark.parametrize(
        ("left", "right"),
        [
            ({"amount": "499"}, {"amount": "499.00"}),
            ({"currency": "inr"}, {"currency": "INR"}),
            ({"method": M.UPI, "vpa": "Ab@OkAxis"}, {"method": M.UPI, "vpa": "ab@okaxis"}),
        ],
    )
    def test_spellings_of_the_same_request_agree(self, left, right):
        assert rules.fingerprint("ORD-1", rules.validate(command(**left))) == rules.fingerprint(
            "ORD-1", rules.validate(command(**right))
        )

    @pytest.mark.parametrize(
        "fields",
        [
            {"amount": "499.01"},
            {"currency": "USD"},
            {"method": M.UPI},
            {"method": M.UPI, "vpa": "shopper@okaxis"},
            {"method": M.NETBANKING, "bank": "HDFC"},
            {"method": M.WALLET, "wallet": "paytm"},
            {"method": M.EMI, "amount": "2500.00", "installments": 3},
            {"notes": "gift"},
            {"saved_method_id": SAVED_ID},
        ],
    )
    def test_any_difference_changes_it(self, fields):
        base = rules.fingerprint("ORD-1", rules.validate(VALID))
        assert rules.fingerprint("ORD-1", rules.validate(command(**fields))) != base

    def test_the_order_id_is_part_of_it(self):
        valid = rules.validate(VALID)
        assert rules.fingerprint("ORD-1", valid) != rules.fingerprint("ORD-2", valid)


class TestRoute:
    @pytest.mark.parametrize(
        ("method", "amount", "currency", "gateways"),
        [
            (M.CARD, "499.00", "INR", [RZP]),
            (M.CARD, "40.00", "USD", [RZP, PP]),
            (M.CARD, "40.00", "EUR", [PP]),
            (M.CARD, "4000", "JPY", [PP]),
            (M.UPI, "499.00", "INR", [RZP]),
            (M.NETBANKING, "499.00", "INR", [RZP]),
            (M.WALLET, "499.00", "INR", [RZP]),
            (M.EMI, "2500.00", "INR", [RZP]),
            (M.PAYPAL, "40.00", "USD", [PP]),
            (M.PAYPAL, "40.00", "GBP", [PP]),
            # Under a gateway's minimum it is still a candidate: the amount is refused later.
            (M.CARD, "0.50", "INR", [RZP]),
        ],
    )
    def test_candidates_in_preference_order(self, both, method, amount, currency, gateways):
        money = Money.parse(amount, currency)
        assert [a.name for a in rules.candidates(both, method, money)] == gateways

    def test_preference_does_not_follow_registration_order(self, adapters):
        registry = GatewayRegistry([adapters[1], adapters[0]])
        found = rules.candidates(registry, M.CARD, Money.parse("40.00", "USD"))
        assert [a.name for a in found] == [RZP, PP]

    @pytest.mark.parametrize(
        ("registry", "method", "amount", "currency", "gateways"),
        [
            ("razorpay_only", M.CARD, "40.00", "USD", [RZP]),
            ("paypal_only", M.CARD, "40.00", "USD", [PP]),
            ("razorpay_only", M.CARD, "40.00", "EUR", []),
            ("paypal_only", M.CARD, "499.00", "INR", []),
            ("paypal_only", M.UPI, "499.00", "INR", []),
            ("razorpay_only", M.PAYPAL, "40.00", "USD", []),
        ],
    )
    def test_only_registered_gateways(self, request, registry, method, amount, currency, gateways):
        found = rules.candidates(
            request.getfixturevalue(registry), method, Money.parse(amount, currency)
        )
        assert [a.name for a in found] == gateways

    @pytest.mark.parametrize(
        ("method", "amount", "currency", "says"),
        [
            (M.PAYPAL, "499.00", "INR", "PAYPAL is not available in INR"),
            (M.UPI, "40.00", "USD", "UPI is not available in USD"),
            (M.NETBANKING, "40.00", "EUR", "NETBANKING is not available in EUR"),
            (M.WALLET, "40.00", "USD", "WALLET is not available in USD"),
            (M.EMI, "2500.00", "USD", "EMI is not available in USD"),
        ],
    )
    def test_no_gateway_is_unsupported_method(self, both, method, amount, currency, says):
        with pytest.raises(UnsupportedPaymentMethod) as raised:
            rules.route(both, method, Money.parse(amount, currency))
        assert raised.value.field == "paymentMethod"
        assert raised.value.message == says

    @pytest.mark.parametrize("amount", ["0.01", "0.50", "0.99"])
    def test_under_the_gateway_minimum(self, both, amount):
        with pytest.raises(ValidationFailed) as raised:
            rules.route(both, M.CARD, inr(amount))
        assert type(raised.value) is ValidationFailed
        assert raised.value.field == "amount"
        assert raised.value.message == "amount is below the gateway minimum of 1.00"

    def test_the_lowest_candidate_minimum_counts(self, both):
        # Razorpay wants 1.00, PayPal one cent: a USD card of 0.50 can still go to PayPal.
        found = rules.route(both, M.CARD, Money.parse("0.50", "USD"))
        assert [a.name for a in found] == [RZP, PP]

    def test_at_the_minimum(self, both):
        assert [a.name for a in rules.route(both, M.CARD, inr("1.00"))] == [RZP]


class TestFallback:
    @pytest.mark.parametrize(
        ("failure", "falls_back", "outcome", "detail"),
        [
            (
                GatewayUnavailable(RZP, "503 from Razorpay"),
                True,
                "unavailable",
                "503 from Razorpay",
            ),
            (GatewayUnavailable(RZP, "pool full", local=True), True, "unavailable", "pool full"),
            (CircuitOpen(RZP), True, "skipped", "circuit open"),
            (GatewayOutcomeUnknown(RZP, "read timeout"), False, "unknown", "read timeout"),
            (
                GatewayRejected(RZP, "bad request", gateway_code="BAD_REQUEST_ERROR"),
                False,
                "rejected",
                "bad request",
            ),
            (UnsupportedMethod(RZP, "not here"), False, "rejected", "not here"),
        ],
    )
    def test_only_a_gateway_that_created_nothing_falls_back(
        self, failure, falls_back, outcome, detail
    ):
        assert rules.falls_back(failure) is falls_back
        attempt = rules.order_attempt(RZP, failure)
        assert (attempt.gateway, attempt.outcome, attempt.detail) == (RZP, outcome, detail)

    def test_the_note_names_the_gateways_tried_before(self):
        tried = [
            GatewayAttempt(gateway=RZP, outcome="skipped"),
            GatewayAttempt(gateway=RZP, outcome="unavailable"),
        ]
        assert rules.order_note(PP, []) == "order created on PAYPAL"
        assert rules.order_note(PP, tried) == (
            "order created on PAYPAL after RAZORPAY skipped, RAZORPAY unavailable"
        )


class TestSupportedMethods:
    @pytest.mark.parametrize(
        ("currency", "amount", "offered"),
        [
            ("INR", None, {M.CARD: RZP, M.UPI: RZP, M.NETBANKING: RZP, M.WALLET: RZP, M.EMI: RZP}),
            (
                "inr",
                "3000.00",
                {M.CARD: RZP, M.UPI: RZP, M.NETBANKING: RZP, M.WALLET: RZP, M.EMI: RZP},
            ),
            (
                "INR",
                "2500.00",
                {M.CARD: RZP, M.UPI: RZP, M.NETBANKING: RZP, M.WALLET: RZP, M.EMI: RZP},
            ),
            ("INR", "2499.99", {M.CARD: RZP, M.UPI: RZP, M.NETBANKING: RZP, M.WALLET: RZP}),
            ("INR", "1.00", {M.CARD: RZP, M.UPI: RZP, M.NETBANKING: RZP, M.WALLET: RZP}),
            ("INR", "0.99", {}),
            ("USD", None, {M.CARD: RZP, M.PAYPAL: PP}),
            # Below Razorpay's minimum the preferred gateway cannot take it: not offered.
            ("USD", "0.50", {M.PAYPAL: PP}),
            ("EUR", None, {M.CARD: PP, M.PAYPAL: PP}),
            ("JPY", "500", {M.CARD: PP, M.PAYPAL: PP}),
            ("AED", None, {}),
        ],
    )
    def test_offered_methods_and_their_gateway(self, both, currency, amount, offered):
        options = rules.supported_methods(both, currency, amount)
        assert {o.method: o.gateway for o in options} == offered
        assert [o.method for o in options] == [m for m in M if m in offered]

    def test_only_emi_carries_tenures(self, both):
        options = {o.method: o for o in rules.supported_methods(both, "INR", None)}
        assert options[M.EMI].emi_tenures == (3, 6, 9, 12, 18, 24)
        assert all(o.emi_tenures == () for m, o in options.items() if m is not M.EMI)

    def test_without_paypal_usd_is_card_only(self, razorpay_only):
        options = rules.supported_methods(razorpay_only, "USD", None)
        assert [(o.method, o.gateway) for o in options] == [(M.CARD, RZP)]

    @pytest.mark.parametrize(
        ("currency", "amount", "error", "field"),
        [
            ("XYZ", None, ValidationFailed, "currency"),
            ("", None, ValidationFailed, "currency"),
            ("INR", "abc", InvalidAmount, "amount"),
            ("INR", "-1.00", InvalidAmount, "amount"),
            ("INR", "0", InvalidAmount, "amount"),
        ],
    )
    def test_bad_input(self, both, currency, amount, error, field):
        with pytest.raises(ValidationFailed) as raised:
            rules.supported_methods(both, currency, amount)
        assert type(raised.value) is error
        assert raised.value.field == field
