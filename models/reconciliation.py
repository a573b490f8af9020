"""What a reconciliation run found: fixes applied through the state machine, and mismatches
it recorded for a human instead of overwriting."""

from __future__ import annotations

from enum import StrEnum

from beanie import Document, PydanticObjectId
from pydantic import BaseModel, Field
from pymongo import DESCENDING, IndexModel

from models.clock import UtcDateTime, utcnow
from models.enums import Gateway, ReconciliationTrigger


class FindingKind(StrEnum):
    """What a finding is about. The first group are fixes the run applied (or, dry, would
    apply); the second are issues it only reports."""

    RECOVERED = "RECOVERED"  # paid at the gateway, open here -> COMPLETED
    FAILED_ATTEMPT = "FAILED_ATTEMPT"  # a failed attempt we had not recorded
    EXPIRED = "EXPIRED"  # nothing paid, past PAYMENT_TIMEOUT_MINUTES
    REFUND_SETTLED = "REFUND_SETTLED"  # processed or failed at the gateway -> COMPLETED/FAILED
    REFUND_SUBMITTED = "REFUND_SUBMITTED"  # an unanswered refund call replayed, now known there

    AMOUNT_MISMATCH = "AMOUNT_MISMATCH"  # amount or currency differs between us and the gateway
    DOUBLE_CHARGE = "DOUBLE_CHARGE"  # a second captured gateway payment on our order
    STATUS_MISMATCH = "STATUS_MISMATCH"  # e.g. completed here, failed or missing there
    UNKNOWN_REFUND = "UNKNOWN_REFUND"  # the gateway refunded more than we know of
    REFUND_MISMATCH = "REFUND_MISMATCH"  # a refund's amount or currency differs
    REFUND_OVERDUE = "REFUND_OVERDUE"  # still pending there past REFUND_TIMEOUT_HOURS
    STATE_CONFLICT = "STATE_CONFLICT"  # the state machine refused what the gateway says
    LATE_PAYMENT = "LATE_PAYMENT"  # captured at the gateway after we closed the payment
    LATE_AUTHORIZATION = "LATE_AUTHORIZATION"  # authorized after we closed it (left to lapse)


class ReconciliationFinding(BaseModel):
    kind: str  # a FindingKind value (kept a string so older reports stay readable)
    payment_id: PydanticObjectId | None = None
    refund_id: PydanticObjectId | None = None
    order_id: str | None = None  # the merchant order id of the payment
    gateway: Gateway | None = None
    gateway_order_id: str | None = None
    gateway_payment_id: str | None = None
    gateway_refund_id: str | None = None
    detail: str
    expected: str | None = None  # what the gateway says
    actual: str | None = None  # what we had
    action: str | None = None  # what the run did about it (a dry run: what it would do)


class ReconciliationReport(Document):
    started_at: UtcDateTime = Field(default_factory=utcnow)
    finished_at: UtcDateTime | None = None
    trigger: ReconciliationTrigger
    dry_run: bool = False
    since: UtcDateTime | None = None  # only records created after this were checked
    checked_payments: int = Field(default=0, ge=0)
    checked_refunds: int = Field(default=0, ge=0)
    recovered: int = Field(default=0, ge=0)
    expired: int = Field(default=0, ge=0)
    failed_attempts: int = Field(default=0, ge=0)
    refunds_settled: int = Field(default=0, ge=0)
    unchanged: int = Field(default=0, ge=0)
    gateway_errors: int = Field(default=0, ge=0)
    fixed: list[ReconciliationFinding] = Field(default_factory=list)
    # Fixes beyond the stored list's cap (the counts above stay exact).
    fixed_not_listed: int = Field(default=0, ge=0)
    mismatches: list[ReconciliationFinding] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list)

    class Settings:
        name = "reconciliation_reports"
        indexes = [IndexModel([("started_at", DESCENDING)], name="started_at")]

    @property
    def checked(self) -> int:
        return self.checked_payments + self.checked_refunds
