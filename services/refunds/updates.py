"""What the gateway says about a refund - its answer to our call, its refund webhooks, what
reconciliation fetched - fed through the refund state machine."""

from __future__ import annotations

from beanie import PydanticObjectId

from gateways.base import GatewayEvent, GatewayEventKind, GatewayRefund, GatewayRefundStatus
from models.enums import TransitionSource
from models.errors import InvalidState, TargetNotFound
from models.payment import Payment
from models.refund import Refund
from models.transitions import OPEN_REFUND_STATUSES, RefundEvent
from services.refunds.store import RefundStore

_WEBHOOK_STATUS = {
    GatewayEventKind.REFUND_CREATED: GatewayRefundStatus.PENDING,
    GatewayEventKind.REFUND_PROCESSED: GatewayRefundStatus.PROCESSED,
    GatewayEventKind.REFUND_FAILED: GatewayRefundStatus.FAILED,
}


async def apply_answer(
    store: RefundStore,
    refund: Refund,
    answer: GatewayRefund,
    source: TransitionSource,
    gateway_event_id: str | None = None,
) -> Refund:
    event, error = RefundEvent.SUBMITTED, None
    if answer.status is GatewayRefundStatus.PROCESSED:
        event = RefundEvent.PROCESSED
    elif answer.status is GatewayRefundStatus.FAILED:
        event = RefundEvent.FAILED
        error = ("GATEWAY_FAILED", answer.error_reason or "the gateway failed the refund")
    return await store.settle(
        refund,
        event,
        source,
        gateway_event_id=gateway_event_id,
        gateway_refund_id=answer.id or None,
        error=error,
    )


async def apply_webhook(
    store: RefundStore, event: GatewayEvent
) -> tuple[PydanticObjectId, PydanticObjectId | None]:
    refund = None
    if event.refund_id:
        refund = await Refund.find_one(
            {"gateway": event.gateway.value, "gateway_refund_id": event.refund_id}
        )
    if refund is None:
        refund = await _unmatched_refund_for(event)
    if refund is None:
        raise TargetNotFound(f"no refund for {event.raw_type} {event.refund_id}")
    assert refund.id is not None
    status = _WEBHOOK_STATUS.get(event.kind)
    if status is None:
        raise InvalidState(f"{event.raw_type} needs an operator (reversal or chargeback)")
    answer = GatewayRefund(
        gateway=event.gateway,
        id=event.refund_id or "",
        payment_id=event.payment_id or "",
        amount_minor=event.amount_minor or refund.amount.amount_minor,
        currency=event.currency or refund.amount.currency,
        status=status,
        error_reason=event.error_reason,
    )
    await apply_answer(store, refund, answer, TransitionSource.WEBHOOK, event.event_id)
    return refund.payment_id, refund.id


async def _unmatched_refund_for(event: GatewayEvent) -> Refund | None:
    """A refund whose gateway call never answered (a timeout) learns its gateway id from the
    webhook: the one refund of that payment, of that amount, still without a gateway id."""
    if not event.payment_id or event.amount_minor is None:
        return None
    payment = await Payment.find_one(
        {"gateway": event.gateway.value, "gateway_payment_id": event.payment_id}
    )
    if payment is None:
        return None
    candidates = await Refund.find(
        {
            "payment_id": payment.id,
            "gateway_refund_id": None,
            "status": {"$in": [s.value for s in OPEN_REFUND_STATUSES]},
            "amount.amount_minor": event.amount_minor,
        }
    ).to_list()
    return candidates[0] if len(candidates) == 1 else None
