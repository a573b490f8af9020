"""Checks of payments: open ones are settled from what the gateway holds (completed, a failed
attempt recorded, or expired when nothing was paid), settled ones are checked for drift. Every
change goes through PaymentService; drift is only reported."""

from __future__ import annotations

from gateways.base import Gateway, GatewayOrderStatus, GatewayPayment, GatewayPaymentStatus
from gateways.registry import GatewayRegistry
from models.enums import LatePaymentAction, LatePaymentKind, PaymentStatus, TransitionSource
from models.errors import InvalidState
from models.payment import Payment
from models.reconciliation import FindingKind, ReconciliationFinding
from models.transitions import PaymentEvent
from services.payments import PaymentService
from services.reconciliation.findings import (
    REVIEW,
    Run,
    about,
    amount_mismatch,
    double_charge,
    money,
)
from services.reconciliation.late import LateMoneyChecks
from services.reconciliation.refunds import RefundChecks

ACTOR = "reconciliation"
# Money the gateway took. Not a VOIDED authorization (Razorpay refunded it uncaptured: nothing
# was taken, so it is neither held money nor a double charge), nor a REVERSED capture (a
# chargeback took it back; that is imported as a refund of the payment).
_PAID = (GatewayPaymentStatus.CAPTURED, GatewayPaymentStatus.REFUNDED)
_HELD = (*_PAID, GatewayPaymentStatus.AUTHORIZED)


