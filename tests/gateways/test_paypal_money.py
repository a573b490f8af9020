"""Minor units <-> PayPal decimal strings (gateways/paypal/money.py)."""

from __future__ import annotations

import pytest

from gateways.paypal.money import MoneyFormatError, from_paypal_value, to_paypal_value


class TestToPayPalValue:
    def test_usd_cents_become_two_decimals(self) -> None:
        assert to_paypal_value(1050, "USD") == "10.50"

    def test_small_amount_is_zero_padded(self) -> None:
        assert to_paypal_value(5, "EUR") == "0.05"

    def test_jpy_has_no_decimals(self) -> None:
        assert to_paypal_value(1500, "JPY") == "1500"

    def test_huf_is_sent_in_whole_forints(self) -> None:
        # ISO gives HUF two decimals; PayPal takes none, so 1500.00 HUF is "1500".
        assert to_paypal_value(150000, "HUF") == "1500"

    def test_huf_fraction_is_refused(self) -> None:
        # 1500.50 HUF cannot be expressed at PayPal: refused, not rounded.
        with pytest.raises(MoneyFormatError, match="no decimals"):
            to_paypal_value(150050, "HUF")

    def test_negative_is_refused(self) -> None:
        with pytest.raises(MoneyFormatError, match="negative"):
            to_paypal_value(-1, "USD")

    def test_float_is_refused(self) -> None:
        with pytest.raises(MoneyFormatError, match="integer minor units"):
            to_paypal_value(10.5, "USD")  # type: ignore[arg-type]

    def test_bool_is_refused(self) -> None:
        with pytest.raises(MoneyFormatError, match="integer minor units"):
            to_paypal_value(True, "USD")

    def test_fifteen_integer_digits_are_accepted(self) -> None:
        assert to_paypal_value(99_999_999_999_999_999, "USD") == "999999999999999.99"

    def test_sixteen_integer_digits_are_refused(self) -> None:
        with pytest.raises(MoneyFormatError, match="15 integer digits"):
            to_paypal_value(10**17, "USD")

    def test_unknown_currency_is_refused(self) -> None:
        with pytest.raises(MoneyFormatError, match="unknown currency"):
            to_paypal_value(100, "XYZ")


class TestFromPayPalValue:
    def test_two_decimals(self) -> None:
        assert from_paypal_value("10.50", "USD") == 1050

    def test_one_decimal_is_padded(self) -> None:
        assert from_paypal_value("10.5", "USD") == 1050

    def test_whole_number(self) -> None:
        assert from_paypal_value("10", "USD") == 1000

    def test_leading_dot_matches_paypal_pattern(self) -> None:
        assert from_paypal_value(".5", "USD") == 50

    def test_jpy_whole_number(self) -> None:
        assert from_paypal_value("1500", "JPY") == 1500

    def test_huf_whole_forints_become_minor_units(self) -> None:
        assert from_paypal_value("1500", "HUF") == 150000

    def test_jpy_with_decimals_is_refused(self) -> None:
        # PayPal's DECIMAL_PRECISION: JPY takes no decimals.
        with pytest.raises(MoneyFormatError, match="allows 0"):
            from_paypal_value("1500.5", "JPY")

    def test_three_decimals_are_refused(self) -> None:
        with pytest.raises(MoneyFormatError, match="allows 2"):
            from_paypal_value("10.505", "USD")

    @pytest.mark.parametrize(
        "value", ["-1.00", " 1.00", "1e3", "", ".", "1,00", "+1", "1.", "0x10"]
    )
    def test_malformed_values_are_refused(self, value: str) -> None:
        # A sign, whitespace, exponent, comma or empty part: not a PayPal amount value.
        with pytest.raises(MoneyFormatError, match="not a PayPal amount"):
            from_paypal_value(value, "USD")

    def test_sixteen_integer_digits_are_refused(self) -> None:
        with pytest.raises(MoneyFormatError, match="15 integer digits"):
            from_paypal_value("1000000000000000.00", "USD")

    def test_non_string_is_refused(self) -> None:
        with pytest.raises(MoneyFormatError, match="must be a string"):
            from_paypal_value(10.5, "USD")  # type: ignore[arg-type]


class TestRoundTrip:
    @pytest.mark.parametrize(
        ("amount", "currency"),
        [(1, "USD"), (99, "GBP"), (100, "EUR"), (123456789, "USD"), (1, "JPY"), (100, "TWD")],
    )
    def test_value_round_trips(self, amount: int, currency: str) -> None:
        assert from_paypal_value(to_paypal_value(amount, currency), currency) == amount
