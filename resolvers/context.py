"""The per-request GraphQL context and the services it carries."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeAlias

import strawberry
from starlette.requests import Request
from starlette.websockets import WebSocket

from models.errors import Forbidden, Unauthenticated
from services.auth import Principal, TokenService
from services.health import HealthService


@dataclass(frozen=True, slots=True)
class AppServices:
    """Everything a resolver may call; built once by app.py."""

    tokens: TokenService
    health: HealthService


@dataclass
class Context:
    request: Request | WebSocket
    services: AppServices
    authorization: str | None = None
    connection_params: dict[str, Any] | None = None
    _principal: Principal | None = field(default=None, repr=False)

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
