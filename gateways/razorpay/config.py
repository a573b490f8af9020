"""Explicit configuration for the Razorpay adapter, built from Settings by the composition roots."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

CaptureMode = Literal["automatic", "manual"]


@dataclass(frozen=True, slots=True)
class RazorpayConfig:
    """Credentials and wire settings. Secrets are kept out of repr so a logged config leaks nothing.

    `base_url` is host only (plus a mount prefix for the sandbox): request paths carry `/v1`.
    `payment_capture`, when set, is sent on every order as `payment.capture`; None leaves the
    Dashboard's capture setting in charge.
    """

    key_id: str
    key_secret: str = field(repr=False)
    webhook_secret: str | None = field(default=None, repr=False)
    base_url: str = "https://api.razorpay.com"
    connect_timeout: float = 3.0
    read_timeout: float = 10.0
    payment_capture: CaptureMode | None = None

    def __post_init__(self) -> None:
        if not self.key_id or not self.key_secret:
            raise ValueError("RazorpayConfig needs both key_id and key_secret")
        if self.connect_timeout <= 0 or self.read_timeout <= 0:
            raise ValueError("RazorpayConfig timeouts must be positive")
