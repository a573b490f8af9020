"""Admin GraphQL over reconciliation: start a run, list past runs."""

from __future__ import annotations

from datetime import timedelta

import strawberry

from models.enums import ReconciliationTrigger
from resolvers.context import Info
from resolvers.payments_mutation import or_user_error
from schema.permissions import IsAdmin
from schema.reconciliation import (
    ReconciliationReportConnection,
    ReconciliationReportEdge,
    ReconciliationReportType,
    ReconciliationRunSuccess,
    RunReconciliationResult,
)
from schema.types import PageInfo


@strawberry.type
class ReconciliationQuery:
    @strawberry.field(
        permission_classes=[IsAdmin], description="Admin: reconciliation runs, newest first."
    )
    async def reconciliation_reports(
        self, info: Info, first: int = 20, after: str | None = None
    ) -> ReconciliationReportConnection:
        page = await info.context.services.reconciliation.reports(first=first, after=after)
        return ReconciliationReportConnection(
            edges=[
                ReconciliationReportEdge(
                    cursor=str(report.id), node=ReconciliationReportType.from_document(report)
                )
                for report in page.items
            ],
            page_info=PageInfo(has_next_page=page.has_next_page, end_cursor=page.end_cursor),
        )


@strawberry.type
class ReconciliationMutation:
    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Admin: reconcile now and answer with the run's report. A dry run changes "
        "nothing (its report is not stored). sinceSeconds limits the run to records created "
        "that recently.",
    )
    async def run_reconciliation(
        self, info: Info, dry_run: bool = False, since_seconds: int | None = None
    ) -> RunReconciliationResult:
        since = timedelta(seconds=since_seconds) if since_seconds is not None else None

        async def run() -> ReconciliationRunSuccess:
            report = await info.context.services.reconciliation.reconcile(
                ReconciliationTrigger.ADMIN, since=since, dry_run=dry_run
            )
            return ReconciliationRunSuccess(report=ReconciliationReportType.from_document(report))

        return await or_user_error(run)  # type: ignore[return-value]
