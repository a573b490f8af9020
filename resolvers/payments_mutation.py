"""Payment mutations: each field is one service call; domain errors become schema data."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import strawberry

from models.errors import DomainError
from resolvers.context import Info
from schema.errors import UserError, from_domain_error
from schema.payments import (
    CancelPaymentResult,
    InitiatePaymentInput,
    InitiatePaymentResult,
    InitiatePaymentSuccess,
    PaymentSuccess,
    PaymentType,
    VerifyPaymentInput,
    VerifyPaymentResult,
    checkout_view,
)
from schema.permissions import IsAuthenticated
from services.payments import InitiateCommand, VerifyCommand

T = TypeVar("T")


async def or_user_error(call: Callable[[], Awaitable[T]]) -> T | UserError:
    """Run one service call; an expected failure becomes its schema error type."""
    try:
        return await call()
    except DomainError as error:
        return from_domain_error(error)


@strawberry.type
class PaymentMutation:
    @strawberry.mutation(permission_classes=[IsAuthenticated])
    async def initiate_payment(
        self, info: Info, input: InitiatePaymentInput
    ) -> InitiatePaymentResult:
        principal = info.context.require_principal()
        command = InitiateCommand(
            order_id=input.order_id,
            amount=input.amount,
            currency=input.currency,
            method=input.payment_method,
            saved_method_id=str(input.saved_method_id) if input.saved_method_id else None,
            installments=input.installments,
            bank=input.bank,
            wallet=input.wallet,
            vpa=input.vpa,
            notes=input.notes,
            return_url=input.return_url,
            cancel_url=input.cancel_url,
        )

        async def run() -> InitiatePaymentSuccess:
            initiated = await info.context.services.payments.initiate(
                principal, command, info.context.client()
            )
            view = PaymentType.from_document(initiated.payment)
            return InitiatePaymentSuccess(payment=view, checkout=checkout_view(initiated.checkout))

        return await or_user_error(run)  # type: ignore[return-value]

    @strawberry.mutation(permission_classes=[IsAuthenticated])
    async def verify_payment(self, info: Info, input: VerifyPaymentInput) -> VerifyPaymentResult:
        principal = info.context.require_principal()
        command = VerifyCommand(
            payment_id=str(input.payment_id),
            gateway_payment_id=input.gateway_payment_id,
            signature=input.signature,
            save_method=input.save_method,
        )

        async def run() -> PaymentSuccess:
            payment = await info.context.services.payments.verify(principal, command)
            return PaymentSuccess(payment=PaymentType.from_document(payment))

        return await or_user_error(run)  # type: ignore[return-value]

    @strawberry.mutation(permission_classes=[IsAuthenticated])
    async def cancel_payment(self, info: Info, id: strawberry.ID) -> CancelPaymentResult:
        principal = info.context.require_principal()

        async def run() -> PaymentSuccess:
            payment = await info.context.services.payments.cancel(principal, str(id))
            return PaymentSuccess(payment=PaymentType.from_document(payment))

        return await or_user_error(run)  # type: ignore[return-value]
