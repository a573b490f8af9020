"""Embedded types shared by several documents."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from models.clock import UtcDateTime, utcnow
from models.enums import PaymentStatus, RefundStatus, TransitionSource
from models.transitions import PaymentEvent, RefundEvent


class TimelineEntry(BaseModel):
    """One applied payment transition, appended in the same write that changes the status."""

    model_config = ConfigDict(frozen=True)

    at: UtcDateTime = Field(default_factory=utcnow)
    from_status: PaymentStatus | None
    to_status: PaymentStatus
    event: PaymentEvent | None = None  # None only on the entry that records creation
    source: TransitionSource
    gateway_event_id: str | None = None
    gateway_payment_id: str | None = None
    actor: str | None = None  # the customer or admin id for api changes, else the job's name
    note: str | None = None


class RefundTimelineEntry(BaseModel):
    """One applied refund transition."""

    model_config = ConfigDict(frozen=True)

    at: UtcDateTime = Field(default_factory=utcnow)
    from_status: RefundStatus | None
    to_status: RefundStatus
    event: RefundEvent | None = None  # None only on the entry that records creation
    source: TransitionSource
    gateway_event_id: str | None = None
    actor: str | None = None
    note: str | None = None
