"""The one schema extension every request runs: document checks kept per text, and the error policy.

`DocumentChecks` holds, per document text, everything about a document that does not depend on
the request: the parsed tree (within the token limit), the validation errors (graphql-core's
rules plus the depth and alias limits, and no introspection in production) and where its own
literals hold a card number. A client's operations are a few texts sent many times, so each is
parsed, validated and scanned once, in a bounded LRU keyed by the text itself (a str caches its
hash; graphql-core's AST nodes do not, so a cache keyed by the tree hashes the whole tree on
every request).

`DocumentGate` is the per-request extension (one small object): it reads those checks, scans the
request's variables for card numbers, and applies the error policy. Domain errors keep their
message and carry `extensions.code`; an outage of the database or Redis (unreachable, a dropped
connection, a timeout; PyMongo has already retried once) is answered "The payment service is
briefly unavailable; repeat the request." with code SERVICE_UNAVAILABLE (the payment, refund and
saved-method mutations are safe to repeat: by order id, by idempotency key, or by their state)
and logged as a warning; anything else unexpected is masked as "Unexpected error." with code
INTERNAL_ERROR (and logged in full by PaygraphSchema).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cachetools import LRUCache
from graphql import DocumentNode, GraphQLError, GraphQLSchema, parse, specified_rules
from graphql.validation import ASTValidationRule, NoSchemaIntrospectionCustomRule
from pymongo.errors import ConnectionFailure
from redis.exceptions import AuthenticationError as RedisAuthenticationError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from strawberry.extensions import MaskErrors, MaxAliasesLimiter, QueryDepthLimiter
from strawberry.schema.schema import validate_document

from models.errors import DomainError
from schema.pan_guard import literal_findings, refuse, variable_findings

if TYPE_CHECKING:
    from strawberry.extensions import SchemaExtension


@dataclass(frozen=True, slots=True)
class Limits:
    max_depth: int = 10
    max_aliases: int = 15
    max_tokens: int = 2000
    document_cache_size: int = 512
    introspection: bool = True


def is_unexpected(error: GraphQLError) -> bool:
    """A resolver raised something that is not a domain error: a bug or an outage. Errors
    without a path come before execution (variables that do not fit their types, a missing
    required input field): they are the client's to read, never masked."""
    original = error.original_error
    if original is None or isinstance(original, DomainError | GraphQLError):
        return False
    return error.path is not None


# What an outage raises: PyMongo's AutoReconnect, NetworkTimeout, ServerSelectionTimeoutError
# and a full connection pool; redis-py's connection errors and timeouts.
_OUTAGES = (ConnectionFailure, RedisConnectionError, RedisTimeoutError)
UNAVAILABLE_MESSAGE = "The payment service is briefly unavailable; repeat the request."


def is_outage(error: GraphQLError) -> bool:
    """An unexpected error that is the database or Redis being unreachable, not a bug (nor a
    wrong Redis password, which redis-py raises as a connection error: that is logged in full)."""
    original = error.original_error
    return (
        is_unexpected(error)
        and isinstance(original, _OUTAGES)
        and not isinstance(original, RedisAuthenticationError)
    )


def with_code(error: GraphQLError) -> GraphQLError:
    """A domain error's `extensions.code` (and `field`), as every answer carries it."""
    original = error.original_error
    if isinstance(original, DomainError):
        error.extensions = {**(error.extensions or {}), "code": original.code}
        if original.field:
            error.extensions["field"] = original.field
    return error


@dataclass(slots=True)
class CheckedDocument:
    """What a document text is, whatever the request: its tree, its validation errors and
    where its literals hold a card number (the last two filled at its first validation)."""

    document: DocumentNode
    errors: list[GraphQLError] | None = None
    card_numbers: tuple[str, ...] = ()


class DocumentChecks:
    """Parse, validation and the literal card-number scan, once per document text."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        rules: list[type[ASTValidationRule]] = [
            *specified_rules,
            *QueryDepthLimiter(max_depth=limits.max_depth).validation_rules,
            *MaxAliasesLimiter(max_alias_count=limits.max_aliases).validation_rules,
        ]
        if not limits.introspection:
            rules.append(NoSchemaIntrospectionCustomRule)
        self.rules = tuple(rules)
        self._by_text: LRUCache[str, CheckedDocument] = LRUCache(limits.document_cache_size)

    def parsed(self, text: str) -> CheckedDocument:
        """The document for `text`; GraphQLError when it does not parse within the limits."""
        checked = self._by_text.get(text)
        if checked is None:
            checked = CheckedDocument(parse(text, max_tokens=self.limits.max_tokens))
            self._by_text[text] = checked
        return checked

    def validated(self, schema: GraphQLSchema, checked: CheckedDocument) -> CheckedDocument:
        if checked.errors is None:
            checked.card_numbers = literal_findings(schema, checked.document)
            checked.errors = validate_document(schema, checked.document, self.rules)
        return checked


class DocumentGate(MaskErrors):
    """Per request: the document's checks from `DocumentChecks`, the variables' card-number
    scan, and the error policy."""

    def __init__(self, checks: DocumentChecks) -> None:
        super().__init__(should_mask_error=is_unexpected, error_message="Unexpected error.")
        self._checks = checks

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is None and context.query:
            try:
                context.graphql_document = self._checks.parsed(context.query).document
            except GraphQLError:
                # Strawberry parses it again and answers the syntax error its own way.
                context.parse_options["max_tokens"] = self._checks.limits.max_tokens
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        schema = context.schema._schema
        if context.query and context.graphql_document is not None:
            checked = self._checks.validated(schema, self._checks.parsed(context.query))
            found = [
                *checked.card_numbers,
                *variable_findings(
                    schema, checked.document, context.variables, context.operation_name
                ),
            ]
            # A refusal replaces the validation errors, which could quote the digits.
            context.pre_execution_errors = [refuse(found)] if found else checked.errors
        yield

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        outage = is_outage(error)
        return GraphQLError(
            message=UNAVAILABLE_MESSAGE if outage else self.error_message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            extensions={"code": "SERVICE_UNAVAILABLE" if outage else "INTERNAL_ERROR"},
        )

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        return [with_code(error) for error in super()._process_errors(errors)]


def build_extensions(checks: DocumentChecks) -> list[Callable[[], SchemaExtension]]:
    return [lambda: DocumentGate(checks)]
