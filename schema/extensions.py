"""Schema extensions: abuse limits, caches and the error policy.

Domain errors keep their message and carry `extensions.code`; anything unexpected is masked as
"Unexpected error." with code INTERNAL_ERROR (and logged in full by PaygraphSchema).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from graphql import GraphQLError
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import (
    AddValidationRules,
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)

from models.errors import DomainError


@dataclass(frozen=True, slots=True)
class Limits:
    max_depth: int = 10
    max_aliases: int = 15
    max_tokens: int = 2000
    parser_cache_size: int = 512
    validation_cache_size: int = 512
    introspection: bool = True


def is_unexpected(error: GraphQLError) -> bool:
    """A resolver raised something that is not a domain error: a bug or an outage. Errors
    without a path come before execution (variables that do not fit their types, a missing
    required input field): they are the client's to read, never masked."""
    original = error.original_error
    if original is None or isinstance(original, DomainError | GraphQLError):
        return False
    return error.path is not None


class ErrorPolicy(MaskErrors):
    def __init__(self) -> None:
        super().__init__(should_mask_error=is_unexpected, error_message="Unexpected error.")

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        return GraphQLError(
            message=self.error_message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            extensions={"code": "INTERNAL_ERROR"},
        )

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        processed = super()._process_errors(errors)
        for error in processed:
            original = error.original_error
            if isinstance(original, DomainError):
                error.extensions = {**(error.extensions or {}), "code": original.code}
                if original.field:
                    error.extensions["field"] = original.field
        return processed


def build_extensions(limits: Limits) -> list[type[SchemaExtension] | Callable[[], SchemaExtension]]:
    # The depth and alias limiters each build a new rule class per instance, and the validation
    # cache is keyed by the rule classes: build them once, so every request reuses the same
    # classes and a repeated query is validated once.
    rules = [
        *QueryDepthLimiter(max_depth=limits.max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=limits.max_aliases).validation_rules,
    ]
    if not limits.introspection:
        rules.append(NoSchemaIntrospectionCustomRule)
    return [
        lambda: MaxTokensLimiter(max_token_count=limits.max_tokens),
        lambda: ParserCache(maxsize=limits.parser_cache_size),
        lambda: AddValidationRules(rules),
        lambda: ValidationCache(maxsize=limits.validation_cache_size),
        ErrorPolicy,
    ]
