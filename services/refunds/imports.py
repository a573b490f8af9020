"""Refunds made outside paygraph - in the gateway's dashboard, or a chargeback - learned from a
refund webhook we cannot match, or from the payment's refunds as the gateway lists them
(reconciliation). Each becomes a refund record of source GATEWAY (a chargeback with reason
CHARGEBACK), reserved on the payment and settled through the refund store like any refund, so
the payment's refunded amount and status follow the money. Never sent anywhere: the gateway
made it already.

Matching comes first: the gateway's refund id names a refund we know; failing that, our open
refund whose gateway answer was lost (a timeout) is that refund when the gateway names it with
the reference our request carried (our refund id in Razorpay's notes, our idempotency key as
PayPal's custom_id) and it returns the same capture for the same amount. Only a refund that is
neither is imported, once per (gateway, gateway refund id) - the unique index makes a
concurrent second import a no-op. A dashboard refund of the same amount as one of ours still
waiting to be sent is therefore imported, never taken for ours.
"""

from __future__ import annotations

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from gateways.base import Gateway, GatewayRefund
from models.clock import utcnow
from models.enums import RefundReason, RefundSource, RefundStatus, TransitionSource
from models.errors import InvalidState, TargetNotFound
from models.money import Money
from models.payment import Payment
from models.refund import Refund
from models.transitions import OPEN_REFUND_STATUSES
from services.kit import in_transaction
from services.refunds.accept import new_refund
from services.refunds.commands import idempotency_key
from services.refunds.store import RefundStore


class AmbiguousRefund(TargetNotFound):
    """Several of our refunds could be this gateway refund (same payment and amount, their
    answers lost): not imported; once their jobs learn their gateway ids, it matches or not."""


async def payment_refunded_at(gateway: Gateway, gateway_payment_id: str) -> Payment | None:
    """The payment a gateway refund returns money of: by its gateway payment (Razorpay payment,
    PayPal capture), or a late capture recorded on a closed payment."""
    return await Payment.find_one(
        {
            "gateway": gateway.value,
            "$or": [
                {"gateway_payment_id": gateway_payment_id},
                {"late_payments.gateway_payment_id": gateway_payment_id},
            ],
        }
    )


async def known_refund(gateway: Gateway, gateway_refund_id: str) -> Refund | None:
    return await Refund.find_one({"gateway": gateway.value, "gateway_refund_id": gateway_refund_id})


async def unanswered_refund(payment: Payment, answer: GatewayRefund) -> Refund | None:
    """Our open refund that `answer` is, its own answer lost (no gateway id yet): it returns
    the same capture, for the same amount, and the gateway names it with the reference our
    request carried (our refund id in Razorpay's notes, our idempotency key as PayPal's
    custom_id). A gateway refund that names none of ours was made elsewhere (its dashboard),
    even when one of ours of the same amount waits to be sent. AmbiguousRefund when several
    of ours fit."""
    if answer.reference is None:
        return None
    candidates = [
        refund
        for refund in await Refund.find(
            {
                "payment_id": payment.id,
                "gateway_payment_id": answer.payment_id,
                "gateway_refund_id": None,
                "status": {"$in": [s.value for s in OPEN_REFUND_STATUSES]},
                "amount.amount_minor": answer.amount_minor,
            }
        ).to_list()
        if answer.reference in (str(refund.id), idempotency_key(refund))
    ]
    if len(candidates) > 1:
        raise AmbiguousRefund(
            f"{len(candidates)} refunds named {answer.reference} await their gateway ids"
        )
    return candidates[0] if candidates else None


async def import_refund(
    store: RefundStore, payment: Payment, answer: GatewayRefund, source: TransitionSource
) -> tuple[Refund, bool]:
    """Record a gateway refund we do not know (see the module docstring), PROCESSING until the
    caller applies what the gateway says of it. The flag is False when a concurrent import
    recorded it first (that refund is returned)."""
    assert payment.id is not None
    if answer.currency != payment.currency:
        raise InvalidState(
            f"the gateway refunded {answer.currency} of a {payment.currency} payment"
        )
    if payment.refunded_minor + answer.amount_minor > payment.captured_minor:
        # The gateway never refunds more than it captured: the capture this returns is not
        # recorded here yet (its webhook or reconciliation is still to come).
        raise TargetNotFound(f"refund {answer.id}: the capture it returns is not recorded yet")
    now = utcnow()
    refund = new_refund(
        payment,
        amount=Money(amount_minor=answer.amount_minor, currency=answer.currency),
        reason=RefundReason.CHARGEBACK if answer.reversal else RefundReason.OTHER,
        source=RefundSource.GATEWAY,
        gateway_payment_id=answer.payment_id,
        idempotency_key=f"gateway:{answer.id}"[:128],
        fingerprint=answer.id,
        by=source,
        actor="gateway",
        note=(
            f"a chargeback: the payer's bank took back {answer.amount_minor} minor units"
            if answer.reversal
            else "made at the gateway (its dashboard), not through paygraph"
        ),
        # At the gateway already: never PENDING, which the sweep would send.
        status=RefundStatus.PROCESSING,
        gateway_refund_id=answer.id,
    )

    async def write(session: AsyncClientSession) -> None:
        # The gateway made it: reserved whatever we had in flight (a refund of ours that the
        # gateway will now refuse gives its reservation back when it fails).
        result = await Payment.get_pymongo_collection().update_one(
            {"_id": payment.id},
            {
                "$inc": {"refund_committed_minor": answer.amount_minor, "version": 1},
                "$set": {"updated_at": now},
            },
            session=session,
        )
        if result.modified_count != 1:
            raise InvalidState("the refunded payment is gone")
        await refund.insert(session=session)

    try:
        await in_transaction(write)
    except DuplicateKeyError:
        # Imported concurrently (a webhook and reconciliation at once): that one is it.
        existing = await known_refund(answer.gateway, answer.id)
        if existing is None:
            raise InvalidState("the gateway's refund is being recorded; try again") from None
        return existing, False
    await store.created(refund)
    return refund, True
