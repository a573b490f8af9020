"""UTC time for documents.

MongoDB keeps milliseconds and hands datetimes back naive. `utcnow()` truncates to milliseconds
so a value compares equal after a round trip, and `UtcDateTime` reads naive values back as UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator


def utcnow() -> datetime:
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond - now.microsecond % 1000)


def as_utc(value: datetime) -> datetime:
    """Naive values are UTC by convention (that is what the driver returns); aware ones convert."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


UtcDateTime = Annotated[datetime, AfterValidator(as_utc)]
