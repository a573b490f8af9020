"""Small helpers every service shares: ids from clients, ownership, transactions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from beanie import PydanticObjectId
from bson import ObjectId
from bson.errors import InvalidId
from pymongo.asynchronous.client_session import AsyncClientSession

from models.payment import Payment
from services.auth import Principal


def object_id(value: object, *, otherwise: Exception) -> PydanticObjectId:
    """`value` as an ObjectId; `otherwise` is raised for anything that is not one (a malformed
    id names nothing we hold: callers pass their NotFound or ValidationFailed)."""
    try:
        return PydanticObjectId(ObjectId(value))  # type: ignore[arg-type]
    except (InvalidId, TypeError):
        raise otherwise from None


def may_see(principal: Principal, customer_id: str) -> bool:
    """Admins see every customer's records; a customer only their own (another customer's id is
    NOT_FOUND to them, never FORBIDDEN)."""
    return principal.is_admin or principal.customer_id == customer_id


async def in_transaction(work: Callable[[AsyncClientSession], Awaitable[None]]) -> None:
    """Run `work` in one multi-document transaction (retried by the driver on transient
    conflicts, so `work` must be safe to run again)."""
    client = Payment.get_pymongo_collection().database.client
    async with client.start_session() as session:
        await session.with_transaction(work)
