"""Checks of refunds still PENDING or PROCESSING: one whose call never answered is sent again
(its idempotency key makes the gateway replay it), one settled at the gateway is settled here
through RefundService; a differing amount, or one pending past REFUND_TIMEOUT_HOURS, is
reported."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from gateways.base import GatewayRefundStatus
from gateways.registry import GatewayRegistry
from models.enums import RefundStatus, TransitionSource
from models.errors import InvalidState
from models.payment import Payment
from models.reconciliation import FindingKind, ReconciliationFinding
from models.refund import Refund
from services.reconciliation.findings import REVIEW, Run, about, money
from services.refunds import RefundService


class RefundChecks:
    def __init__(
        self, refunds: RefundService, gateways: GatewayRegistry, refund_timeout: timedelta
    ) -> None:
        self._refunds = refunds
        self._gateways = gateways
        self._refund_timeout = refund_timeout  # REFUND_TIMEOUT_HOURS

    async def check(self, run: Run, refund: Refund) -> bool:
        """True when something was changed (or, dry, would be)."""
        payment = await Payment.get(refund.payment_id)
        if payment is None or payment.gateway_payment_id is None:
            raise InvalidState("the refund's payment has no gateway payment")
        ids = {
            **about(payment, gateway_payment_id=payment.gateway_payment_id),
            "refund_id": refund.id,
        }
        if refund.gateway_refund_id is None:
            return await self._send_again(run, refund, ids)

        gateway_payment_id, gateway_refund_id = payment.gateway_payment_id, refund.gateway_refund_id
        adapter = self._gateways.get(refund.gateway)
        answer = await run.fetch(
            lambda: adapter.fetch_refund(gateway_payment_id, gateway_refund_id)
        )
        ids["gateway_refund_id"] = answer.id
        if (answer.amount_minor, answer.currency) != (
            refund.amount.amount_minor,
            refund.amount.currency,
        ):
            run.issue(
                ReconciliationFinding(
                    kind=FindingKind.REFUND_MISMATCH,
                    **ids,
                    detail="the gateway's refund is for another amount; not applied",
                    expected=money(answer.amount_minor, answer.currency),
                    actual=money(refund.amount.amount_minor, refund.amount.currency),
                    action=REVIEW,
                )
            )
            return False
        if answer.status is GatewayRefundStatus.PENDING:
            if refund.created_at <= run.now - self._refund_timeout:
                run.issue(
                    ReconciliationFinding(
                        kind=FindingKind.REFUND_OVERDUE,
                        **ids,
                        detail=f"still pending at the gateway {self._refund_timeout} after it was requested",
                        expected="pending",
                        actual=refund.status.value,
                        action="none: ask the gateway",
                    )
                )
            return False
        finding = ReconciliationFinding(
            kind=FindingKind.REFUND_SETTLED,
            **ids,
            detail=f"{answer.status.value.lower()} at the gateway while {refund.status.value} here",
            expected=answer.status.value,
            actual=refund.status.value,
            action=run.act(
                "complete the refund"
                if answer.status is GatewayRefundStatus.PROCESSED
                else "fail the refund"
            ),
        )
        if run.dry_run:
            run.report.refunds_settled += 1
            run.fix(finding)
            return True
        updated = await self._refunds.apply_gateway_refund(
            refund, answer, TransitionSource.RECONCILIATION
        )
        return _moved(run, refund, updated, finding)

    async def _send_again(self, run: Run, refund: Refund, ids: dict[str, Any]) -> bool:
        """The refund call never answered: send it again; its idempotency key makes the
        gateway replay the first refund (or make it, if the first never arrived)."""
        finding = ReconciliationFinding(
            kind=FindingKind.REFUND_SUBMITTED,
            **ids,
            detail="the refund call never answered; sent again with the same idempotency key",
            actual=refund.status.value,
            action=run.act("re-send the refund"),
        )
        if run.dry_run:
            run.fix(finding)
            return True
        async with run.slots:
            updated = await self._refunds.submit(refund, source=TransitionSource.RECONCILIATION)
        if updated.gateway_refund_id is None and updated.status is refund.status:
            run.error(refund, "still no answer from the gateway")
            return True
        return _moved(run, refund, updated, finding)


def _moved(run: Run, before: Refund, after: Refund, finding: ReconciliationFinding) -> bool:
    if after.status in (RefundStatus.COMPLETED, RefundStatus.FAILED):
        run.report.refunds_settled += 1
        finding.kind = FindingKind.REFUND_SETTLED
        finding.expected = after.status.value
    finding.gateway_refund_id = after.gateway_refund_id
    if after.version == before.version:
        return False
    run.fix(finding)
    return True
