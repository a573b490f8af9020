"""Durations as operators type them (`paygraph reconcile --since 6h`)."""

from __future__ import annotations

from datetime import timedelta

from models.errors import ValidationFailed

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> timedelta:
    """`90s`, `30m`, `6h`, `2d` (or a bare number of seconds) -> a positive timedelta."""
    value = text.strip().lower()
    unit = value[-1:] if value[-1:] in _UNITS else "s"
    number = value[:-1] if value[-1:] in _UNITS else value
    try:
        amount = float(number)
    except ValueError:
        raise ValidationFailed(
            f"{text!r} is not a duration like 30m, 6h or 2d", field="since"
        ) from None
    if amount <= 0:
        raise ValidationFailed("since must be a positive duration", field="since")
    return timedelta(seconds=amount * _UNITS[unit])
