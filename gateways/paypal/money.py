"""Integer minor units <-> PayPal decimal strings.

Our side counts minor units per ISO-4217 exponent (cents for USD, yen for JPY). PayPal's wire
format is a decimal string whose number of decimals is fixed per currency: two for most, none
for JPY, and also none for HUF and TWD even though ISO gives those two decimals. So an HUF
amount of 150000 minor units is "1500" on the wire, and 150050 cannot be sent at all.
"""

from __future__ import annotations

import re

# ISO-4217 exponents for the currencies this module is asked about. An unknown code is an
# error rather than a guess: a wrong exponent moves money by a factor of 100.
ISO_EXPONENTS: dict[str, int] = {
    "AUD": 2,
    "BRL": 2,
    "CAD": 2,
    "CHF": 2,
    "CNY": 2,
    "CZK": 2,
    "DKK": 2,
    "EUR": 2,
    "GBP": 2,
    "HKD": 2,
    "HUF": 2,
    "ILS": 2,
    "INR": 2,
    "JPY": 0,
    "MXN": 2,
    "MYR": 2,
    "NOK": 2,
    "NZD": 2,
    "PHP": 2,
    "PLN": 2,
    "SEK": 2,
    "SGD": 2,
    "THB": 2,
    "TWD": 2,
    "USD": 2,
}

# PayPal accepts no decimals for these (its currency-codes reference); all others take two.
_PAYPAL_WHOLE_UNITS = frozenset({"HUF", "JPY", "TWD"})

# PayPal: "up to 15 digits before the decimal point", value at most 32 characters.
MAX_INTEGER_DIGITS = 15

_VALUE_RE = re.compile(r"^(?P<int>[0-9]*)(?:\.(?P<frac>[0-9]+))?$")


class MoneyFormatError(ValueError):
    """An amount that cannot be expressed, or a PayPal value that does not parse exactly."""


def iso_exponent(currency: str) -> int:
    try:
        return ISO_EXPONENTS[currency]
    except KeyError:
        raise MoneyFormatError(f"unknown currency {currency!r}") from None


def paypal_decimals(currency: str) -> int:
    """How many decimals PayPal allows in `amount.value` for this currency."""
    iso_exponent(currency)
    return 0 if currency in _PAYPAL_WHOLE_UNITS else 2


def to_paypal_value(amount_minor: int, currency: str) -> str:
    """Format minor units as PayPal's decimal string; rejects what PayPal could not take."""
    if isinstance(amount_minor, bool) or not isinstance(amount_minor, int):
        raise MoneyFormatError(f"amount must be integer minor units, got {amount_minor!r}")
    if amount_minor < 0:
        raise MoneyFormatError(f"amount must not be negative, got {amount_minor}")
    exponent = iso_exponent(currency)
    decimals = paypal_decimals(currency)
    # Minor units per smallest PayPal step: 1 normally, 100 for HUF/TWD.
    step = 10 ** (exponent - decimals)
    if amount_minor % step:
        raise MoneyFormatError(
            f"{currency} takes no decimals at PayPal; {amount_minor} minor units "
            "is not a whole amount"
        )
    units = amount_minor // step
    whole, frac = divmod(units, 10**decimals)
    if len(str(whole)) > MAX_INTEGER_DIGITS:
        raise MoneyFormatError(f"amount {amount_minor} exceeds PayPal's 15 integer digits")
    return f"{whole}.{frac:0{decimals}d}" if decimals else str(whole)


def from_paypal_value(value: str, currency: str) -> int:
    """Parse PayPal's decimal string into minor units, exactly. Rejects a sign, whitespace,
    exponents and more decimals than the currency allows (PayPal's DECIMAL_PRECISION)."""
    if not isinstance(value, str):
        raise MoneyFormatError(f"amount value must be a string, got {type(value).__name__}")
    match = _VALUE_RE.fullmatch(value)
    if match is None or not (match["int"] or match["frac"]):
        raise MoneyFormatError(f"not a PayPal amount value: {value!r}")
    exponent = iso_exponent(currency)
    decimals = paypal_decimals(currency)
    int_part: str = match["int"] or "0"
    frac_part: str = match["frac"] or ""
    if len(frac_part) > decimals:
        raise MoneyFormatError(
            f"{value!r} has {len(frac_part)} decimals; {currency} allows {decimals}"
        )
    if len(int_part.lstrip("0")) > MAX_INTEGER_DIGITS:
        raise MoneyFormatError(f"{value!r} exceeds PayPal's 15 integer digits")
    units: int = int(int_part) * 10**decimals + int(frac_part.ljust(decimals, "0") or "0")
    scale: int = 10 ** (exponent - decimals)
    return units * scale
