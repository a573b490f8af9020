"""Prepared operations: a query document seen before runs from a cached plan.

The standard path (Strawberry's view, its extension, graphql-core's executor) answers a document
the first time it is seen; the document is then compiled into a plan, and later requests with
the same text and operation name run from it. A plan does what the executor would: variables
coerced by graphql-core and scanned for card numbers, each field's own resolver called (so
permissions, ownership and the services run exactly as on the standard path), leaves serialized
by the schema's own scalars and enums, the answer encoded as Strawberry encodes it. Answers are
byte-identical to the standard path's (tests/resolvers/test_prepared.py runs both and compares).

Whatever a plan does not cover goes to the standard path, decided before anything runs or, for
a query only (which writes nothing), by answering the whole request there instead:
- at compile time: mutations and subscriptions, documents that do not validate or carry a card
  number, directives, fragments on another type, abstract types, introspection;
- per request: a GET the view does not allow, variables that do not coerce or carry a card
  number, a field error other than a domain error at the top (masking and logging belong to
  the standard path), a null where the schema says non-null.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeGuard

from cachetools import LRUCache
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLError,
    GraphQLField,
    GraphQLID,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLScalarType,
    GraphQLString,
    InlineFragmentNode,
    NamedTypeNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    located_error,
)
from graphql.execution.values import VariableValues, get_argument_values, get_variable_values
from graphql.pyutils import Path, Undefined
from graphql.utilities import get_operation_ast
from starlette.responses import Response

from models.errors import DomainError
from schema import PaygraphSchema
from schema.extensions import with_code
from schema.pan_guard import variable_findings

# Strawberry keeps each field's definition (its Python attribute name) on the GraphQL field.
_DEFINITION = "strawberry-definition"
_PLAN_CACHE_SIZE = 512
_BUILT_IN = (GraphQLString, GraphQLID, GraphQLBoolean, GraphQLInt)


def _is_awaitable(value: Any) -> TypeGuard[Awaitable[Any]]:
    return inspect.isawaitable(value)


class Fallback(Exception):
    """This request is not the plan's to answer: the standard path answers it."""


class NotCovered(Exception):
    """This document cannot be prepared; it always runs on the standard path."""


@dataclass(frozen=True, slots=True)
class Completion:
    """Turns a field's value into its answer: `complete(value, run)`, a coroutine function when
    `asynchronous` (some field below has a resolver of its own), a plain function otherwise
    (attribute reads and the schema's scalars: no coroutine per leaf)."""

    complete: Callable[[Any, Run], Any]
    asynchronous: bool = False


@dataclass(frozen=True, slots=True)
class FieldPlan:
    key: str
    node: FieldNode
    parent: GraphQLObjectType
    definition: GraphQLField | None  # None: __typename
    attribute: str | None  # a plain attribute read (Strawberry's default resolver)
    completion: Completion

    @property
    def resolved(self) -> bool:
        """Whether it has a resolver of its own (not `__typename`, not an attribute read)."""
        return self.definition is not None and self.attribute is None

    @property
    def asynchronous(self) -> bool:
        """Whether reading it awaits: a resolver of its own, or one below it."""
        return self.resolved or self.completion.asynchronous


@dataclass(frozen=True, slots=True)
class Plan:
    document: DocumentNode
    operation: OperationDefinitionNode
    fragments: dict[str, FragmentDefinitionNode]
    root: GraphQLObjectType
    fields: tuple[FieldPlan, ...]


@dataclass(slots=True)
class Run:
    """One request's execution of a plan."""

    schema: PaygraphSchema
    plan: Plan
    variables: VariableValues
    context: Any

    def info(self, field: FieldPlan, path: Path | None) -> GraphQLResolveInfo[Any]:
        assert field.definition is not None
        return GraphQLResolveInfo(
            field.node.name.value,
            [field.node],
            field.definition.type,
            field.parent,
            # Below the top, resolvers here read only the context (the executor's full path
            # matters for errors, which are the standard path's to report there).
            path or Path(None, field.key, field.parent.name),
            self.schema._schema,
            self.plan.fragments,
            None,
            self.plan.operation,
            self.variables,
            self.context,
            _is_awaitable,
            None,
            None,  # type: ignore[arg-type]  # resolvers here track no extra work
        )

    async def call(self, field: FieldPlan, source: Any, path: Path | None) -> Any:
        """The value of a field with a resolver of its own (permissions and all)."""
        assert field.definition is not None and field.definition.resolve is not None
        arguments = get_argument_values(field.definition, field.node, self.variables)
        value = field.definition.resolve(source, self.info(field, path), **arguments)
        return await value if inspect.isawaitable(value) else value

    async def field(self, field: FieldPlan, source: Any) -> Any:
        """A field below the top, whatever its kind."""
        if field.definition is None:
            return field.parent.name
        if field.resolved:
            value = await self.call(field, source, None)
        else:
            value = getattr(source, field.attribute)  # type: ignore[arg-type]
        return await _complete(field, value, self)


