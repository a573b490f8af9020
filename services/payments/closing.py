"""Closing an unpaid payment: cancelled by its customer, expired by the expiry job or by
reconciliation. Closing asks the gateway first: a payment whose gateway order holds money is
not closed, what the gateway holds is applied instead (completed, or authorized and captured).
Money that reaches the gateway after the close is late money (see late.py), never captured."""

from __future__ import annotations

import logging
from datetime import datetime

from gateways.base import (
    GatewayError,
    GatewayOrderStatus,
    GatewayPayment,
    GatewayPaymentStatus,
)
from models.clock import utcnow
from models.enums import Gateway, PaymentStatus, TransitionSource
from models.errors import GatewayUnavailableError, InvalidState
from models.payment import Payment
from models.transitions import PaymentEvent, Reject, decide
from services.auth import Principal
from services.payments import queries
from services.payments.store import PaymentStore
from services.payments.sync import PaymentSync

log = logging.getLogger("paygraph.payments")

_CANCELLABLE = (PaymentStatus.PENDING, PaymentStatus.INITIATED, PaymentStatus.CANCELLED)
# Unpaid: the expiry job closes these once past `expires_at`.
_EXPIRABLE = (PaymentStatus.PENDING, PaymentStatus.INITIATED, PaymentStatus.FAILED)
# What a gateway order may hold that makes a payment not ours to close.
_HOLDS_MONEY = (
    GatewayPaymentStatus.AUTHORIZED,
    GatewayPaymentStatus.PENDING,
    GatewayPaymentStatus.CAPTURED,
    GatewayPaymentStatus.REFUNDED,
    GatewayPaymentStatus.REVERSED,
)


class Closing:
    def __init__(self, store: PaymentStore, sync: PaymentSync, timeout_minutes: int) -> None:
        self._store = store
        self._sync = sync
        self._timeout_minutes = timeout_minutes

    async def cancel(self, principal: Principal, payment_id: str) -> Payment:
        payment = await queries.get(principal, payment_id)
        if payment.status not in _CANCELLABLE:
            raise InvalidState(
                "only a pending or initiated payment can be cancelled; "
                f"this one is {payment.status.value}"
            )
        if payment.status is not PaymentStatus.CANCELLED:
            try:
                paid = await self._apply_held(payment, TransitionSource.API, principal.customer_id)
            except GatewayError:
                raise GatewayUnavailableError(
                    "could not ask the gateway whether this payment was paid; try again"
                ) from None
            if paid is not None:
                raise InvalidState(
                    f"the payment was paid at the gateway meanwhile; it is {paid.status.value}"
                )
        return await self._store.transition(
            payment,
            PaymentEvent.CANCELLED,
            TransitionSource.API,
            actor=principal.customer_id,
            note="cancelled by the customer",
        )

    async def expire(
        self,
        payment: Payment,
        source: TransitionSource,
        *,
        actor: str | None = None,
        note: str,
    ) -> Payment:
        """Close `payment` as EXPIRED unless its gateway order holds money (then that is applied
        and the payment is returned as it now is). Raises GatewayError when the gateway cannot
        be asked: nothing is closed blind."""
        refusal = decide(payment.status, PaymentEvent.EXPIRED)
        if isinstance(refusal, Reject):
            raise InvalidState(refusal.reason)
        paid = await self._apply_held(payment, source, actor)
        if paid is not None:
            return paid
        return await self._store.transition(
            payment, PaymentEvent.EXPIRED, source, actor=actor, note=note
        )

    async def expire_stale(self, *, now: datetime | None = None, limit: int = 500) -> int:
        now = now or utcnow()
        stale = (
            await Payment.find(
                {
                    "status": {"$in": [status.value for status in _EXPIRABLE]},
                    "expires_at": {"$lte": now},
                }
            )
            .limit(limit)
            .to_list()
        )
        expired = 0
        for payment in stale:
            try:
                result = await self.expire(
                    payment,
                    TransitionSource.EXPIRY,
                    actor="expiry",
                    note=f"unpaid after {self._timeout_minutes} minutes",
                )
            except InvalidState:
                continue  # it moved on (paid) meanwhile
            except GatewayError as exc:
                log.warning(
                    "payment %s not expired: the gateway did not answer (%s)", payment.id, exc
                )
                continue  # asked again on the next run
            expired += result.status is PaymentStatus.EXPIRED
        return expired

    async def _apply_held(
        self, payment: Payment, source: TransitionSource, actor: str | None
    ) -> Payment | None:
        """What the payment's gateway order holds, applied; None when it holds nothing."""
        if payment.gateway is None or payment.gateway_order_id is None:
            return None
        adapter = self._sync.adapter(payment.gateway)
        attempts = await adapter.list_order_payments(payment.gateway_order_id)
        held = [a for a in attempts if a.status in _HOLDS_MONEY]
        if not held and payment.gateway is Gateway.PAYPAL:
            order = await adapter.fetch_order(payment.gateway_order_id)
            if order.status is GatewayOrderStatus.APPROVED:
                # The buyer approved before the close: capturing completes the payment.
                return await self._sync.capture_approved(payment, source, actor=actor)
        if not held:
            return None
        return await self._apply(payment, held, source, actor)

    async def _apply(
        self,
        payment: Payment,
        held: list[GatewayPayment],
        source: TransitionSource,
        actor: str | None,
    ) -> Payment:
        held.sort(key=lambda a: a.created_at or 0)
        for attempt in held:
            payment = await self._sync.apply_gateway_payment(
                payment, attempt, source, actor=actor, capture=True
            )
        return payment
