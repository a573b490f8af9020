"""The sandbox's configuration, and what the PayPal merchant it plays may receive."""

from __future__ import annotations

from dataclasses import dataclass

from gateways.paypal.config import DEFAULT_CURRENCIES

# What PayPal lets this merchant receive: the same fact the adapter is configured with.
DEFAULT_MERCHANT_CURRENCIES: frozenset[str] = DEFAULT_CURRENCIES
MAX_WEBHOOK_ATTEMPTS = 25


@dataclass(frozen=True, slots=True, kw_only=True)
class PayPalSandboxConfig:
    client_id: str
    client_secret: str
    webhook_id: str
    # Where this sandbox is reachable, prefix included, e.g.
    # "http://127.0.0.1:8000/sandbox/paypal". None: derived from each request's scheme, host
    # and mount point (the ASGI root_path).
    public_base_url: str | None = None
    webhook_url: str | None = None
    token_expires_in: int = 32400
    merchant_currencies: frozenset[str] = DEFAULT_MERCHANT_CURRENCIES
    unique_invoice_ids: bool = True
    # PayPal retries a failed delivery up to 25 times over 3 days; the sandbox compresses
    # that into base * 2**(attempt - 1) seconds, capped.
    webhook_retry_base: float = 0.05
    webhook_retry_cap: float = 1.0
    webhook_max_attempts: int = MAX_WEBHOOK_ATTEMPTS
    webhook_timeout: float = 5.0

    def __post_init__(self) -> None:
        if "INR" in self.merchant_currencies:
            raise ValueError("PayPal does not let this merchant receive INR")
        if not 1 <= self.webhook_max_attempts <= MAX_WEBHOOK_ATTEMPTS:
            raise ValueError("webhook_max_attempts must be within 1..25")