def _read(field: FieldPlan, source: Any, run: Run) -> Any:
    """A field below the top with no resolver of its own anywhere under it."""
    if field.definition is None:
        return field.parent.name
    return field.completion.complete(getattr(source, field.attribute), run)  # type: ignore[arg-type]


def _coerced(value: Any) -> Any:
    if value is None or value is Undefined:
        raise Fallback  # the executor reports it as a field error
    return value


_INT_RANGE = range(-(2**31), 2**31)
_ENUM_MEMO_SIZE = 256


def _leaf(type_: GraphQLScalarType | GraphQLEnumType) -> Completion:
    """The schema's own coercion, with shortcuts that give the same answer: a str for String
    and ID, a bool for Boolean and a 32-bit int for Int are their own output; an enum's
    answer for a value is memoized by (type, value) (a StrEnum member equals its str)."""
    coerce = type_.coerce_output_value
    if isinstance(type_, GraphQLEnumType):
        names: dict[tuple[type, Any], Any] = {}

        def complete_enum(value: Any, run: Run) -> Any:
            key = (type(value), value)
            name = names.get(key)
            if name is None:
                name = _coerced(coerce(value))
                if len(names) < _ENUM_MEMO_SIZE:
                    names[key] = name
            return name

        return Completion(complete_enum)
    own: type | None = (
        {
            GraphQLString.name: str,
            GraphQLID.name: str,
            GraphQLBoolean.name: bool,
            GraphQLInt.name: int,
        }.get(type_.name)
        if type_ in _BUILT_IN
        else None
    )

    def complete(value: Any, run: Run) -> Any:
        if type(value) is own and (own is not int or value in _INT_RANGE):
            return value
        return _coerced(coerce(value))

    return Completion(complete)


def _non_null(inner: Completion) -> Completion:
    complete_inner = inner.complete
    if inner.asynchronous:

        async def complete_async(value: Any, run: Run) -> Any:
            if value is None:
                raise Fallback  # null where the schema says non-null: the executor's error
            return await complete_inner(value, run)

        return Completion(complete_async, asynchronous=True)

    def complete(value: Any, run: Run) -> Any:
        if value is None:
            raise Fallback
        return complete_inner(value, run)

    return Completion(complete)


def _nullable(inner: Completion) -> Completion:
    complete_inner = inner.complete
    if inner.asynchronous:

        async def complete_async(value: Any, run: Run) -> Any:
            return None if value is None else await complete_inner(value, run)

        return Completion(complete_async, asynchronous=True)

    def complete(value: Any, run: Run) -> Any:
        return None if value is None else complete_inner(value, run)

    return Completion(complete)


def _items(value: Any) -> Any:
    if isinstance(value, str | bytes) or not hasattr(value, "__iter__"):
        raise Fallback  # the executor's error: a list was expected
    return value


def _list(inner: Completion) -> Completion:
    complete_inner = inner.complete
    if inner.asynchronous:

        async def complete_async(value: Any, run: Run) -> Any:
            return [await complete_inner(item, run) for item in _items(value)]

        return Completion(complete_async, asynchronous=True)

    def complete(value: Any, run: Run) -> Any:
        return [complete_inner(item, run) for item in _items(value)]

    return Completion(complete)


def _object(fields: tuple[FieldPlan, ...]) -> Completion:
    if any(field.asynchronous for field in fields):

        async def complete_async(value: Any, run: Run) -> Any:
            return {field.key: await run.field(field, value) for field in fields}

        return Completion(complete_async, asynchronous=True)

    def complete(value: Any, run: Run) -> Any:
        return {field.key: _read(field, value, run) for field in fields}

    return Completion(complete)


class Compiler:
    def __init__(self, schema: PaygraphSchema, fragments: dict[str, FragmentDefinitionNode]):
        self.schema = schema
        self.fragments = fragments

    def selections(
        self, selection_set: SelectionSetNode, parent: GraphQLObjectType
    ) -> list[FieldNode]:
        """The fields of a selection set on a concrete type, fragments flattened."""
        found: list[FieldNode] = []
        for selection in selection_set.selections:
            condition: NamedTypeNode | None
            if selection.directives:
                raise NotCovered("directives")
            if isinstance(selection, FieldNode):
                found.append(selection)
                continue
            if isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments[selection.name.value]
                condition, inner = fragment.type_condition, fragment.selection_set
                if fragment.directives:
                    raise NotCovered("directives")
            else:
                assert isinstance(selection, InlineFragmentNode)
                condition, inner = selection.type_condition, selection.selection_set
            if condition is not None and condition.name.value != parent.name:
                raise NotCovered("a fragment on another type")
            found.extend(self.selections(inner, parent))
        keys = [(node.alias or node.name).value for node in found]
        if len(set(keys)) != len(keys):
            raise NotCovered("a response key selected twice")
        return found

    def fields(
        self, selection_set: SelectionSetNode, parent: GraphQLObjectType
    ) -> tuple[FieldPlan, ...]:
        return tuple(self.field(node, parent) for node in self.selections(selection_set, parent))

    def field(self, node: FieldNode, parent: GraphQLObjectType) -> FieldPlan:
        key = (node.alias or node.name).value
        name = node.name.value
        if name == "__typename":
            return FieldPlan(key, node, parent, None, None, _leaf(GraphQLString))
        if name.startswith("__"):
            raise NotCovered("introspection")
        definition = parent.fields[name]
        attribute = None
        if getattr(definition.resolve, "_is_default", False) and not node.arguments:
            attribute = (definition.extensions or {})[_DEFINITION].python_name
        return FieldPlan(
            key, node, parent, definition, attribute, self.complete(definition.type, node)
        )

    def complete(self, type_: GraphQLOutputType, node: FieldNode) -> Completion:
        if isinstance(type_, GraphQLNonNull):
            return _non_null(self.complete(type_.of_type, node))
        return _nullable(self.complete_value(type_, node))

    def complete_value(self, type_: GraphQLOutputType, node: FieldNode) -> Completion:
        if isinstance(type_, GraphQLList):
            return _list(self.complete(type_.of_type, node))
        if isinstance(type_, GraphQLScalarType | GraphQLEnumType):
            return _leaf(type_)
        if isinstance(type_, GraphQLObjectType) and node.selection_set is not None:
            if type_.is_type_of is not None:
                raise NotCovered("a type checked at runtime")
            return _object(self.fields(node.selection_set, type_))
        raise NotCovered("an abstract type")


