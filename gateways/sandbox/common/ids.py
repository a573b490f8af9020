"""Random ids in a gateway's own alphabet and length."""

from __future__ import annotations

import secrets
import string

BASE62 = string.ascii_letters + string.digits
UPPER_ALPHANUMERIC = string.ascii_uppercase + string.digits


def random_id(alphabet: str, length: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))
