"""Standard Webhooks signing (standardwebhooks.com), with the `standardwebhooks` library: a
receiver verifies with the same library in its own language.

Headers: `webhook-id` (the event id, the same on every attempt), `webhook-timestamp` (unix
seconds of this attempt; receivers refuse ones more than five minutes off) and
`webhook-signature`: `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`, one per secret
in force separated by spaces (during a rotation the old secret signs beside the new one).
Secrets are `whsec_` + base64 of 32 random bytes.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from datetime import datetime

from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def signed_headers(
    secrets_in_force: Sequence[str], event_id: str, sent_at: datetime, body: str
) -> dict[str, str]:
    """The three Standard Webhooks headers for one attempt, signed with every secret given."""
    if not secrets_in_force:
        raise ValueError("an endpoint always has a secret")
    signatures = [
        Webhook(secret).sign(msg_id=event_id, timestamp=sent_at, data=body)
        for secret in secrets_in_force
    ]
    return {
        "webhook-id": event_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": " ".join(signatures),
        "content-type": "application/json",
    }
