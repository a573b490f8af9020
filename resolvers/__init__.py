"""Inbound adapters: GraphQL roots and REST endpoints; each request becomes one service call.

Each feature contributes its own query, mutation and subscription classes; the roots are
merged here, so adding a feature's fields touches this list and nothing else."""

from __future__ import annotations

from strawberry.tools import merge_types

from resolvers.events_out import EventsOutMutation, EventsOutQuery
from resolvers.payments_mutation import PaymentMutation
from resolvers.payments_query import PaymentQuery
from resolvers.payments_subscription import PaymentSubscription
from resolvers.reconciliation import ReconciliationMutation, ReconciliationQuery
from resolvers.refunds import RefundMutation, RefundQuery, RefundSubscription
from resolvers.saved_methods import SavedMethodMutation, SavedMethodQuery
from resolvers.stats import StatsQuery
from resolvers.webhooks_graphql import WebhookMutation, WebhookQuery
from schema import Limits, PaygraphSchema, build_schema

Query = merge_types(
    "Query",
    (
        PaymentQuery,
        RefundQuery,
        SavedMethodQuery,
        WebhookQuery,
        ReconciliationQuery,
        StatsQuery,
        EventsOutQuery,
    ),
)
Mutation = merge_types(
    "Mutation",
    (
        PaymentMutation,
        RefundMutation,
        SavedMethodMutation,
        WebhookMutation,
        ReconciliationMutation,
        EventsOutMutation,
    ),
)
Subscription = merge_types("Subscription", (PaymentSubscription, RefundSubscription))


def graphql_schema(limits: Limits | None = None) -> PaygraphSchema:
    return build_schema(Query, Mutation, Subscription, limits=limits)


__all__ = ["graphql_schema"]
