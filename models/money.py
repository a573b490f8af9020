"""Money: integer minor units plus an ISO-4217 currency code. No float anywhere.

Decimal strings exist only at the edges: `Money.parse` reads a major-unit string from a client,
`to_decimal_string` writes one for GraphQL and PayPal.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import ROUND_FLOOR, Decimal
from types import MappingProxyType
from typing import Annotated, Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator

from models.errors import CurrencyMismatch, InvalidAmount, UnsupportedCurrency

# Currencies Razorpay or PayPal take, with their ISO-4217 minor-unit exponent.
# HUF and TWD are left out on purpose: ISO says 2 decimals, PayPal accepts only whole units,
# so the same minor amount would mean different things at the two gateways.
# Razorpay takes the three-decimal currencies only with a trailing zero; that is its adapter's
# check (`supports`), not a property of the money.
_EXPONENTS: Mapping[str, int] = MappingProxyType(
    {
        "INR": 2,
        "USD": 2,
        "EUR": 2,
        "GBP": 2,
        "AUD": 2,
        "CAD": 2,
        "SGD": 2,
        "AED": 2,
        "HKD": 2,
        "CHF": 2,
        "NZD": 2,
        "SEK": 2,
        "NOK": 2,
        "DKK": 2,
        "PLN": 2,
        "CZK": 2,
        "ILS": 2,
        "MXN": 2,
        "BRL": 2,
        "PHP": 2,
        "THB": 2,
        "MYR": 2,
        "CNY": 2,
        "SAR": 2,
        "QAR": 2,
        "ZAR": 2,
        "LKR": 2,
        "NPR": 2,
        "BDT": 2,
        "JPY": 0,
        "KWD": 3,
        "BHD": 3,
        "OMR": 3,
    }
)

SUPPORTED_CURRENCIES: frozenset[str] = frozenset(_EXPONENTS)

MAX_MAJOR = Decimal("999999.99")
"""Largest amount accepted from a client, in major units, whatever the currency."""

_MAX_INPUT_LENGTH = 32  # longer than any valid amount; bounds int() work on hostile input
_CURRENCY_RE = re.compile(r"[A-Z]{3}")
_AMOUNT_RE = re.compile(r"(?P<units>[0-9]+)(?:\.(?P<fraction>[0-9]+))?")
_NUMBER_LIKE_RE = re.compile(r"[0-9]*\.?[0-9]*[eE][+-]?[0-9]+")


def exponent(currency: str) -> int:
    """Minor-unit exponent of a supported currency (INR 2, JPY 0, KWD 3)."""
    try:
        return _EXPONENTS[currency]
    except KeyError:
        raise UnsupportedCurrency(f"Currency {currency!r} is not supported.") from None


def max_minor(currency: str) -> int:
    """`MAX_MAJOR` in this currency's minor units (JPY: 999999, INR: 99999999)."""
    scaled = MAX_MAJOR.scaleb(exponent(currency))
    return int(scaled.to_integral_value(rounding=ROUND_FLOOR))


def _check_currency(currency: object) -> str:
    if not isinstance(currency, str) or _CURRENCY_RE.fullmatch(currency) is None:
        raise UnsupportedCurrency("Currency must be a three-letter uppercase ISO-4217 code.")
    exponent(currency)
    return currency


class Money(BaseModel):
    """An amount of one currency. Arithmetic and ordering only within the same currency."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    MAX_MAJOR: ClassVar[Decimal] = MAX_MAJOR

    amount_minor: Annotated[int, Field(ge=0, strict=True)]
    currency: str

    @field_validator("currency", mode="before")
    @classmethod
    def _supported_currency(cls, value: Any) -> str:
        try:
            return _check_currency(value)
        except UnsupportedCurrency as exc:
            # Inside pydantic a ValueError becomes a ValidationError naming the field.
            raise ValueError(exc.message) from None

    @classmethod
    def zero(cls, currency: str) -> Self:
        return cls(amount_minor=0, currency=_check_currency(currency))

    @classmethod
    def parse(
        cls, text: object, currency: str, *, field: str = "amount", allow_zero: bool = False
    ) -> Self:
        """Read a major-unit decimal string such as "1000.50" (JPY: "500").

        Strict on purpose: no floats, no exponents, no signs, no whitespace, no more decimals
        than the currency has, at most `MAX_MAJOR`. Zero is refused unless `allow_zero`.
        Raises `InvalidAmount` (or `UnsupportedCurrency`) naming `field`.
        """
        _check_currency(currency)
        places = exponent(currency)
        if not isinstance(text, str):
            # bool, int, float and Decimal all land here: only a string states its precision.
            raise InvalidAmount("Amount must be a decimal string.", field=field)
        if text == "":
            raise InvalidAmount("Amount is required.", field=field)
        if len(text) > _MAX_INPUT_LENGTH:
            raise InvalidAmount("Amount is too long.", field=field)
        if text.startswith("-"):
            raise InvalidAmount("Amount must not be negative.", field=field)
        if text.startswith("+"):
            raise InvalidAmount("Amount must not carry a sign.", field=field)
        if _NUMBER_LIKE_RE.fullmatch(text) is not None:
            raise InvalidAmount("Amount must not use exponent notation.", field=field)
        match = _AMOUNT_RE.fullmatch(text)
        if match is None:
            raise InvalidAmount(
                "Amount must be digits with an optional decimal point, like 1000.50.",
                field=field,
            )
        fraction = match.group("fraction") or ""
        if len(fraction) > places:
            raise InvalidAmount(
                f"{currency} amounts take no decimal places."
                if places == 0
                else f"{currency} amounts take at most {places} decimal places.",
                field=field,
            )
        minor = int(match.group("units")) * 10**places + int(fraction.ljust(places, "0") or "0")
        if minor > max_minor(currency):
            raise InvalidAmount(f"Amount must be at most {MAX_MAJOR} {currency}.", field=field)
        if minor == 0 and not allow_zero:
            raise InvalidAmount("Amount must be greater than zero.", field=field)
        return cls(amount_minor=minor, currency=currency)

    @property
    def exponent(self) -> int:
        return _EXPONENTS[self.currency]

    @property
    def is_zero(self) -> bool:
        return self.amount_minor == 0

    def to_decimal_string(self) -> str:
        """Major units with exactly the currency's decimals: "1000.50", JPY "500"."""
        places = self.exponent
        if places == 0:
            return str(self.amount_minor)
        units, fraction = divmod(self.amount_minor, 10**places)
        return f"{units}.{fraction:0{places}d}"

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatch(
                f"Cannot combine {self.currency} with {other.currency}.", field="currency"
            )

    def __add__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return Money(amount_minor=self.amount_minor + other.amount_minor, currency=self.currency)

    def __sub__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        if other.amount_minor > self.amount_minor:
            # Callers compare first (refundable vs requested); getting here is a bug.
            raise ValueError(
                f"{self} - {other} would be negative; money amounts are never below zero"
            )
        return Money(amount_minor=self.amount_minor - other.amount_minor, currency=self.currency)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return self.amount_minor < other.amount_minor

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return self.amount_minor <= other.amount_minor

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return self.amount_minor > other.amount_minor

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return self.amount_minor >= other.amount_minor

    def __str__(self) -> str:
        return f"{self.to_decimal_string()} {self.currency}"
