"""Configuration: one pydantic-settings class, read from the environment and `.env`.

Every variable in the README's environment table is a field here. Invalid or contradictory
configuration raises `ConfigurationError` naming the variable, so the process fails at startup
instead of on the first payment.
"""

from __future__ import annotations

import logging
import re
from enum import StrEnum
from pathlib import Path

from cryptography.fernet import Fernet
from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from models.enums import LatePaymentPolicy

log = logging.getLogger("paygraph.settings")

_RATE_RE = re.compile(r"^\s*(\d+)\s*/\s*(second|minute|hour|day)\s*$")
_RATE_WINDOW_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_ORIGIN_RE = re.compile(r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?$")
# Local dev servers a shop's checkout is commonly built on (Vite dev and preview, CRA/Next).
_DEV_ORIGIN_PORTS = (5173, 4173, 3000, 8080)


class ConfigurationError(Exception):
    """Configuration that cannot run; the message names the environment variable."""


class AppEnv(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class RateLimit:
    """A parsed `N/unit` limit such as `5/minute`."""

    __slots__ = ("count", "window_seconds")

    def __init__(self, count: int, window_seconds: int) -> None:
        self.count = count
        self.window_seconds = window_seconds

    @classmethod
    def parse(cls, text: str) -> RateLimit:
        match = _RATE_RE.match(text)
        if match is None or int(match.group(1)) < 1:
            raise ValueError(f"expected N/second|minute|hour|day with N >= 1, got {text!r}")
        return cls(int(match.group(1)), _RATE_WINDOW_SECONDS[match.group(2)])


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    app_env: AppEnv = AppEnv.DEVELOPMENT
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    log_level: str = "INFO"

    mongodb_url: str | None = None
    mongodb_db: str = "paygraph"
    redis_url: str | None = None

    # Razorpay (primary). Unset keys in development/test mean: use the mounted sandbox.
    razorpay_key_id: str | None = None
    razorpay_key_secret: str | None = None
    razorpay_webhook_secret: str | None = None
    razorpay_api_url: str | None = None

    # PayPal (secondary).
    paypal_client_id: str | None = None
    paypal_client_secret: str | None = None
    paypal_api_url: str | None = None
    paypal_webhook_id: str | None = None
    paypal_return_url: str = "http://127.0.0.1:8000/checkout/success"
    paypal_cancel_url: str = "http://127.0.0.1:8000/checkout/cancel"

    webhook_url: str | None = None
    gateway_connect_timeout_seconds: float = Field(default=3.0, gt=0, le=60)
    gateway_read_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    gateway_max_in_flight: int = Field(default=32, ge=1, le=1000)

    payment_max_attempts: int = Field(default=3, ge=1, le=20)
    payment_timeout_minutes: int = Field(default=60, ge=1)
    refund_timeout_hours: int = Field(default=24, ge=1)
    reconciliation_interval_hours: int = Field(default=1, ge=1, le=24)
    reconcile_pending_after_seconds: int = Field(default=300, ge=0)
    # Razorpay takes late authorizations for up to 5 days: closed payments are re-checked as long.
    reconcile_closed_lookback_hours: int = Field(default=120, ge=1, le=24 * 90)
    late_payment_policy: LatePaymentPolicy = LatePaymentPolicy.REFUND

    jwt_secret: str | None = None
    jwt_public_key: str | None = None
    jwt_private_key: str | None = None
    jwt_issuer: str | None = None
    jwt_audience: str | None = None

    encryption_keys: str | None = None
    alert_webhook_url: str | None = None
    alert_webhook_secret: str | None = None
    alert_error_rate_threshold: float = Field(default=0.05, gt=0, lt=1)
    alert_window_seconds: int = Field(default=300, ge=1, le=86400)
    alert_min_attempts: int = Field(default=10, ge=1)
    worker_metrics_port: int | None = Field(default=None, ge=1, le=65535)
    rate_limit_initiate: str = "5/minute"

    cors_allow_origins: str | None = None
    webhook_payload_retention_days: int = Field(default=30, ge=1, le=3650)

    # Events out: waits (seconds) before each retry of a failed delivery, and one attempt's limit.
    webhook_retry_delays: str = "5,300,1800,7200,18000,36000,36000"
    webhook_timeout_seconds: float = Field(default=15.0, gt=0, le=60)

    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    # In-flight admission (infra/admission.py): requests served at once by one process (0: no
    # limit), and how long one more waits for a slot before a 503 with Retry-After.
    http_max_in_flight: int = Field(default=64, ge=0, le=100_000)
    http_admission_wait_ms: int = Field(default=2000, ge=0, le=60_000)
    graphql_max_depth: int = Field(default=10, ge=1)
    graphql_max_aliases: int = Field(default=15, ge=1)
    graphql_max_tokens: int = Field(default=2000, ge=1)
    # Trusted documents: a graphql-codegen persisted-documents manifest (hash -> document), and
    # whether /graphql runs only the documents it names.
    trusted_documents_path: Path | None = None
    trusted_documents_only: bool = False

    @field_validator("rate_limit_initiate")
    @classmethod
    def _rate_limit_parses(cls, value: str) -> str:
        RateLimit.parse(value)
        return value

    @field_validator("encryption_keys")
    @classmethod
    def _fernet_keys_parse(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        for key in _split_keys(value):
            try:
                Fernet(key)
            except ValueError as exc:
                raise ValueError("each key must be a url-safe base64 32-byte Fernet key") from exc
        return value

    @field_validator("cors_allow_origins")
    @classmethod
    def _origins_parse(cls, value: str | None) -> str | None:
        if value is None:
            return None
        for origin in _split_keys(value):
            if not _ORIGIN_RE.match(origin):
                raise ValueError(
                    f"{origin!r} is not an origin: scheme://host[:port], no path and no '*'"
                )
        return value

    @field_validator("webhook_retry_delays")
    @classmethod
    def _delays_parse(cls, value: str) -> str:
        try:
            delays = [float(part) for part in _split_keys(value)]
        except ValueError:
            raise ValueError("expected comma-separated seconds, e.g. 5,300,1800") from None
        if any(delay < 0 for delay in delays):
            raise ValueError("delays cannot be negative")
        return value

    @field_validator("jwt_secret")
    @classmethod
    def _jwt_secret_long_enough(cls, value: str | None) -> str | None:
        if value is not None and len(value.encode()) < 32:
            raise ValueError("must be at least 32 bytes for HS256")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if self.jwt_secret and self.jwt_public_key:
            raise ValueError(
                "JWT_SECRET and JWT_PUBLIC_KEY are both set; choose HS256 or RS256, not both"
            )
        if self.app_env is AppEnv.PRODUCTION:
            missing = [
                name
                for name, value in (
                    ("JWT_SECRET or JWT_PUBLIC_KEY", self.jwt_secret or self.jwt_public_key),
                    ("ENCRYPTION_KEYS", self.encryption_keys),
                    ("MONGODB_URL", self.mongodb_url),
                    ("REDIS_URL", self.redis_url),
                    ("RAZORPAY_KEY_ID", self.razorpay_key_id),
                    ("RAZORPAY_KEY_SECRET", self.razorpay_key_secret),
                )
                if not value
            ]
            if missing:
                raise ValueError(f"APP_ENV=production requires {', '.join(missing)}")
        if self.alert_webhook_url and not self.alert_webhook_secret:
            raise ValueError("ALERT_WEBHOOK_URL needs ALERT_WEBHOOK_SECRET (alerts are signed)")
        if bool(self.paypal_client_id) != bool(self.paypal_client_secret):
            raise ValueError("PAYPAL_CLIENT_ID and PAYPAL_CLIENT_SECRET must be set together")
        if self.trusted_documents_only and self.trusted_documents_path is None:
            raise ValueError("TRUSTED_DOCUMENTS_ONLY=true needs TRUSTED_DOCUMENTS_PATH")
        if bool(self.razorpay_key_id) != bool(self.razorpay_key_secret):
            raise ValueError("RAZORPAY_KEY_ID and RAZORPAY_KEY_SECRET must be set together")
        return self

    @property
    def is_production(self) -> bool:
        return self.app_env is AppEnv.PRODUCTION

    @property
    def sandbox_enabled(self) -> bool:
        """The offline gateways are mounted in development and test, never in production."""
        return not self.is_production

    @property
    def initiate_rate_limit(self) -> RateLimit:
        return RateLimit.parse(self.rate_limit_initiate)

    @property
    def fernet_keys(self) -> tuple[str, ...]:
        return tuple(_split_keys(self.encryption_keys)) if self.encryption_keys else ()

    @property
    def webhook_retry_schedule(self) -> tuple[float, ...]:
        """Seconds before each attempt of a delivery: at once, then WEBHOOK_RETRY_DELAYS."""
        return (0.0, *(float(part) for part in _split_keys(self.webhook_retry_delays)))

    @property
    def cors_origins(self) -> tuple[str, ...]:
        """Origins whose browser apps may call /graphql (CORS and WebSocket upgrades). Unset:
        none in production; in development and test, this server's own origin and the usual
        local dev-server ports."""
        if self.cors_allow_origins is not None:
            return tuple(_split_keys(self.cors_allow_origins))
        if self.is_production:
            return ()
        ports = (self.port, *_DEV_ORIGIN_PORTS)
        return tuple(
            f"http://{host}:{port}" for port in ports for host in ("127.0.0.1", "localhost")
        )

    def disabled_webhooks(self) -> list[str]:
        """Gateways whose webhook endpoint answers 404 because its secret is not configured."""
        disabled = []
        if not self.razorpay_webhook_secret:
            disabled.append("razorpay")
        if not self.paypal_webhook_id:
            disabled.append("paypal")
        return disabled

    def warn_about_gaps(self) -> None:
        for gateway in self.disabled_webhooks():
            variable = "RAZORPAY_WEBHOOK_SECRET" if gateway == "razorpay" else "PAYPAL_WEBHOOK_ID"
            log.warning("%s is not set: POST /api/webhooks/%s is disabled (404)", variable, gateway)


def _split_keys(value: str) -> list[str]:
    return [key.strip() for key in value.split(",") if key.strip()]


def load_settings(**overrides: object) -> Settings:
    """Build Settings from the environment, turning validation errors into one clear message."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = ".".join(str(part) for part in error["loc"]) or "configuration"
            message = error["msg"].removeprefix("Value error, ")
            problems.append(f"{field.upper()}: {message}" if error["loc"] else message)
        raise ConfigurationError("invalid configuration: " + "; ".join(problems)) from None
