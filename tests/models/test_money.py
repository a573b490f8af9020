from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from models.errors import CurrencyMismatch, InvalidAmount, UnsupportedCurrency, ValidationFailed
from models.money import MAX_MAJOR, SUPPORTED_CURRENCIES, Money, exponent, max_minor


def inr(minor: int) -> Money:
    return Money(amount_minor=minor, currency="INR")


class TestExponent:
    @pytest.mark.parametrize(
        ("currency", "expected"),
        [("INR", 2), ("USD", 2), ("EUR", 2), ("GBP", 2), ("AED", 2), ("JPY", 0), ("KWD", 3)],
    )
    def test_known_currency(self, currency: str, expected: int) -> None:
        assert exponent(currency) == expected
        assert currency in SUPPORTED_CURRENCIES

    def test_unknown_currency_is_typed(self) -> None:
        with pytest.raises(UnsupportedCurrency) as caught:
            exponent("XYZ")
        assert caught.value.field == "currency"
        assert caught.value.code == "VALIDATION_ERROR"

    def test_every_supported_currency_has_exponent(self) -> None:
        assert all(exponent(c) in (0, 2, 3) for c in SUPPORTED_CURRENCIES)

    def test_max_minor_follows_exponent(self) -> None:
        assert max_minor("INR") == 99_999_999
        assert max_minor("JPY") == 999_999
        assert max_minor("KWD") == 999_999_990


class TestParseAccepts:
    @pytest.mark.parametrize(
        ("text", "currency", "minor"),
        [
            ("1000.50", "INR", 100_050),
            ("1000.5", "INR", 100_050),
            ("1000", "INR", 100_000),
            ("0.01", "INR", 1),
            ("999999.99", "INR", 99_999_999),
            ("500", "JPY", 500),
            ("999999", "JPY", 999_999),
            ("1.234", "KWD", 1_234),
            ("00012.30", "USD", 1_230),
        ],
    )
    def test_valid_string(self, text: str, currency: str, minor: int) -> None:
        money = Money.parse(text, currency)
        assert money == Money(amount_minor=minor, currency=currency)
        assert isinstance(money.amount_minor, int)

    def test_zero_when_allowed(self) -> None:
        assert Money.parse("0.00", "INR", allow_zero=True) == Money.zero("INR")


class TestParseRejects:
    @pytest.mark.parametrize(
        ("value", "currency", "message_part"),
        [
            (10.5, "INR", "decimal string"),
            (10, "INR", "decimal string"),
            (True, "INR", "decimal string"),
            (Decimal("10.50"), "INR", "decimal string"),
            (None, "INR", "decimal string"),
            ("", "INR", "required"),
            ("1e3", "INR", "exponent"),
            ("1.5E+2", "INR", "exponent"),
            ("+10.00", "INR", "sign"),
            ("-10.00", "INR", "negative"),
            ("-0", "INR", "negative"),
            ("10.001", "INR", "at most 2 decimal places"),
            ("500.5", "JPY", "no decimal places"),
            ("500.0", "JPY", "no decimal places"),
            ("1.2345", "KWD", "at most 3 decimal places"),
            ("abc", "INR", "digits"),
            ("NaN", "INR", "digits"),
            ("Infinity", "INR", "digits"),
            ("1,000.00", "INR", "digits"),
            (" 10.00", "INR", "digits"),
            ("10.00\n", "INR", "digits"),
            ("10.", "INR", "digits"),
            (".50", "INR", "digits"),
            ("1.2.3", "INR", "digits"),
            ("\u0661\u0660", "INR", "digits"),  # Arabic-Indic digits are not ASCII digits
            ("1000000.00", "INR", "at most 999999.99"),
            ("999999.991", "KWD", "at most 999999.99"),
            ("1000000", "JPY", "at most 999999.99"),
            ("9" * 40, "INR", "too long"),
            ("0", "INR", "greater than zero"),
            ("0.00", "INR", "greater than zero"),
        ],
    )
    def test_bad_input(self, value: object, currency: str, message_part: str) -> None:
        with pytest.raises(InvalidAmount) as caught:
            Money.parse(value, currency)
        assert caught.value.field == "amount"
        assert caught.value.code == "VALIDATION_ERROR"
        assert message_part in caught.value.message

    def test_field_name_is_the_callers(self) -> None:
        with pytest.raises(InvalidAmount) as caught:
            Money.parse("-1", "INR", field="refundAmount")
        assert caught.value.field == "refundAmount"

    def test_invalid_amount_is_a_validation_failure(self) -> None:
        assert issubclass(InvalidAmount, ValidationFailed)

    @pytest.mark.parametrize("currency", ["XYZ", "inr", "IN", "INRR", ""])
    def test_unsupported_currency(self, currency: str) -> None:
        with pytest.raises(UnsupportedCurrency) as caught:
            Money.parse("10.00", currency)
        assert caught.value.field == "currency"


