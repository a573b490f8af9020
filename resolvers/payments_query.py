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

# What each Payment field reads of the document (`id` and `refunds` only its _id). A field not
# here (a new one) makes the read take every display field.
_READS: dict[str, tuple[str, ...]] = {
    "__typename": (),
    "id": (),
    "refunds": (),
    "orderId": ("order_id",),
    "customerId": ("customer_id",),
    "status": ("status",),
    "amount": ("amount",),
    "refundedAmount": ("refunded_minor", "amount"),
    "capturedAmount": ("captured_minor", "amount"),
    "latePayments": ("late_payments",),
    "gateway": ("gateway",),
    "methodType": ("method_type",),
    "gatewayOrderId": ("gateway_order_id",),
    "gatewayPaymentId": ("gateway_payment_id",),
    "attemptCount": ("attempt_count",),
    "installments": ("installments",),
    "errorCode": ("error_code",),
    "errorMessage": ("error_message",),
    "createdAt": ("created_at",),
    "updatedAt": ("updated_at",),
    "expiresAt": ("expires_at",),
    "checkout": ("checkout",),
    "timeline": ("timeline",),
    "version": ("version",),
}

# field node -> (the node, the document fields it reads); by identity: nodes live in cached
# documents.
_reads_by_node: LRUCache[int, tuple[FieldNode, frozenset[str] | None]] = LRUCache(1024)


def _reads(info: Info) -> frozenset[str] | None:
    """The document fields this `payment` selection shows (None: all display fields). A field
    under a directive counts as selected: reading more is always safe."""
    raw = info._raw_info
    nodes = raw.field_nodes
    if len(nodes) == 1:
        hit = _reads_by_node.get(id(nodes[0]))
        if hit is not None and hit[0] is nodes[0]:
            return hit[1]
    reads: set[str] | None = set()
    pending = [node.selection_set for node in nodes if node.selection_set is not None]
    while pending and reads is not None:
        for selection in pending.pop().selections:
            if isinstance(selection, FieldNode):
                fields = _READS.get(selection.name.value)
                if fields is None:
                    reads = None
                    break
                reads.update(fields)
            elif isinstance(selection, FragmentSpreadNode):
                pending.append(raw.fragments[selection.name.value].selection_set)
            elif isinstance(selection, InlineFragmentNode):
                pending.append(selection.selection_set)
    found = None if reads is None else frozenset(reads)
    if len(nodes) == 1:
        _reads_by_node[id(nodes[0])] = (nodes[0], found)
    return found


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
        return PaymentType.from_document(await payments.read(principal, id, fields=_reads(info)))

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
