"""The per-request GraphQL context and the services it carries."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import strawberry
from beanie import PydanticObjectId
from starlette.requests import Request
from starlette.websockets import WebSocket
from strawberry.dataloader import DataLoader

from models.errors import Forbidden, Unauthenticated
from models.payment import ClientMetadata
from models.refund import Refund
from services.auth import Principal, TokenService
from services.events_out import EventsOutService
from services.health import HealthService
from services.payments import PaymentService
from services.reconciliation import ReconciliationService
from services.refunds import RefundService
from services.saved_methods import SavedMethodService
from services.stats import StatsService
from services.webhooks import WebhookInbox


@dataclass(frozen=True, slots=True)
class AppServices:
    """Everything a resolver may call; built once by app.py."""

    tokens: TokenService
    health: HealthService
    payments: PaymentService
    saved_methods: SavedMethodService
    refunds: RefundService
    webhooks: WebhookInbox
    stats: StatsService
    reconciliation: ReconciliationService
    events_out: EventsOutService


async def _load_refunds(payment_ids: list[str]) -> list[list[Refund]]:
    """One query for the refunds of every payment in a list (no N+1)."""
    object_ids = [PydanticObjectId(pid) for pid in payment_ids]
    found = await Refund.find({"payment_id": {"$in": object_ids}}).sort("created_at").to_list()
    by_payment: dict[str, list[Refund]] = defaultdict(list)
    for refund in found:
        by_payment[str(refund.payment_id)].append(refund)
    return [by_payment[pid] for pid in payment_ids]


@dataclass
class Context:
    request: Request | WebSocket
    services: AppServices
    authorization: str | None = None
    connection_params: dict[str, Any] | None = None
    _principal: Principal | None = field(default=None, repr=False)
    _refund_loader: DataLoader[str, list[Refund]] | None = field(default=None, repr=False)

    def require_principal(self) -> Principal:
        """The caller, or Unauthenticated saying why the token was not accepted."""
        if self._principal is None:
            header = self.authorization
            if header is None and self.connection_params is not None:
                header = _header_from_params(self.connection_params)
            self._principal = self.services.tokens.from_authorization_header(header)
        return self._principal

    def require_admin(self) -> Principal:
        principal = self.require_principal()
        if not principal.is_admin:
            raise Forbidden("this operation needs the admin role")
        return principal

    def client(self) -> ClientMetadata:
        host = self.request.client.host if self.request.client else None
        agent = self.request.headers.get("user-agent")
        return ClientMetadata(ip=host, user_agent=agent[:512] if agent else None)

    async def refunds_of(self, payment_id: str) -> list[Refund]:
        if self._refund_loader is None:
            self._refund_loader = DataLoader(load_fn=_load_refunds)
        return await self._refund_loader.load(payment_id)


def _header_from_params(params: dict[str, Any]) -> str | None:
    for key in ("Authorization", "authorization"):
        value = params.get(key)
        if isinstance(value, str):
            return value
    headers = params.get("headers")
    if isinstance(headers, dict):
        return _header_from_params(headers)
    return None


Info: TypeAlias = strawberry.Info[Context, None]

__all__ = ["AppServices", "Context", "Forbidden", "Info", "Unauthenticated"]
