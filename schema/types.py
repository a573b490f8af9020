"""GraphQL object types. Enums wrap the models' StrEnums rather than redefining them."""

from __future__ import annotations

import strawberry

from models.enums import Role

strawberry.enum(Role, name="Role")


@strawberry.type(description="Who the bearer token says is calling.")
class Viewer:
    customer_id: strawberry.ID
    roles: list[Role]
