"""Sending an accepted refund to its gateway, with an idempotency key derived from our refund id,
and settling it with the answer. However often it is sent (a second job, the sweep,
reconciliation), the gateway makes one refund and replays it to every later call."""

from __future__ import annotations

import logging

from gateways.base import (
    GatewayOutcomeUnknown,
    GatewayRefund,
    GatewayRejected,
    GatewayUnavailable,
    RefundRequest,
)
from gateways.registry import GatewayRegistry
from models.enums import RefundSource, RefundStatus, TransitionSource
from models.errors import RefundNotFound
from models.refund import Refund
from models.transitions import RefundEvent
from services.kit import object_id
from services.refunds.commands import idempotency_key
from services.refunds.store import RefundStore
from services.refunds.updates import apply_answer

log = logging.getLogger("paygraph.refunds")


async def send_pending(
    gateways: GatewayRegistry, store: RefundStore, refund_id: str
) -> Refund | None:
    try:
        refund = await Refund.get(
            object_id(refund_id, otherwise=RefundNotFound("not found", field="id"))
        )
    except RefundNotFound:
        return None
    if refund is None or refund.status is not RefundStatus.PENDING:
        return refund
    return await submit_refund(gateways, store, refund, TransitionSource.API)


async def submit_refund(
    gateways: GatewayRegistry, store: RefundStore, refund: Refund, source: TransitionSource
) -> Refund:
    if refund.source is RefundSource.GATEWAY:
        return refund  # made at the gateway (imported): sending it would refund twice
    adapter = gateways.get(refund.gateway)
    request = RefundRequest(
        payment_id=refund.gateway_payment_id,
        amount_minor=refund.amount.amount_minor,
        currency=refund.amount.currency,
        idempotency_key=idempotency_key(refund),
        notes={"refund_id": str(refund.id), "payment_id": str(refund.payment_id)},
    )
    try:
        answer: GatewayRefund = await adapter.refund(request)
    except GatewayRejected as exc:
        return await store.settle(
            refund, RefundEvent.FAILED, source, error=(exc.gateway_code, exc.reason or exc.message)
        )
    except (GatewayUnavailable, GatewayOutcomeUnknown) as exc:
        log.warning("refund %s left pending: %s", refund.id, exc.message)
        return refund
    except ValueError as exc:
        # The adapter refused the request before sending it: nothing can make it valid
        # later, so the refund fails and its reservation is released.
        return await store.settle(
            refund, RefundEvent.FAILED, source, error=("INVALID_REQUEST", str(exc))
        )
    return await apply_answer(store, refund, answer, source)
