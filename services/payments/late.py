"""Late money: what the gateway takes or holds for a payment we had already closed (cancelled by
its customer, expired, failed for good). The gateway's truth wins, but money that arrives for a
closed payment is never captured by us:

- an authorization is recorded (LATE_AUTHORIZATION) and left to lapse: Razorpay refunds an
  uncaptured authorization on its own; PayPal orders here are capture-intent, so an approval
  holds no money until we capture, which we do not;
- a capture the gateway made on its own (Razorpay auto-capture, a PayPal capture) is recorded
  with its amount (LATE_PAYMENT) and, under LATE_PAYMENT_POLICY=refund (the default), refunded
  in full through the refund path (idempotent per gateway payment; the refund's source is
  LATE_PAYMENT), so the status follows the money to REFUNDED; under `accept` the payment
  becomes COMPLETED (LATE_PAYMENT_ACCEPTED).

Each case is a timeline entry with the amount, a `late_payments` entry on the payment (what
was found and what was done), a metric, an alert (kind LATE_PAYMENT) and, at the next
reconciliation run, a report line.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Protocol

from beanie import PydanticObjectId

from gateways.base import GatewayPayment, GatewayPaymentStatus
from models.common import TimelineEntry
from models.enums import LatePaymentAction, LatePaymentKind, LatePaymentPolicy, TransitionSource
from models.money import Money
from models.payment import LatePayment, Payment
from models.transitions import Apply, PaymentEvent, decide
from services.observers import ChangeObserver
from services.payments.store import CAS_ATTEMPTS, Change, PaymentStore

log = logging.getLogger("paygraph.payments.late")

LATE_PAYMENT_ALERT = "LATE_PAYMENT"
# What a gateway payment must say for its money to be late money of a closed payment.
LATE_MONEY = frozenset(
    {
        GatewayPaymentStatus.AUTHORIZED,
        GatewayPaymentStatus.CAPTURED,
        GatewayPaymentStatus.REFUNDED,
        GatewayPaymentStatus.REVERSED,
    }
)


class LateRefunds(Protocol):
    """Returns late captured money through the refund path (services/refunds implements it)."""

    async def refund_late_payment(self, payment: Payment, late: LatePayment) -> Any: ...


class AlertSink(Protocol):
    async def raise_alert(self, kind: str, key: str, details: Mapping[str, Any]) -> bool: ...


class LateMoney:
    def __init__(
        self,
        store: PaymentStore,
        observer: ChangeObserver,
        policy: LatePaymentPolicy,
        *,
        refunds: LateRefunds | None = None,
        alerts: AlertSink | None = None,
    ) -> None:
        self._store = store
        self._observer = observer
        self._policy = policy
        self._refunds = refunds
        self._alerts = alerts

    async def record(
        self,
        payment: Payment,
        found: GatewayPayment,
        source: TransitionSource,
        *,
        actor: str | None = None,
        gateway_event_id: str | None = None,
    ) -> Payment:
        """Record `found` (money for the closed `payment`) once, and act on it by policy."""
        if found.status not in LATE_MONEY:
            return payment
        captured = found.status is not GatewayPaymentStatus.AUTHORIZED
        kind = LatePaymentKind.CAPTURE if captured else LatePaymentKind.AUTHORIZATION
        accept = captured and self._policy is LatePaymentPolicy.ACCEPT
        amount = Money(amount_minor=found.amount_minor, currency=found.currency)

        def decide_change(current: Payment) -> Change | None:
            earlier = next(
                (x for x in current.late_payments if x.gateway_payment_id == found.id), None
            )
            if earlier is not None and (earlier.kind is LatePaymentKind.CAPTURE or not captured):
                return None  # already recorded (a repeated webhook, another run)
            # An authorization recorded earlier that the gateway has since captured on its own
            # becomes a capture: the entry is replaced, and acted on as one.
            others = [x for x in current.late_payments if x is not earlier]
            if current.own_capture_id == found.id:
                return None  # this is the payment's own capture, not late money
            late = LatePayment(
                gateway_payment_id=found.id,
                amount=amount,
                kind=kind,
                action=_action(kind, accept),
                refund_id=PydanticObjectId() if captured and not accept else None,
                source=source,
            )
            event = _event(kind, accept)
            decision = decide(current.status, event)
            if not isinstance(decision, Apply):
                log.warning(
                    "late money %s on payment %s not recorded: %s",
                    found.id,
                    current.id,
                    getattr(decision, "reason", decision),
                )
                return None
            fields: dict[str, Any] = {"late_payments": [*others, late]}
            if captured:
                fields["captured_minor"] = current.captured_minor + amount.amount_minor
            if accept:
                fields.update(gateway_payment_id=found.id, error_code=None, error_message=None)
            entry = TimelineEntry(
                from_status=current.status,
                to_status=decision.to,
                event=event,
                source=source,
                gateway_event_id=gateway_event_id,
                gateway_payment_id=found.id,
                actor=actor,
                note=_note(current, late),
            )
            return Change(entry, fields)

        written = await self._store.write(payment, decide_change)
        late = next((x for x in written.late_payments if x.gateway_payment_id == found.id), None)
        if late is None or written is payment:
            return written
        self._observer.late_payment(written, late)
        await self._announce(written, late)
        await self.return_money(written)
        return written

    async def return_money(self, payment: Payment) -> None:
        """Make sure every late capture to be refunded has its refund (idempotent: the refund's
        key is derived from the gateway payment; reconciliation calls this again)."""
        if self._refunds is None:
            return
        for late in payment.late_payments:
            if late.action is LatePaymentAction.REFUNDED:
                await self._refunds.refund_late_payment(payment, late)

    async def mark_reported(self, payment: Payment) -> list[LatePayment]:
        """Flag every unreported late payment as reported (compare-and-set: of two callers,
        one marks each); returns the ones this call marked."""
        for _ in range(CAS_ATTEMPTS):
            marking = [late for late in payment.late_payments if not late.reported]
            if not marking:
                return []
            updated = [late.model_copy(update={"reported": True}) for late in payment.late_payments]
            if await self._store.cas(payment, {"late_payments": updated}) is not None:
                return marking
            payment = await self._store.reload(payment)
        return []

    async def _announce(self, payment: Payment, late: LatePayment) -> None:
        log.warning("late %s on payment %s: %s", late.kind.value.lower(), payment.id, late.action)
        if self._alerts is None:
            return
        await self._alerts.raise_alert(
            LATE_PAYMENT_ALERT,
            f"{payment.id}:{late.gateway_payment_id}",
            {
                "payment_id": str(payment.id),
                "order_id": payment.order_id,
                "status": payment.status.value,
                "gateway": payment.gateway.value if payment.gateway else None,
                "gateway_payment_id": late.gateway_payment_id,
                "amount": late.amount.to_decimal_string(),
                "currency": late.amount.currency,
                "kind": late.kind.value,
                "action": late.action.value,
            },
        )


def _event(kind: LatePaymentKind, accept: bool) -> PaymentEvent:
    if kind is LatePaymentKind.AUTHORIZATION:
        return PaymentEvent.LATE_AUTHORIZATION
    return PaymentEvent.LATE_PAYMENT_ACCEPTED if accept else PaymentEvent.LATE_PAYMENT


def _action(kind: LatePaymentKind, accept: bool) -> LatePaymentAction:
    if kind is LatePaymentKind.AUTHORIZATION:
        return LatePaymentAction.LEFT_TO_LAPSE
    return LatePaymentAction.ACCEPTED if accept else LatePaymentAction.REFUNDED


def _note(payment: Payment, late: LatePayment) -> str:
    money = f"{late.amount.to_decimal_string()} {late.amount.currency}"
    was = payment.status.value.lower()
    match late.action:
        case LatePaymentAction.LEFT_TO_LAPSE:
            return f"{money} authorized late ({late.gateway_payment_id}) on a {was} payment: never captured, left to lapse"
        case LatePaymentAction.ACCEPTED:
            return f"{money} captured late ({late.gateway_payment_id}) on a {was} payment: accepted (LATE_PAYMENT_POLICY=accept)"
        case _:
            return f"{money} captured late ({late.gateway_payment_id}) on a {was} payment: refunded in full"
