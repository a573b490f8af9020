"""The GraphQL contract: types, inputs, enums, errors, permissions and `build_schema`. No I/O.

Root types come from resolvers/ (which depend on this package, not the other way round)."""

from __future__ import annotations

import logging

import strawberry
from graphql import GraphQLError
from strawberry.types import ExecutionContext

from schema.errors import ALL_ERROR_TYPES, UserError
from schema.extensions import (
    DocumentChecks,
    Limits,
    build_extensions,
    is_outage,
    is_unexpected,
)

log = logging.getLogger("paygraph.graphql")


class PaygraphSchema(strawberry.Schema):
    """The schema and what each document text is to it (`checks`: parse, validation, card
    numbers in literals), which the standard path and prepared operations share."""

    def __init__(self, *args: object, checks: DocumentChecks, **kwargs: object) -> None:
        self.checks = checks
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Domain errors and invalid queries are the client's business; only surprises are logged,
        # an outage briefly (its cause is the database's or Redis's, and it may come by the
        # hundred), anything else in full.
        for error in errors:
            if not is_unexpected(error):
                continue
            where = ".".join(str(p) for p in error.path or []) or "operation"
            if is_outage(error):
                log.warning(
                    "service unavailable in %s: %s", where, type(error.original_error).__name__
                )
            else:
                log.error("unexpected error in %s", where, exc_info=error.original_error)


def build_schema(
    query: type,
    mutation: type | None = None,
    subscription: type | None = None,
    *,
    limits: Limits | None = None,
) -> PaygraphSchema:
    checks = DocumentChecks(limits or Limits())
    return PaygraphSchema(
        query=query,
        mutation=mutation,
        subscription=subscription,
        types=[UserError, *ALL_ERROR_TYPES],
        extensions=build_extensions(checks),
        checks=checks,
    )


__all__ = ["Limits", "PaygraphSchema", "build_schema"]
