"""JSON job (de)serialization for arq: no pickle anywhere."""

from __future__ import annotations

import json
from typing import Any


def serialize(job: dict[str, Any]) -> bytes:
    return json.dumps(job, separators=(",", ":"), default=str).encode()


def deserialize(data: bytes) -> dict[str, Any]:
    value = json.loads(data)
    if not isinstance(value, dict):
        raise ValueError("a job must deserialize to an object")
    return value