class PaymentChecks:
    def __init__(
        self,
        payments: PaymentService,
        gateways: GatewayRegistry,
        late: LateMoneyChecks,
        refunds: RefundChecks,
    ) -> None:
        self._payments = payments
        self._gateways = gateways
        self._late = late
        self._refunds = refunds

    # -- open payments ---------------------------------------------------------------------

    async def check_open(self, run: Run, payment: Payment) -> bool:
        """True when something was changed (or, dry, would be)."""
        if self._payments.is_closed(payment) and payment.gateway_order_id is not None:
            return await self._late.check_closed(run, payment)  # failed for good
        if payment.gateway is None or payment.gateway_order_id is None:
            return await self._expire(run, payment, "no gateway order was ever created")
        adapter = self._gateways.get(payment.gateway)
        order_id = payment.gateway_order_id
        attempts = await run.fetch(lambda: adapter.list_order_payments(order_id))
        attempts.sort(key=lambda a: a.created_at or 0)
        ours = (payment.amount.amount_minor, payment.currency)
        changed = False

        if any(a.status is GatewayPaymentStatus.PENDING for a in attempts):
            return False  # a capture under review at the gateway: money may still move
        held = [a for a in attempts if a.status in _HELD]
        wrong = [a for a in held if (a.amount_minor, a.currency) != ours]
        for attempt in wrong:
            run.issue(amount_mismatch(payment, attempt))
        for attempt in attempts:
            if attempt.status is GatewayPaymentStatus.FAILED and not _failure_recorded(
                payment, attempt.id
            ):
                changed = True
                run.report.failed_attempts += 1
                run.fix(
                    ReconciliationFinding(
                        kind=FindingKind.FAILED_ATTEMPT,
                        **about(payment, gateway_payment_id=attempt.id),
                        detail=f"attempt failed at the gateway: {attempt.error_description or attempt.error_reason or attempt.error_code or 'no reason given'}",
                        expected="FAILED",
                        actual=payment.status.value,
                        action=run.act("record the failed attempt"),
                    )
                )
                if not run.dry_run:
                    payment = await self._payments.apply_gateway_payment(
                        payment, attempt, TransitionSource.RECONCILIATION, actor=ACTOR
                    )

        lapsed = next(
            (
                a
                for a in attempts
                if a.status is GatewayPaymentStatus.VOIDED
                and a.id == payment.gateway_payment_id
                and payment.status is PaymentStatus.AUTHORIZED
            ),
            None,
        )
        if lapsed is not None and not held:
            # The authorization we held was released uncaptured (Razorpay refunds it after its
            # window): nothing was taken, the attempt failed.
            run.report.failed_attempts += 1
            run.fix(
                ReconciliationFinding(
                    kind=FindingKind.FAILED_ATTEMPT,
                    **about(payment, gateway_payment_id=lapsed.id),
                    detail="the authorization lapsed: the gateway released it uncaptured",
                    expected="FAILED",
                    actual=payment.status.value,
                    action=run.act("record the lapsed authorization"),
                )
            )
            if run.dry_run:
                return True
            payment = await self._payments.apply_gateway_payment(
                payment, lapsed, TransitionSource.RECONCILIATION, actor=ACTOR
            )
            changed = True

        good = [a for a in held if a not in wrong]
        if good:
            return await self._recover(run, payment, good) or changed
        if wrong:
            return changed  # money moved at a different amount: a person decides
        if payment.gateway is Gateway.PAYPAL:
            order = await run.fetch(lambda: adapter.fetch_order(order_id))
            if order.status is GatewayOrderStatus.APPROVED:
                return (
                    await self._capture_approved(run, payment, order.amount_minor, order.currency)
                    or changed
                )
        if payment.status is PaymentStatus.AUTHORIZED:
            run.issue(
                ReconciliationFinding(
                    kind=FindingKind.STATUS_MISMATCH,
                    **about(payment, gateway_payment_id=payment.gateway_payment_id),
                    detail="authorized here, but the gateway holds no authorized or captured payment on the order",
                    expected="nothing held",
                    actual="AUTHORIZED",
                    action=REVIEW,
                )
            )
            return changed
        return await self._expire(run, payment, "nothing was paid at the gateway") or changed

    async def _recover(self, run: Run, payment: Payment, held: list[GatewayPayment]) -> bool:
        """Complete the payment from the gateway payment that holds the money; any other
        captured payment on the same order is a double charge to report."""
        chosen = next((a for a in held if a.id == payment.gateway_payment_id), None)
        chosen = chosen or next((a for a in held if a.status in _PAID), held[0])
        for extra in held:
            if extra is not chosen and extra.status in _PAID:
                run.issue(double_charge(payment, chosen.id, extra))
        action = (
            "capture and complete"
            if chosen.status is GatewayPaymentStatus.AUTHORIZED
            else "complete"
        )
        finding = ReconciliationFinding(
            kind=FindingKind.RECOVERED,
            **about(payment, gateway_payment_id=chosen.id),
            detail=f"{chosen.status.value.lower()} at the gateway while {payment.status.value} here",
            expected=chosen.status.value,
            actual=payment.status.value,
            action=run.act(action),
        )
        if run.dry_run:
            run.report.recovered += 1
            run.fix(finding)
            return True
        updated = await self._payments.apply_gateway_payment(
            payment, chosen, TransitionSource.RECONCILIATION, actor=ACTOR, capture=True
        )
        if updated.status is PaymentStatus.COMPLETED:
            run.report.recovered += 1
            run.fix(finding)
            return True
        # Authorized, and our capture did not go through: the next run tries again.
        return updated.version != payment.version

    async def _capture_approved(
        self, run: Run, payment: Payment, amount_minor: int, currency: str
    ) -> bool:
        if (amount_minor, currency) != (payment.amount.amount_minor, payment.currency):
            run.issue(
                ReconciliationFinding(
                    kind=FindingKind.AMOUNT_MISMATCH,
                    **about(payment),
                    detail="the approved PayPal order is for another amount; not captured",
                    expected=money(amount_minor, currency),
                    actual=money(payment.amount.amount_minor, payment.currency),
                    action=REVIEW,
                )
            )
            return False
        finding = ReconciliationFinding(
            kind=FindingKind.RECOVERED,
            **about(payment),
            detail=f"the buyer approved the PayPal order while {payment.status.value} here",
            expected="APPROVED",
            actual=payment.status.value,
            action=run.act("capture and complete"),
        )
        if not run.dry_run:
            updated = await self._payments.capture_approved(
                payment, TransitionSource.RECONCILIATION, actor=ACTOR
            )
            if updated.status is not PaymentStatus.COMPLETED:
                return updated.version != payment.version
            finding.gateway_payment_id = updated.gateway_payment_id
        run.report.recovered += 1
        run.fix(finding)
        return True

    async def _expire(self, run: Run, payment: Payment, why: str) -> bool:
        if payment.expires_at > run.now:
            return False  # still inside PAYMENT_TIMEOUT_MINUTES: the customer may yet pay
        finding = ReconciliationFinding(
            kind=FindingKind.EXPIRED,
            **about(payment),
            detail=f"{why}; unpaid past its expiry",
            expected="nothing paid",
            actual=payment.status.value,
            action=run.act("expire"),
        )
        if not run.dry_run:
            try:
                updated = await self._payments.expire(
                    payment,
                    TransitionSource.RECONCILIATION,
                    actor=ACTOR,
                    note=f"reconciliation: {why}",
                )
            except InvalidState:
                return False  # it moved on (paid) meanwhile
            if updated.status is not PaymentStatus.EXPIRED:
                return False
        run.report.expired += 1
        run.fix(finding)
        return True

    # -- settled payments (drift) ----------------------------------------------------------

    async def check_settled(self, run: Run, payment: Payment) -> bool:
        """Report drift on a completed payment; never changes it."""
        assert payment.gateway is not None
        if payment.gateway_order_id is None:
            return False
        adapter = self._gateways.get(payment.gateway)
        order_id = payment.gateway_order_id
        attempts = await run.fetch(lambda: adapter.list_order_payments(order_id))
        late = {entry.gateway_payment_id for entry in payment.late_payments}
        own = payment.own_capture_id
        ours = next((a for a in attempts if own is not None and a.id == own), None)
        recorded = False
        closed = self._payments.is_closed(payment)
        for extra in attempts:
            # Late money is recorded and acted on (refunded or accepted): not a double charge.
            if extra is ours or extra.id in late or extra.status not in _PAID:
                continue
            # A payment closed before any money of its own reads as captured only because of
            # its late money: another capture on its order is late money too.
            if closed and await self._late.record(run, payment, extra):
                recorded = True
                continue
            run.issue(double_charge(payment, payment.gateway_payment_id, extra))
        if recorded:
            return True  # its refund is on its way: the next run compares the money
        late_captured = sum(
            entry.amount.amount_minor
            for entry in payment.late_payments
            if entry.kind is LatePaymentKind.CAPTURE
            and entry.action is not LatePaymentAction.ACCEPTED
        )
        if payment.captured_minor <= late_captured:
            # Only late money was ever captured for it (a closed payment whose late capture was
            # refunded): what the gateway refunded must match what we refunded.
            return await self._refunds_agree(run, payment, [a for a in attempts if a.id in late])
        if ours is None:
            run.issue(
                ReconciliationFinding(
                    kind=FindingKind.STATUS_MISMATCH,
                    **about(payment, gateway_payment_id=payment.gateway_payment_id),
                    detail="completed here, but the gateway does not list this payment on the order",
                    expected="not found",
                    actual=payment.status.value,
                    action=REVIEW,
                )
            )
            return False
        if ours.status not in (*_PAID, GatewayPaymentStatus.REVERSED):
            run.issue(
                ReconciliationFinding(
                    kind=FindingKind.STATUS_MISMATCH,
                    **about(payment, gateway_payment_id=ours.id),
                    detail=f"{payment.status.value} here, {ours.status.value} at the gateway",
                    expected=ours.status.value,
                    actual=payment.status.value,
                    action=REVIEW,
                )
            )
            return False
        if (ours.amount_minor, ours.currency) != (payment.amount.amount_minor, payment.currency):
            run.issue(amount_mismatch(payment, ours))
        return await self._refunds_agree(
            run, payment, [a for a in attempts if a is ours or a.id in late]
        )

    async def _refunds_agree(
        self, run: Run, payment: Payment, captures: list[GatewayPayment]
    ) -> bool:
        """What the gateway refunded of these captures must be what we know of: refunds it made
        without us (its dashboard, a chargeback) are imported; what still differs is reported.
        True when something was imported (or, dry, would be)."""
        refunded = sum(a.amount_refunded_minor for a in captures)
        known = payment.refund_committed_minor  # refunded and in flight
        if refunded <= known or not captures:
            return False
        imported = await self._refunds.import_unknown(run, payment, captures)
        if imported and not run.dry_run:
            fresh = await Payment.get(payment.id)
            known = fresh.refund_committed_minor if fresh is not None else known
        if refunded > known:
            ours = captures[0]
            run.issue(
                ReconciliationFinding(
                    kind=FindingKind.UNKNOWN_REFUND,
                    **about(payment, gateway_payment_id=ours.id),
                    detail="the gateway refunded more than the refunds we know of"
                    + (
                        " (fully refunded there)"
                        if all(a.status is GatewayPaymentStatus.REFUNDED for a in captures)
                        else ""
                    ),
                    expected=f"{money(refunded, ours.currency)} refunded",
                    actual=f"{money(known, payment.currency)} refunded or in flight",
                    action=REVIEW,
                )
            )
        return imported


def _failure_recorded(payment: Payment, gateway_payment_id: str) -> bool:
    return any(
        entry.event is PaymentEvent.FAILED and entry.gateway_payment_id == gateway_payment_id
        for entry in payment.timeline
    )
