"""What the gateway says about a refund - its answer to our call, its refund webhooks, what
reconciliation fetched or listed - fed through the refund state machine; a refund made outside
paygraph is imported first (imports.py)."""

from __future__ import annotations

from beanie import PydanticObjectId

from gateways.base import GatewayEvent, GatewayEventKind, GatewayRefund, GatewayRefundStatus
from gateways.registry import GatewayRegistry
from models.enums import TransitionSource
from models.errors import InvalidState, TargetNotFound
from models.payment import Payment
from models.refund import Refund
from models.transitions import RefundEvent
from services.refunds import imports
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


async def settle_gateway_refund(
    store: RefundStore,
    payment: Payment,
    answer: GatewayRefund,
    source: TransitionSource,
    gateway_event_id: str | None = None,
) -> tuple[Refund, bool]:
    """What the gateway says about one refund of `payment`, applied to the refund it names:
    ours (by its gateway id, else our one refund of that amount whose answer was lost), or one
    made outside paygraph, imported now. The flag says whether this call imported it."""
    refund = await imports.known_refund(answer.gateway, answer.id)
    imported = False
    if refund is None:
        refund = await imports.unanswered_refund(payment, answer)
    if refund is None:
        refund, imported = await imports.import_refund(store, payment, answer, source)
    settled = await apply_answer(store, refund, answer, source, gateway_event_id)
    return settled, imported


async def apply_webhook(
    store: RefundStore, gateways: GatewayRegistry, event: GatewayEvent
) -> tuple[PydanticObjectId, PydanticObjectId | None]:
    """A refund webhook (or a chargeback's). A refund we do not know is imported; TargetNotFound
    (the job tries again) while its payment, or the capture it returns, is not recorded yet."""
    if not event.payment_id:
        raise InvalidState(f"{event.raw_type} names no gateway payment")
    payment = await imports.payment_refunded_at(event.gateway, event.payment_id)
    if payment is None:
        raise TargetNotFound(f"no payment for {event.raw_type} {event.payment_id}")
    assert payment.id is not None
    if event.kind is GatewayEventKind.PAYMENT_REVERSED:
        return payment.id, await _apply_reversal(store, gateways, payment, event)
    status = _WEBHOOK_STATUS.get(event.kind)
    if status is None or not event.refund_id or event.amount_minor is None:
        raise InvalidState(f"{event.raw_type} does not say which refund of how much")
    answer = GatewayRefund(
        gateway=event.gateway,
        id=event.refund_id,
        payment_id=event.payment_id,
        amount_minor=event.amount_minor,
        currency=event.currency or payment.currency,
        status=status,
        error_reason=event.error_reason,
        reference=event.refund_reference,
    )
    refund, _ = await settle_gateway_refund(
        store, payment, answer, TransitionSource.WEBHOOK, event.event_id
    )
    return payment.id, refund.id


async def _apply_reversal(
    store: RefundStore, gateways: GatewayRegistry, payment: Payment, event: GatewayEvent
) -> PydanticObjectId | None:
    """A chargeback: the gateway says what it took back, beside the capture's other refunds
    (the event carries only the capture). Every one of them we do not know is imported."""
    assert event.payment_id is not None
    listed = await gateways.get(event.gateway).list_refunds(event.payment_id)
    reversal = None
    for answer in listed:
        refund, _ = await settle_gateway_refund(
            store,
            payment,
            answer,
            TransitionSource.WEBHOOK,
            event.event_id if answer.reversal else None,
        )
        if answer.reversal:
            reversal = refund.id
    if reversal is None:
        raise TargetNotFound(f"the gateway lists no reversal of {event.payment_id} yet")
    return reversal
