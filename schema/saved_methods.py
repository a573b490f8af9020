"""Saved payment method types, inputs and result unions. The token is never part of the schema:
a saved method is shown by its gateway, type, network, last4 and expiry only."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from models.clock import utcnow
from models.enums import Gateway, PaymentMethodType
from models.saved_method import SavedPaymentMethod
from schema.errors import (
    GatewayError,
    InvalidStateError,
    NotFoundError,
    PanNotAcceptedError,
    ValidationError,
)


@strawberry.type(name="SavedMethod", description="A saved gateway token; never card data.")
class SavedMethodType:
    id: strawberry.ID
    gateway: Gateway
    method_type: PaymentMethodType
    last4: str | None = strawberry.field(description="Last four digits of the card, if a card.")
    network: str | None = strawberry.field(description="Card network as the gateway names it.")
    expiry_month: int | None
    expiry_year: int | None
    expired: bool = strawberry.field(description="Whether the card is past its expiry month.")
    vpa_masked: str | None
    label: str
    is_default: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_document(cls, method: SavedPaymentMethod) -> SavedMethodType:
        return cls(
            id=strawberry.ID(str(method.id)),
            gateway=method.gateway,
            method_type=method.method_type,
            last4=method.last4,
            network=method.network,
            expiry_month=method.expiry_month,
            expiry_year=method.expiry_year,
            expired=method.expired(utcnow()),
            vpa_masked=method.vpa_masked,
            label=method.label,
            is_default=method.is_default,
            created_at=method.created_at,
            updated_at=method.updated_at,
        )


@strawberry.input
class SavePaymentMethodInput:
    payment_id: strawberry.ID = strawberry.field(
        description="A completed payment of the caller whose checkout saved the card."
    )
    label: str | None = strawberry.field(default=None, description="At most 64 characters.")
    set_default: bool = False


@strawberry.type
class SavedMethodSuccess:
    saved_method: SavedMethodType


@strawberry.type
class DeleteSavedMethodSuccess:
    deleted_id: strawberry.ID


SavePaymentMethodResult = Annotated[
    SavedMethodSuccess
    | ValidationError
    | NotFoundError
    | InvalidStateError
    | GatewayError
    | PanNotAcceptedError,
    strawberry.union("SavePaymentMethodResult"),
]

DeleteSavedMethodResult = Annotated[
    DeleteSavedMethodSuccess | NotFoundError,
    strawberry.union("DeleteSavedMethodResult"),
]

SetDefaultSavedMethodResult = Annotated[
    SavedMethodSuccess | NotFoundError,
    strawberry.union("SetDefaultSavedMethodResult"),
]
