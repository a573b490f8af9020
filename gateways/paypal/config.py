"""Explicit configuration for the PayPal adapter (built by the composition root from settings)."""

from __future__ import annotations

from dataclasses import dataclass

from gateways.paypal.money import ISO_EXPONENTS

LIVE_BASE_URL = "https://api-m.paypal.com"
SANDBOX_BASE_URL = "https://api-m.sandbox.paypal.com"

# PayPal's REST currencies that an India-registered business can receive from abroad. INR is
# deliberately absent: PayPal stopped domestic INR payments in India in April 2021.
DEFAULT_CURRENCIES: frozenset[str] = frozenset(
    {
        "AUD",
        "CAD",
        "CHF",
        "CZK",
        "DKK",
        "EUR",
        "GBP",
        "HKD",
        "HUF",
        "ILS",
        "JPY",
        "MXN",
        "NOK",
        "NZD",
        "PHP",
        "PLN",
        "SEK",
        "SGD",
        "THB",
        "TWD",
        "USD",
    }
)

# Hosts PayPal serves webhook signing certificates from (offline verification only).
DEFAULT_CERT_HOSTS: frozenset[str] = frozenset({"api.paypal.com", "api.sandbox.paypal.com"})

NEVER_SUPPORTED = frozenset({"INR"})


@dataclass(frozen=True, slots=True, kw_only=True)
class PayPalConfig:
    client_id: str
    client_secret: str
    return_url: str
    cancel_url: str
    webhook_id: str | None = None
    base_url: str = LIVE_BASE_URL
    connect_timeout: float = 3.0
    read_timeout: float = 10.0
    supported_currencies: frozenset[str] = DEFAULT_CURRENCIES
    cert_host_allowlist: frozenset[str] = DEFAULT_CERT_HOSTS
    # Refresh the token this long before PayPal's expires_in runs out (capped at a tenth
    # of the lifetime so short-lived tokens are still reused).
    token_refresh_skew: float = 120.0
    # False: verify webhooks by posting back to PayPal. True: check the signature locally
    # against the certificate at PAYPAL-CERT-URL (host must be on cert_host_allowlist).
    self_verify_webhooks: bool = False

    def __post_init__(self) -> None:
        if not self.client_id or not self.client_secret:
            raise ValueError("PayPal client_id and client_secret are required")
        refused = self.supported_currencies & NEVER_SUPPORTED
        if refused:
            raise ValueError(f"PayPal cannot take {sorted(refused)} for this merchant")
        unknown = {c for c in self.supported_currencies if c not in ISO_EXPONENTS}
        if unknown:
            raise ValueError(f"no known minor-unit exponent for {sorted(unknown)}")
        if self.connect_timeout <= 0 or self.read_timeout <= 0:
            raise ValueError("timeouts must be positive")
