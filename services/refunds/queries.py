"""Reading refunds: one by id, and a payment's refunds live (a payment's list is read by the
GraphQL layer's dataloader). Another customer's payment or refund is NOT_FOUND, never
FORBIDDEN."""

from __future__ import annotations

from collections.abc import AsyncIterator

from models.errors import PaymentNotFound, RefundNotFound
from models.payment import Payment
from models.refund import Refund
from services.auth import Principal
from services.events import EventBus, refund_channel
from services.kit import may_see, object_id


async def refund_for(principal: Principal, refund_id: str) -> Refund:
    refund = await Refund.get(
        object_id(refund_id, otherwise=RefundNotFound("not found", field="id"))
    )
    if refund is None or not (may_see(principal, refund.customer_id)):
        raise RefundNotFound("refund not found", field="id")
    return refund


async def watch_refunds(
    events: EventBus, principal: Principal, payment_id: str
) -> AsyncIterator[Refund]:
    payment = await visible_payment(principal, payment_id)
    seen: dict[str, int] = {}
    async for notice in events.listen(refund_channel(str(payment.id))):
        if notice is not None and seen.get(notice.id, -1) >= notice.version:
            continue  # shown already
        for refund in await Refund.find({"payment_id": payment.id}).sort("created_at").to_list():
            if seen.get(str(refund.id), -1) < refund.version:
                seen[str(refund.id)] = refund.version
                yield refund


async def visible_payment(principal: Principal, payment_id: str) -> Payment:
    """The payment `principal` may see, or PAYMENT_NOT_FOUND on `paymentId`."""
    payment = await Payment.get(
        object_id(payment_id, otherwise=PaymentNotFound("not found", field="id"))
    )
    if payment is None or not may_see(principal, payment.customer_id):
        raise PaymentNotFound("payment not found", field="paymentId")
    return payment
