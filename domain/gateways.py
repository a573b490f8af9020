"""Gateway names and the amount limits every layer must agree on (one place: the adapters refuse
below them, the catalog hides methods below them, refunds are refused below them)."""

from __future__ import annotations

from enum import StrEnum


class Gateway(StrEnum):
    RAZORPAY = "RAZORPAY"
    PAYPAL = "PAYPAL"


# Smallest amount each gateway accepts for a payment or a refund, in minor units of the currency
# ("The amount must be at least INR 1.00" on Razorpay; PayPal takes one cent).
MIN_AMOUNT_MINOR: dict[Gateway, int] = {Gateway.RAZORPAY: 100, Gateway.PAYPAL: 1}
