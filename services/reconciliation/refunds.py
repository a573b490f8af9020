"""Checks of refunds still PENDING or PROCESSING: one whose call never answered is sent again
(its idempotency key makes the gateway replay it), one settled at the gateway is settled here
through RefundService; a differing amount, or one pending past REFUND_TIMEOUT_HOURS, is
reported. And the refunds the gateway made of a settled payment that we do not know (its
dashboard's, a chargeback) are imported through RefundService (source GATEWAY)."""

from __future__ import annotations

import functools
from datetime import timedelta
from typing import Any

from gateways.base import GatewayError, GatewayPayment, GatewayRefundStatus
from gateways.registry import GatewayRegistry
from models.enums import RefundStatus, TransitionSource
from models.errors import InvalidState, TargetNotFound
from models.payment import Payment
from models.reconciliation import FindingKind, ReconciliationFinding
from models.refund import Refund
from services.reconciliation.findings import REVIEW, Run, about, money
from services.refunds import RefundService
from services.refunds.imports import known_refund, unanswered_refund


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
        if payment is None:
            raise InvalidState("the refund's payment is gone")
        # The capture the refund returns: the payment's own, or late money on a payment closed
        # before it (which has no capture of its own, or a failed attempt's id).
        gateway_payment_id = refund.gateway_payment_id
        ids = {**about(payment, gateway_payment_id=gateway_payment_id), "refund_id": refund.id}
        if refund.gateway_refund_id is None:
            return await self._send_again(run, refund, ids)

        gateway_refund_id = refund.gateway_refund_id
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

    async def import_unknown(
        self, run: Run, payment: Payment, captures: list[GatewayPayment]
    ) -> bool:
        """List the refunds the gateway made of these captures and import each we do not know
        (a REFUND_IMPORTED fix). One that may be ours, its answer lost, is matched instead;
        one that could be any of several of ours, or returns a capture not recorded yet, waits
        for a later run. True when something was imported (or, dry, would be)."""
        adapter = self._gateways.get(captures[0].gateway)
        imported = False
        for capture in captures:
            capture_id = capture.id
            try:
                listed = await run.fetch(functools.partial(adapter.list_refunds, capture_id))
            except GatewayError as exc:
                run.error(payment, f"its refunds could not be listed: {exc.message}")
                continue
            for answer in listed:
                if await known_refund(answer.gateway, answer.id) is not None:
                    continue
                try:
                    if run.dry_run and await unanswered_refund(payment, answer):
                        continue
                    if run.dry_run:
                        refund_id = None
                    else:
                        refund, new = await self._refunds.settle_gateway_refund(
                            payment, answer, TransitionSource.RECONCILIATION
                        )
                        if not new:
                            continue  # ours after all, its gateway id learned now
                        refund_id = refund.id
                except TargetNotFound:
                    continue
                imported = True
                run.report.refunds_imported += 1
                what = "a chargeback" if answer.reversal else "a refund made at the gateway"
                run.fix(
                    ReconciliationFinding(
                        kind=FindingKind.REFUND_IMPORTED,
                        **about(payment, gateway_payment_id=capture_id),
                        refund_id=refund_id,
                        gateway_refund_id=answer.id,
                        detail=f"{what}, not through paygraph: "
                        f"{money(answer.amount_minor, answer.currency)} "
                        f"{answer.status.value.lower()}",
                        expected=f"{money(answer.amount_minor, answer.currency)} refunded",
                        action=run.act("record it as a refund (source GATEWAY)"),
                    )
                )
        return imported


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
