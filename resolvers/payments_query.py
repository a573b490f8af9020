"""Payment queries: each field is one service call."""

from __future__ import annotations

import strawberry

from models.enums import PaymentStatus, Role
from resolvers.context import Info
from schema.payments import PaymentConnection, PaymentEdge, PaymentType
from schema.permissions import IsAuthenticated
from schema.types import Bank, PageInfo, SupportedMethod, Viewer, Wallet
from services import catalog


@strawberry.type
class PaymentQuery:
    @strawberry.field(permission_classes=[IsAuthenticated], description="The caller.")
    def viewer(self, info: Info) -> Viewer:
        principal = info.context.require_principal()
        return Viewer(
            customer_id=strawberry.ID(principal.customer_id),
            roles=sorted((Role(role) for role in principal.roles), key=str),
        )

    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="One payment; another customer's id is NOT_FOUND.",
    )
    async def payment(self, info: Info, id: strawberry.ID) -> PaymentType:
        principal = info.context.require_principal()
        return PaymentType.from_document(await info.context.services.payments.get(principal, id))

    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="Payments newest first. Admins see everyone's and may filter by customerId.",
    )
    async def payments(
        self,
        info: Info,
        first: int = 20,
        after: str | None = None,
        status: PaymentStatus | None = None,
        customer_id: str | None = None,
    ) -> PaymentConnection:
        principal = info.context.require_principal()
        page = await info.context.services.payments.list_payments(
            principal, first=first, after=after, status=status, customer_id=customer_id
        )
        edges = [
            PaymentEdge(cursor=_cursor, node=PaymentType.from_document(item))
            for item, _cursor in zip(page.items, page.cursors, strict=True)
        ]
        return PaymentConnection(
            edges=edges,
            page_info=PageInfo(has_next_page=page.has_next_page, end_cursor=page.end_cursor),
        )

    @strawberry.field(permission_classes=[IsAuthenticated], description="Banks for NETBANKING.")
    def netbanking_banks(self) -> list[Bank]:
        return [Bank(code=code, name=name) for code, name in catalog.NETBANKING_BANKS.items()]

    @strawberry.field(permission_classes=[IsAuthenticated], description="Wallets for WALLET.")
    def wallets(self) -> list[Wallet]:
        return [Wallet(code=code, name=name) for code, name in catalog.WALLETS.items()]

    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="Methods that will work for this currency (and amount, when given).",
    )
    def supported_methods(
        self, info: Info, currency: str = "INR", amount: str | None = None
    ) -> list[SupportedMethod]:
        options = info.context.services.payments.supported_methods(currency, amount)
        return [
            SupportedMethod(method=o.method, gateway=o.gateway, emi_tenures=list(o.emi_tenures))
            for o in options
        ]
