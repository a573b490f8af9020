"""Refund queries, the refund mutation and live refund status."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from resolvers.context import Info
from resolvers.payments_mutation import or_user_error
from schema.payments import RefundType
from schema.permissions import IsAuthenticated
from schema.refunds import RefundPaymentInput, RefundPaymentResult, RefundSuccess
from services.refunds import RefundCommand


@strawberry.type
class RefundQuery:
    @strawberry.field(permission_classes=[IsAuthenticated], description="One refund.")
    async def refund(self, info: Info, id: strawberry.ID) -> RefundType:
        principal = info.context.require_principal()
        return RefundType.from_document(await info.context.services.refunds.get(principal, str(id)))


@strawberry.type
class RefundMutation:
    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description=(
            "Admin: refund all or part of a completed payment. A new refund is answered "
            "PENDING once its amount is reserved; a worker sends it to the gateway, and "
            "refundStatusChanged (or refund(id)) shows it become PROCESSING, then COMPLETED "
            "or FAILED. The same idempotencyKey returns the first refund as it is now."
        ),
    )
    async def refund_payment(self, info: Info, input: RefundPaymentInput) -> RefundPaymentResult:
        principal = info.context.require_principal()
        command = RefundCommand(
            payment_id=str(input.payment_id),
            amount=input.amount,
            reason=input.reason,
            notes=input.notes,
            idempotency_key=str(input.idempotency_key),
        )

        async def run() -> RefundSuccess:
            refund = await info.context.services.refunds.refund(principal, command)
            return RefundSuccess(refund=RefundType.from_document(refund))

        return await or_user_error(run)  # type: ignore[return-value]


@strawberry.type
class RefundSubscription:
    @strawberry.subscription(
        permission_classes=[IsAuthenticated],
        description="The payment's refunds now, then every refund status change.",
    )
    async def refund_status_changed(
        self, info: Info, payment_id: strawberry.ID
    ) -> AsyncGenerator[RefundType, None]:
        principal = info.context.require_principal()
        async for refund in info.context.services.refunds.watch(principal, str(payment_id)):
            yield RefundType.from_document(refund)
