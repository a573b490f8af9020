"""Inbound adapters: GraphQL roots and REST endpoints; each request becomes one service call."""

from __future__ import annotations

from resolvers.mutation import Mutation
from resolvers.query import Query
from resolvers.subscription import Subscription
from schema import Limits, PaygraphSchema, build_schema


def graphql_schema(limits: Limits | None = None) -> PaygraphSchema:
    return build_schema(Query, Mutation, Subscription, limits=limits)


__all__ = ["graphql_schema"]
