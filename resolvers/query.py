"""Query root."""

from __future__ import annotations

import strawberry

from models.enums import Role
from resolvers.context import Info
from schema.permissions import IsAuthenticated
from schema.types import Viewer


@strawberry.type
class Query:
    @strawberry.field(permission_classes=[IsAuthenticated], description="The caller.")
    def viewer(self, info: Info) -> Viewer:
        principal = info.context.require_principal()
        return Viewer(
            customer_id=strawberry.ID(principal.customer_id),
            roles=sorted((Role(role) for role in principal.roles), key=str),
        )
