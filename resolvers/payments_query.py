"""Payment queries: each field is one service call."""

from __future__ import annotations

import strawberry
from cachetools import LRUCache
from graphql import FieldNode, FragmentSpreadNode, InlineFragmentNode

from models.enums import PaymentStatus, Role
from resolvers.context import Info
from schema.payments import PaymentConnection, PaymentEdge, PaymentType
from schema.permissions import IsAuthenticated
from schema.types import Bank, PageInfo, SupportedMethod, Viewer, Wallet
from services import catalog

# Payment's list fields a query may leave out, by GraphQL name -> document field.
_OPTIONAL = {"timeline": "timeline", "latePayments": "late_payments", "checkout": "checkout"}


# field node -> (the node, what it leaves out); by identity: nodes live in cached documents.
_unselected_by_node: LRUCache[int, tuple[FieldNode, frozenset[str]]] = LRUCache(1024)


def _unselected(info: Info) -> frozenset[str]:
    """The document's optional lists this query does not select (so the read leaves them out);
    the PaymentType's other fields are all read, selected or not. A field under a directive
    counts as selected: reading more is always safe."""
    raw = info._raw_info
    nodes = raw.field_nodes
    if len(nodes) == 1:
        hit = _unselected_by_node.get(id(nodes[0]))
        if hit is not None and hit[0] is nodes[0]:
            return hit[1]
    selected: set[str] = set()
    pending = [node.selection_set for node in nodes if node.selection_set is not None]
    while pending:
        for selection in pending.pop().selections:
            if isinstance(selection, FieldNode):
                selected.add(selection.name.value)
            elif isinstance(selection, FragmentSpreadNode):
                pending.append(raw.fragments[selection.name.value].selection_set)
            elif isinstance(selection, InlineFragmentNode):
                pending.append(selection.selection_set)
    unselected = frozenset(field for name, field in _OPTIONAL.items() if name not in selected)
    if len(nodes) == 1:
        _unselected_by_node[id(nodes[0])] = (nodes[0], unselected)
    return unselected


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
        payments = info.context.services.payments
        without = _unselected(info)
        return PaymentType.from_document(await payments.read(principal, id, without=without))

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
