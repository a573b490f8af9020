"""Closed payments (cancelled or expired within RECONCILE_CLOSED_LOOKBACK_HOURS) checked with
their gateway (and, from the settled check, those that read as captured only because of late
money): money that arrived after the close - a UPI collect approved on the phone after
our expiry, a bank's late authorization - is recorded as late money through PaymentService
(never captured by us; captured money refunded or accepted by LATE_PAYMENT_POLICY), and every
late payment, however it was found (webhook, verify, this run), gets one report line and its
alert. Failed payments are checked with the open ones (the same path records late money for
those failed for good)."""

from __future__ import annotations

from gateways.base import GatewayPayment, GatewayPaymentStatus
from gateways.registry import GatewayRegistry
from models.enums import LatePaymentKind, TransitionSource
from models.payment import LatePayment, Payment
from models.reconciliation import FindingKind, ReconciliationFinding
from services.payments import PaymentService
from services.reconciliation.findings import Run, about

ACTOR = "reconciliation"


class LateMoneyChecks:
    def __init__(self, payments: PaymentService, gateways: GatewayRegistry) -> None:
        self._payments = payments
        self._gateways = gateways

    async def check_closed(self, run: Run, payment: Payment) -> bool:
        """True when something was changed (or, dry, would be)."""
        assert payment.gateway is not None and payment.gateway_order_id is not None
        adapter = self._gateways.get(payment.gateway)
        order_id = payment.gateway_order_id
        attempts = await run.fetch(lambda: adapter.list_order_payments(order_id))
        # Captures recorded already are settled; an authorization recorded earlier that the
        # gateway has captured since (auto-capture) is looked at again.
        settled = {
            late.gateway_payment_id
            for late in payment.late_payments
            if late.kind is LatePaymentKind.CAPTURE
            or not _captured(late.gateway_payment_id, attempts)
        }
        new = [
            a for a in attempts if a.id not in settled and self._payments.is_late_money(payment, a)
        ]
        if run.dry_run:
            for attempt in new:
                run.issue(_found_late(run, payment, attempt))
            return bool(new) or any(not late.reported for late in payment.late_payments)
        for attempt in new:
            payment = await self._payments.apply_gateway_payment(
                payment, attempt, TransitionSource.RECONCILIATION, actor=ACTOR
            )
        return await self.report_late(run, payment) or bool(new)

    async def record(self, run: Run, payment: Payment, attempt: GatewayPayment) -> bool:
        """Record `attempt`, money the gateway holds for the closed `payment`, as late money
        (a dry run reports what it would do); False when the payment does not take it as late
        money (then it is the caller's to report)."""
        if not self._payments.is_late_money(payment, attempt):
            return False
        if run.dry_run:
            run.issue(_found_late(run, payment, attempt))
            return True
        updated = await self._payments.apply_gateway_payment(
            payment, attempt, TransitionSource.RECONCILIATION, actor=ACTOR
        )
        if not any(late.gateway_payment_id == attempt.id for late in updated.late_payments):
            return False
        await self.report_late(run, updated)
        return True

    async def report_late(self, run: Run, payment: Payment) -> bool:
        """One report line (an issue: it raises the reconciliation alert) per late payment
        not reported yet, however it was found; late refunds never made are made now. A late
        payment is listed by the one run that marks it reported."""
        if all(late.reported for late in payment.late_payments):
            return False
        if run.dry_run:
            for late in payment.late_payments:
                if not late.reported:
                    run.issue(_finding(payment, late))
            return True
        await self._payments.return_late_money(payment)
        for late in await self._payments.late_reported(payment):
            run.issue(_finding(payment, late))
        return True


def _found_late(run: Run, payment: Payment, attempt: GatewayPayment) -> ReconciliationFinding:
    """What a dry run reports of late money it would record."""
    return ReconciliationFinding(
        kind=FindingKind.LATE_AUTHORIZATION
        if attempt.status is GatewayPaymentStatus.AUTHORIZED
        else FindingKind.LATE_PAYMENT,
        **about(payment, gateway_payment_id=attempt.id),
        detail=f"{attempt.status.value} at the gateway after it was "
        f"{payment.status.value.lower()} here",
        expected=f"{attempt.amount_minor} {attempt.currency} {attempt.status.value}",
        actual=payment.status.value,
        action=run.act("record it as late money and act on it"),
    )


def _captured(gateway_payment_id: str, attempts: list[GatewayPayment]) -> bool:
    return any(
        a.id == gateway_payment_id and a.status is not GatewayPaymentStatus.AUTHORIZED
        for a in attempts
    )


def _finding(payment: Payment, late: LatePayment) -> ReconciliationFinding:
    authorization = late.kind is LatePaymentKind.AUTHORIZATION
    return ReconciliationFinding(
        kind=FindingKind.LATE_AUTHORIZATION if authorization else FindingKind.LATE_PAYMENT,
        **about(payment, gateway_payment_id=late.gateway_payment_id),
        refund_id=late.refund_id,
        detail=(
            f"{late.amount.to_decimal_string()} {late.amount.currency} "
            f"{'authorized' if authorization else 'captured'} at the gateway after the payment "
            f"was closed (found by {late.source.value.lower()})"
        ),
        expected="no money for a closed payment",
        actual=f"{late.amount.to_decimal_string()} {late.amount.currency} {late.kind.value.lower()}",
        action=late.action.value.lower().replace("_", " "),
    )
