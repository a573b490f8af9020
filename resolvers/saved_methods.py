"""Saved payment method queries and mutations: each field is one service call."""

from __future__ import annotations

import strawberry

from resolvers.context import Info
from resolvers.payments_mutation import or_user_error
from schema.permissions import IsAuthenticated
from schema.saved_methods import (
    DeleteSavedMethodResult,
    DeleteSavedMethodSuccess,
    SavedMethodSuccess,
    SavedMethodType,
    SavePaymentMethodInput,
    SavePaymentMethodResult,
    SetDefaultSavedMethodResult,
)
from services.saved_methods import SaveCommand


@strawberry.type
class SavedMethodQuery:
    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="The caller's saved methods, the default first.",
    )
    async def saved_methods(self, info: Info) -> list[SavedMethodType]:
        principal = info.context.require_principal()
        found = await info.context.services.saved_methods.list_methods(principal)
        return [SavedMethodType.from_document(method) for method in found]

    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="One of the caller's saved methods; anyone else's id is NOT_FOUND.",
    )
    async def saved_method(self, info: Info, id: strawberry.ID) -> SavedMethodType:
        principal = info.context.require_principal()
        method = await info.context.services.saved_methods.get(principal, str(id))
        return SavedMethodType.from_document(method)


@strawberry.type
class SavedMethodMutation:
    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Save the gateway token of a completed payment (saving it again returns it).",
    )
    async def save_payment_method(
        self, info: Info, input: SavePaymentMethodInput
    ) -> SavePaymentMethodResult:
        principal = info.context.require_principal()
        command = SaveCommand(
            payment_id=str(input.payment_id), label=input.label, set_default=input.set_default
        )

        async def run() -> SavedMethodSuccess:
            method = await info.context.services.saved_methods.save(principal, command)
            return SavedMethodSuccess(saved_method=SavedMethodType.from_document(method))

        return await or_user_error(run)  # type: ignore[return-value]

    @strawberry.mutation(permission_classes=[IsAuthenticated])
    async def delete_saved_method(self, info: Info, id: strawberry.ID) -> DeleteSavedMethodResult:
        principal = info.context.require_principal()

        async def run() -> DeleteSavedMethodSuccess:
            deleted = await info.context.services.saved_methods.delete(principal, str(id))
            return DeleteSavedMethodSuccess(deleted_id=strawberry.ID(str(deleted)))

        return await or_user_error(run)  # type: ignore[return-value]

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Make this the caller's only default method.",
    )
    async def set_default_saved_method(
        self, info: Info, id: strawberry.ID
    ) -> SetDefaultSavedMethodResult:
        principal = info.context.require_principal()

        async def run() -> SavedMethodSuccess:
            method = await info.context.services.saved_methods.set_default(principal, str(id))
            return SavedMethodSuccess(saved_method=SavedMethodType.from_document(method))

        return await or_user_error(run)  # type: ignore[return-value]
