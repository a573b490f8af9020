"""Field permissions. They ask the request context for its principal; the context decides how a
token is read, so the schema stays free of I/O."""

from __future__ import annotations

from typing import Any, Protocol

import strawberry
from strawberry.permission import BasePermission


class AuthContext(Protocol):
    def require_principal(self) -> Any: ...

    def require_admin(self) -> Any: ...


class IsAuthenticated(BasePermission):
    message = "authentication required"

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        context: AuthContext = info.context
        context.require_principal()  # raises Unauthenticated with the reason
        return True


class IsAdmin(BasePermission):
    message = "admin role required"

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        context: AuthContext = info.context
        context.require_admin()  # raises Unauthenticated or Forbidden
        return True
