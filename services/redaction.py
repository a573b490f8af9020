"""What the webhook inbox may keep of a gateway's payload: no gateway token and no personal data
in clear. Applied before the insert, so neither the database nor an admin reading the inbox ever
sees them; amounts, ids, statuses, methods, banks and wallets stay (they are what an operator
needs to follow a payment).

Redacted by key wherever they appear (case-insensitive): emails, phone numbers, UPI ids (VPA),
gateway tokens and card ids, people's names and street addresses, payer and account ids. A card
object keeps only what identifies the instrument without exposing it (last digits, network,
type, issuer). Any card-number-shaped string is masked as well, whatever its key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain.cards import mask_card_numbers

REDACTED = "[REDACTED]"

_PERSONAL_KEYS = frozenset(
    {
        # contact details
        "email",
        "email_address",
        "contact",
        "phone",
        "phone_number",
        "national_number",
        "vpa",
        "upi_id",
        # gateway tokens and instrument ids
        "token",
        "token_id",
        "card_id",
        "payer_id",
        "account_id",
        "customer_id",
        # people and places
        "name",
        "given_name",
        "surname",
        "full_name",
        "address_line_1",
        "address_line_2",
        "admin_area_1",
        "admin_area_2",
        "postal_code",
        "billing_address",
        "shipping_address",
        "expiry",
        "expiry_month",
        "expiry_year",
        "token_iin",
        "iin",
    }
)
# What a card object may keep (Razorpay's `card`, PayPal's `payment_source.card`).
_CARD_KEEPS = frozenset(
    {"entity", "last4", "last_digits", "network", "brand", "type", "issuer", "international", "emi"}
)


def redact_payload(payload: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `payload` safe to store (see the module docstring)."""
    return {key: _redact(key, value) for key, value in payload.items()}


def _redact(key: str, value: Any) -> Any:
    lowered = key.lower()
    if lowered in _PERSONAL_KEYS and value not in (None, ""):
        return REDACTED
    if lowered == "card" and isinstance(value, Mapping):
        return {k: _redact(k, v) for k, v in value.items() if k.lower() in _CARD_KEEPS}
    if isinstance(value, Mapping):
        return {k: _redact(k, v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(key, item) for item in value]
    if isinstance(value, str):
        return mask_card_numbers(value, REDACTED)
    return value