class TestConstruction:
    def test_negative_minor_is_refused(self) -> None:
        with pytest.raises(ValidationError):
            Money(amount_minor=-1, currency="INR")

    @pytest.mark.parametrize("minor", [10.0, "10", True, Decimal(10)])
    def test_minor_must_be_an_int(self, minor: object) -> None:
        with pytest.raises(ValidationError):
            Money(amount_minor=minor, currency="INR")  # type: ignore[arg-type]

    @pytest.mark.parametrize("currency", ["XYZ", "usd", "US"])
    def test_currency_must_be_supported_uppercase(self, currency: str) -> None:
        with pytest.raises(ValidationError):
            Money(amount_minor=1, currency=currency)

    def test_frozen(self) -> None:
        money = inr(100)
        with pytest.raises(ValidationError):
            money.amount_minor = 5  # type: ignore[misc]

    def test_hashable_and_equal_by_value(self) -> None:
        assert {inr(100), inr(100)} == {inr(100)}


class TestDecimalString:
    @pytest.mark.parametrize(
        ("minor", "currency", "text"),
        [
            (100_050, "INR", "1000.50"),
            (100_000, "INR", "1000.00"),
            (5, "INR", "0.05"),
            (0, "USD", "0.00"),
            (500, "JPY", "500"),
            (1_234, "KWD", "1.234"),
            (99_999_999, "INR", "999999.99"),
        ],
    )
    def test_format(self, minor: int, currency: str, text: str) -> None:
        assert Money(amount_minor=minor, currency=currency).to_decimal_string() == text

    @pytest.mark.parametrize("text", ["0.01", "1.10", "1000.50", "999999.99"])
    def test_round_trip(self, text: str) -> None:
        assert Money.parse(text, "INR").to_decimal_string() == text

    def test_str(self) -> None:
        assert str(inr(100_050)) == "1000.50 INR"

    def test_max_major_is_decimal(self) -> None:
        assert Decimal("999999.99") == MAX_MAJOR


class TestArithmetic:
    def test_add(self) -> None:
        assert inr(150) + inr(250) == inr(400)

    def test_sub(self) -> None:
        assert inr(400) - inr(150) == inr(250)

    def test_sub_below_zero_is_a_bug(self) -> None:
        with pytest.raises(ValueError, match="negative"):
            inr(100) - inr(101)

    def test_add_other_currency(self) -> None:
        with pytest.raises(CurrencyMismatch) as caught:
            inr(100) + Money(amount_minor=100, currency="USD")
        assert caught.value.code == "VALIDATION_ERROR"

    def test_sub_other_currency(self) -> None:
        with pytest.raises(CurrencyMismatch):
            inr(100) - Money(amount_minor=1, currency="USD")

    def test_add_non_money(self) -> None:
        with pytest.raises(TypeError):
            inr(100) + 1  # type: ignore[operator]


class TestComparison:
    def test_ordering(self) -> None:
        assert inr(1) < inr(2)
        assert inr(2) <= inr(2)
        assert inr(3) > inr(2)
        assert inr(3) >= inr(3)
        assert max(inr(5), inr(9), inr(1)) == inr(9)

    def test_equality_includes_currency(self) -> None:
        assert inr(100) != Money(amount_minor=100, currency="USD")

    def test_ordering_other_currency(self) -> None:
        with pytest.raises(CurrencyMismatch):
            _ = inr(1) < Money(amount_minor=2, currency="USD")

    def test_ordering_non_money(self) -> None:
        with pytest.raises(TypeError):
            _ = inr(1) < 2  # type: ignore[operator]