def compile_plan(schema: PaygraphSchema, text: str, operation_name: str | None) -> Plan | None:
    """The plan for this document and operation, or None when the standard path must run it."""
    try:
        checked = schema.checks.validated(schema._schema, schema.checks.parsed(text))
    except GraphQLError:
        return None
    if checked.errors or checked.card_numbers:
        return None
    operation = get_operation_ast(checked.document, operation_name)
    if operation is None or operation.operation is not OperationType.QUERY:
        return None
    root = schema._schema.query_type
    assert root is not None
    fragments = {
        definition.name.value: definition
        for definition in checked.document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    try:
        fields = Compiler(schema, fragments).fields(operation.selection_set, root)
    except NotCovered:
        return None
    return Plan(checked.document, operation, fragments, root, fields)


async def _complete(field: FieldPlan, value: Any, run: Run) -> Any:
    """The answer for a field from its value."""
    if field.completion.asynchronous:
        return await field.completion.complete(value, run)
    return field.completion.complete(value, run)


async def _below_top(answer: Awaitable[Any]) -> Any:
    """A top field's answer. Any error below the top is the standard path's to report (its
    path, null propagation, masking and logging)."""
    try:
        return await answer
    except Fallback:
        raise
    except Exception as exc:
        raise Fallback from exc


class PreparedOperations:
    """The plans of the documents seen so far (bounded), and running them."""

    def __init__(self, schema: PaygraphSchema, size: int = _PLAN_CACHE_SIZE) -> None:
        self.schema = schema
        self._plans: LRUCache[tuple[str, str | None], Plan | None] = LRUCache(size)
        self.answered = 0  # requests a plan answered (for tests and benchmarks)
        self.enabled = True  # False: every request takes the standard path (differential tests)

    def plan(self, text: str, operation_name: str | None) -> Plan | None:
        """The plan for a document seen before; the first sight compiles it for next time
        (and answers None: the standard path runs the first one)."""
        if not self.enabled:
            return None
        key = (text, operation_name)
        try:
            return self._plans[key]
        except KeyError:
            self._plans[key] = compile_plan(self.schema, text, operation_name)
            return None

    async def run(
        self, plan: Plan, variables: dict[str, Any] | None, operation_name: str | None, context: Any
    ) -> Response:
        """The answer, or Fallback when the standard path must give it."""
        schema = self.schema._schema
        coerced = get_variable_values(
            schema, plan.operation.variable_definitions or (), variables or {}
        )
        if isinstance(coerced, list):
            raise Fallback
        if variable_findings(schema, plan.document, variables, operation_name):
            raise Fallback  # the standard path refuses it and logs where
        run = Run(self.schema, plan, coerced, context)
        data: dict[str, Any] | None = {}
        errors: list[GraphQLError] = []
        for field in plan.fields:
            assert data is not None
            if not field.resolved:  # __typename (the root value has no attributes)
                data[field.key] = await _below_top(run.field(field, None))
                continue
            path = Path(None, field.key, plan.root.name)
            try:
                value = await run.call(field, None, path)
            except DomainError as exc:
                errors.append(with_code(located_error(exc, [field.node], path.as_list())))
                if isinstance(field.definition and field.definition.type, GraphQLNonNull):
                    data = None
                    break
                data[field.key] = None
                continue
            except Exception as exc:  # masked and logged by the standard path, which reruns it
                raise Fallback from exc
            data[field.key] = await _below_top(_complete(field, value, run))
        if len(errors) > 1:
            raise Fallback  # the executor's error order follows its concurrency
        answer: dict[str, Any] = {"data": data}
        if errors:
            answer["errors"] = [error.formatted for error in errors]
        self.answered += 1
        return Response(
            json.dumps(answer, separators=(",", ":")),
            status_code=200,
            media_type="application/json",
        )


__all__: Sequence[str] = ("Fallback", "Plan", "PreparedOperations", "compile_plan")
