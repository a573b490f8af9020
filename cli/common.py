"""What every `paygraph` command shares: the dev.env beside a running `paygraph dev`, settings
and logging, and the one way a command says why it stops."""

from __future__ import annotations

import os
import sys

from infra import embedded
from infra.logging import configure_logging
from settings import Settings, load_settings

SECRETS_FILE = embedded.STATE_DIR / "secrets.env"


def adopt_dev_env() -> None:
    """Beside a running `paygraph dev`, use the services and secrets it wrote down."""
    if os.environ.get("MONGODB_URL") and os.environ.get("REDIS_URL"):
        return
    for source in (embedded.read_dev_env(), embedded.read_dev_env(SECRETS_FILE)):
        for key, value in source.items():
            os.environ.setdefault(key, value)


def load_cli_settings() -> Settings:
    """Settings from the environment (and .env), with logging set up for them."""
    settings = load_settings()
    configure_logging(json_output=settings.is_production, level=settings.log_level)
    return settings


def fail(command: str, message: str, code: int = 2) -> int:
    """`paygraph <command>: <message>` on stderr; returns the exit code to return."""
    print(f"paygraph {command}: {message}", file=sys.stderr)
    return code


# Sandbox credentials by Settings attribute and environment name.
_SANDBOX_ENV = {
    "razorpay_key_id": "RAZORPAY_KEY_ID",
    "razorpay_key_secret": "RAZORPAY_KEY_SECRET",
    "razorpay_webhook_secret": "RAZORPAY_WEBHOOK_SECRET",
    "paypal_client_id": "PAYPAL_CLIENT_ID",
    "paypal_client_secret": "PAYPAL_CLIENT_SECRET",
    "paypal_webhook_id": "PAYPAL_WEBHOOK_ID",
}


def generated_sandbox_env(settings: Settings) -> dict[str, str]:
    """The test credentials the sandboxes would generate for unset gateway keys, by env name."""
    from core import sandbox_credentials

    filled = sandbox_credentials(settings)
    return {
        env: str(getattr(filled, attr))
        for attr, env in _SANDBOX_ENV.items()
        if getattr(settings, attr) is None and getattr(filled, attr) is not None
    }
