"""Admin view of reconciliation runs and the result of starting one."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from models.enums import Gateway, ReconciliationTrigger
from models.reconciliation import ReconciliationFinding, ReconciliationReport
from schema.errors import ForbiddenError, ReconciliationRunningError, ValidationError
from schema.types import PageInfo

strawberry.enum(ReconciliationTrigger, name="ReconciliationTrigger")


@strawberry.type(
    name="ReconciliationFinding",
    description="One thing a run fixed (or, dry, would fix) or reported for a person to decide.",
)
class ReconciliationFindingType:
    kind: str = strawberry.field(
        description="RECOVERED, FAILED_ATTEMPT, EXPIRED, REFUND_SETTLED, REFUND_SUBMITTED; issues: "
        "AMOUNT_MISMATCH, DOUBLE_CHARGE, STATUS_MISMATCH, UNKNOWN_REFUND, REFUND_MISMATCH, "
        "REFUND_OVERDUE, STATE_CONFLICT."
    )
    payment_id: strawberry.ID | None
    refund_id: strawberry.ID | None
    order_id: str | None
    gateway: Gateway | None
    gateway_order_id: str | None
    gateway_payment_id: str | None
    gateway_refund_id: str | None
    detail: str
    expected: str | None = strawberry.field(description="What the gateway says.")
    actual: str | None = strawberry.field(description="What we had.")
    action: str | None = strawberry.field(description="What the run did (a dry run: would do).")

    @classmethod
    def from_model(cls, finding: ReconciliationFinding) -> ReconciliationFindingType:
        return cls(
            kind=finding.kind,
            payment_id=strawberry.ID(str(finding.payment_id)) if finding.payment_id else None,
            refund_id=strawberry.ID(str(finding.refund_id)) if finding.refund_id else None,
            order_id=finding.order_id,
            gateway=finding.gateway,
            gateway_order_id=finding.gateway_order_id,
            gateway_payment_id=finding.gateway_payment_id,
            gateway_refund_id=finding.gateway_refund_id,
            detail=finding.detail,
            expected=finding.expected,
            actual=finding.actual,
            action=finding.action,
        )


@strawberry.type(name="ReconciliationReport", description="One reconciliation run.")
class ReconciliationReportType:
    id: strawberry.ID | None = strawberry.field(description="Null for a dry run (never stored).")
    started_at: datetime
    finished_at: datetime | None
    trigger: ReconciliationTrigger
    dry_run: bool
    since: datetime | None
    checked_payments: int
    checked_refunds: int
    recovered: int
    expired: int
    failed_attempts: int
    refunds_settled: int
    unchanged: int
    gateway_errors: int
    fixes: list[ReconciliationFindingType]
    fixes_not_listed: int
    issues: list[ReconciliationFindingType]
    errors: list[str]

    @classmethod
    def from_document(cls, report: ReconciliationReport) -> ReconciliationReportType:
        return cls(
            id=strawberry.ID(str(report.id)) if report.id else None,
            started_at=report.started_at,
            finished_at=report.finished_at,
            trigger=report.trigger,
            dry_run=report.dry_run,
            since=report.since,
            checked_payments=report.checked_payments,
            checked_refunds=report.checked_refunds,
            recovered=report.recovered,
            expired=report.expired,
            failed_attempts=report.failed_attempts,
            refunds_settled=report.refunds_settled,
            unchanged=report.unchanged,
            gateway_errors=report.gateway_errors,
            fixes=[ReconciliationFindingType.from_model(f) for f in report.fixed],
            fixes_not_listed=report.fixed_not_listed,
            issues=[ReconciliationFindingType.from_model(f) for f in report.mismatches],
            errors=list(report.errors),
        )


@strawberry.type
class ReconciliationReportEdge:
    cursor: str
    node: ReconciliationReportType


@strawberry.type
class ReconciliationReportConnection:
    edges: list[ReconciliationReportEdge]
    page_info: PageInfo


@strawberry.type
class ReconciliationRunSuccess:
    report: ReconciliationReportType


RunReconciliationResult = Annotated[
    ReconciliationRunSuccess | ReconciliationRunningError | ValidationError | ForbiddenError,
    strawberry.union("RunReconciliationResult"),
]
