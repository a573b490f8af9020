"""A customer's saved payment method: a gateway token, never card data.

The token is encrypted at rest (Fernet, by the service) and fingerprinted with an HMAC for
uniqueness, so the plaintext token is never stored or indexed. The display fields are checked
here so that nothing resembling a card number can be persisted, whichever code path writes.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from beanie import Document
from pydantic import Field, ValidationInfo, field_validator
from pymongo import ASCENDING, DESCENDING, IndexModel

from models.clock import UtcDateTime, utcnow
from models.enums import Gateway, PaymentMethodType
from models.errors import PanNotAccepted

# 12 to 19 digits, optionally grouped by single spaces or dashes: every card number length
# in use, in the ways people type them. No Luhn check: refusing a non-card is harmless.
_PAN_LIKE = re.compile(r"(?<![0-9])[0-9](?:[ -]?[0-9]){11,18}(?![0-9])")
# Fernet tokens are url-safe base64 starting with the version byte 0x80 ("gAAAAA").
_FERNET_TOKEN = re.compile(r"gAAAAA[A-Za-z0-9_\-]+=*")


def looks_like_pan(text: str) -> bool:
    return _PAN_LIKE.search(text) is not None


class SavedPaymentMethod(Document):
    customer_id: str = Field(min_length=1)
    gateway: Gateway
    method_type: PaymentMethodType
    token_ciphertext: str
    token_fingerprint: str = Field(min_length=16, max_length=128)
    last4: Annotated[str, Field(pattern=r"^[0-9]{4}$")] | None = None
    network: str | None = Field(default=None, max_length=32)
    expiry_month: int | None = Field(default=None, ge=1, le=12)
    expiry_year: int | None = Field(default=None, ge=2000, le=2100)
    vpa_masked: str | None = Field(default=None, max_length=128)
    label: str = Field(default="", max_length=64)
    is_default: bool = False
    created_at: UtcDateTime = Field(default_factory=utcnow)
    updated_at: UtcDateTime = Field(default_factory=utcnow)

    class Settings:
        name = "saved_payment_methods"
        validate_on_save = True
        indexes = [
            IndexModel(
                [("customer_id", ASCENDING), ("is_default", DESCENDING)],
                name="customer_default",
            ),
            IndexModel(
                [("gateway", ASCENDING), ("token_fingerprint", ASCENDING)],
                name="gateway_token_fingerprint_unique",
                unique=True,
            ),
        ]

    def expired(self, now: datetime) -> bool:
        """Whether the card is past its expiry month (a card is good through the last day of
        the month printed on it). A method without an expiry never expires here."""
        if self.expiry_year is None or self.expiry_month is None:
            return False
        return (now.year, now.month) > (self.expiry_year, self.expiry_month)

    @field_validator("last4", "label", "network", "vpa_masked", mode="before")
    @classmethod
    def _refuse_card_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        # PanNotAccepted is not a ValueError, so pydantic lets it through unwrapped and the
        # caller sees the contract's PAN_NOT_ACCEPTED. The message never echoes the value.
        if isinstance(value, str) and looks_like_pan(value):
            raise PanNotAccepted(field=info.field_name)
        return value

    @field_validator("token_ciphertext")
    @classmethod
    def _must_be_encrypted(cls, value: str) -> str:
        if looks_like_pan(value):
            raise PanNotAccepted(field="token_ciphertext")
        if _FERNET_TOKEN.fullmatch(value) is None:
            raise ValueError("token_ciphertext must be a Fernet token (encrypt before storing)")
        return value
