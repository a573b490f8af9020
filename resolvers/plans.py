"""Plans of prepared operations (resolvers/prepared.py runs them): a validated document
compiled once into what graphql-core's executor would do for it, field by field.

A plan's completions turn a value into its answer as the executor would: attribute reads where
Strawberry's default resolver would read, each field's own resolver otherwise, a union's member
named by the schema's own type resolver and checked by its `is_type_of`, leaves by the schema's
own scalars and enums. `NotCovered` at compile time and `Fallback` at run time say where the
standard path must answer instead.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeGuard

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
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLScalarType,
    GraphQLString,
    GraphQLUnionType,
    InlineFragmentNode,
    NamedTypeNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
)
from graphql.execution.values import VariableValues, get_argument_values
from graphql.pyutils import Path, Undefined
from graphql.utilities import get_operation_ast

from schema import PaygraphSchema

# Strawberry keeps each field's definition (its Python attribute name) on the GraphQL field.
_DEFINITION = "strawberry-definition"
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

    @property
    def mutation(self) -> bool:
        return self.operation.operation is OperationType.MUTATION


@dataclass(frozen=True, slots=True)
class Where:
    """A field as the type resolvers and `is_type_of` see it (their `info`)."""

    node: FieldNode
    return_type: GraphQLOutputType
    parent: GraphQLObjectType


@dataclass(slots=True)
class Run:
    """One request's execution of a plan."""

    schema: PaygraphSchema
    plan: Plan
    variables: VariableValues
    context: Any

    def info(self, field: FieldPlan, path: Path | None) -> GraphQLResolveInfo[Any]:
        assert field.definition is not None
        return self.info_at(Where(field.node, field.definition.type, field.parent), path)

    def info_at(self, where: Where, path: Path | None = None) -> GraphQLResolveInfo[Any]:
        node = where.node
        return GraphQLResolveInfo(
            node.name.value,
            [node],
            where.return_type,
            where.parent,
            # Below the top, resolvers here read only the context (the executor's full path
            # matters for errors, which are the standard path's to report there).
            path or Path(None, (node.alias or node.name).value, where.parent.name),
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
        return await complete_field(field, value, self)


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


def _settled(answer: Any) -> Any:
    """A type resolver's or `is_type_of`'s answer; one that would have to be awaited is the
    standard path's to wait for."""
    if _is_awaitable(answer):
        close = getattr(answer, "close", None)
        if close is not None:
            close()
        raise Fallback
    return answer


def _object(fields: tuple[FieldPlan, ...], type_: GraphQLObjectType, where: Where) -> Completion:
    is_type_of = type_.is_type_of

    def check(value: Any, run: Run) -> None:
        # The executor's check of a value against its object type, where the type has one.
        if is_type_of is not None and not _settled(is_type_of(value, run.info_at(where))):
            raise Fallback  # the executor's error: a value of another type

    if any(field.asynchronous for field in fields):

        async def complete_async(value: Any, run: Run) -> Any:
            check(value, run)
            return {field.key: await run.field(field, value) for field in fields}

        return Completion(complete_async, asynchronous=True)

    def complete(value: Any, run: Run) -> Any:
        check(value, run)
        return {field.key: _read(field, value, run) for field in fields}

    return Completion(complete)


def _union(type_: GraphQLUnionType, members: dict[str, Completion], where: Where) -> Completion:
    """A union's value completed as the member its type resolver names."""
    resolve_type = type_.resolve_type
    if resolve_type is None:
        raise NotCovered("a union without a type resolver")

    def member(value: Any, run: Run) -> Completion:
        name = _settled(resolve_type(value, run.info_at(where), type_))
        completion = members.get(name) if isinstance(name, str) else None
        if completion is None:
            raise Fallback  # the executor's error: not a member of the union
        return completion

    if any(completion.asynchronous for completion in members.values()):

        async def complete_async(value: Any, run: Run) -> Any:
            completion = member(value, run)
            if completion.asynchronous:
                return await completion.complete(value, run)
            return completion.complete(value, run)

        return Completion(complete_async, asynchronous=True)

    def complete(value: Any, run: Run) -> Any:
        return member(value, run).complete(value, run)

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
            if self.applies(condition, parent):
                found.extend(self.selections(inner, parent))
        keys = [(node.alias or node.name).value for node in found]
        if len(set(keys)) != len(keys):
            raise NotCovered("a response key selected twice")
        return found

    def applies(self, condition: NamedTypeNode | None, parent: GraphQLObjectType) -> bool:
        """Whether a fragment's fields are selected on `parent`, as the executor decides it:
        no condition, the type itself, or an interface or union it belongs to."""
        if condition is None or condition.name.value == parent.name:
            return True
        schema = self.schema._schema
        named = schema.get_type(condition.name.value)
        return isinstance(named, GraphQLInterfaceType | GraphQLUnionType) and schema.is_sub_type(
            named, parent
        )

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
        where = Where(node, definition.type, parent)
        return FieldPlan(
            key, node, parent, definition, attribute, self.complete(definition.type, where)
        )

    def complete(self, type_: GraphQLOutputType, where: Where) -> Completion:
        if isinstance(type_, GraphQLNonNull):
            return _non_null(self.complete(type_.of_type, where))
        return _nullable(self.complete_value(type_, where))

    def complete_value(self, type_: GraphQLOutputType, where: Where) -> Completion:
        if isinstance(type_, GraphQLList):
            return _list(self.complete(type_.of_type, where))
        if isinstance(type_, GraphQLScalarType | GraphQLEnumType):
            return _leaf(type_)
        selection_set = where.node.selection_set
        if isinstance(type_, GraphQLObjectType) and selection_set is not None:
            return _object(self.fields(selection_set, type_), type_, where)
        if isinstance(type_, GraphQLUnionType) and selection_set is not None:
            members = {
                member.name: _object(self.fields(selection_set, member), member, where)
                for member in type_.types
            }
            return _union(type_, members, where)
        raise NotCovered("an interface")


def compile_plan(schema: PaygraphSchema, text: str, operation_name: str | None) -> Plan | None:
    """The plan for this document and operation, or None when the standard path must run it."""
    try:
        checked = schema.checks.validated(schema._schema, schema.checks.parsed(text))
    except GraphQLError:
        return None
    if checked.errors or checked.card_numbers:
        return None
    operation = get_operation_ast(checked.document, operation_name)
    if operation is None:
        return None
    if operation.operation is OperationType.QUERY:
        root = schema._schema.query_type
    elif operation.operation is OperationType.MUTATION:
        root = schema._schema.mutation_type
    else:
        return None
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
    plan = Plan(checked.document, operation, fragments, root, fields)
    if plan.mutation and (len(fields) != 1 or not fields[0].resolved):
        return None  # one mutation field at a time: its outcome is what a replay carries
    return plan


async def complete_field(field: FieldPlan, value: Any, run: Run) -> Any:
    """The answer for a field from its value."""
    if field.completion.asynchronous:
        return await field.completion.complete(value, run)
    return field.completion.complete(value, run)


async def below_top(answer: Awaitable[Any]) -> Any:
    """A top field's answer. Any error below the top is the standard path's to report (its
    path, null propagation, masking and logging)."""
    try:
        return await answer
    except Fallback:
        raise
    except Exception as exc:
        raise Fallback from exc


__all__: Sequence[str] = (
    "Compiler",
    "Completion",
    "Fallback",
    "FieldPlan",
    "NotCovered",
    "Plan",
    "Run",
    "Where",
    "below_top",
    "compile_plan",
    "complete_field",
)
