"""What a reconciliation run found: fixes applied through the state machine, and mismatches
it recorded for a human instead of overwriting."""

from __future__ import annotations

from beanie import Document, PydanticObjectId
from pydantic import BaseModel, Field
from pymongo import DESCENDING, IndexModel

from models.clock import UtcDateTime, utcnow
from models.enums import Gateway, ReconciliationTrigger


class ReconciliationFinding(BaseModel):
    kind: str  # e.g. "STATUS_DRIFT", "AMOUNT_DRIFT", "LATE_CAPTURE"; chosen by the service
    payment_id: PydanticObjectId | None = None
    refund_id: PydanticObjectId | None = None
    gateway: Gateway | None = None
    detail: str
    expected: str | None = None  # what the gateway says
    actual: str | None = None  # what we had


class ReconciliationReport(Document):
    started_at: UtcDateTime = Field(default_factory=utcnow)
    finished_at: UtcDateTime | None = None
    trigger: ReconciliationTrigger
    dry_run: bool = False
    checked_payments: int = Field(default=0, ge=0)
    checked_refunds: int = Field(default=0, ge=0)
    fixed: list[ReconciliationFinding] = Field(default_factory=list)
    mismatches: list[ReconciliationFinding] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list)

    class Settings:
        name = "reconciliation_reports"
        indexes = [IndexModel([("started_at", DESCENDING)], name="started_at")]
