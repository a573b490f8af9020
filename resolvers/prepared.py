"""Prepared operations: a document seen before runs from a cached plan.

The standard path (Strawberry's view, its extension, graphql-core's executor) answers a document
the first time it is seen; the document is then compiled into a plan, and later requests with
the same text and operation name run from it. A plan does what the executor would: variables
coerced by graphql-core and scanned for card numbers, each field's own resolver called (so
permissions, ownership and the services run exactly as on the standard path), a union's member
chosen by the schema's own type resolver and checked by its `is_type_of`, leaves serialized by
the schema's own scalars and enums, the answer encoded as Strawberry encodes it. Answers are
byte-identical to the standard path's (tests/resolvers/test_prepared.py runs both and compares).

Whatever a plan does not cover goes to the standard path, decided before anything runs or after:
- at compile time: subscriptions, mutations of more than one field, documents that do not
  validate or carry a card number, directives, interfaces as a field's type, introspection;
- per request, before any resolver runs (`Fallback`): a GET the view does not allow or a
  mutation sent by GET, variables that do not coerce or carry a card number;
- per request, after: for a query (which writes nothing), a field error other than a domain
  error at the top (masking and logging belong to the standard path) or a null where the schema
  says non-null makes the standard path answer the whole request again (`Fallback`). A
  mutation's field runs once: anything but an answer completed without error (`Replay`) is
  answered by the standard path with the field's outcome replayed to it (its value, or what it
  raised), so the standard path reports it in its own words and the write is not made twice.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from functools import wraps
from typing import Any

from cachetools import LRUCache
from graphql import (
    GraphQLError,
    GraphQLFieldResolver,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLResolveInfo,
    located_error,
)
from graphql.execution.values import get_variable_values
from graphql.pyutils import Path
from starlette.responses import Response

import resolvers.plans as plans_module
from models.errors import DomainError
from resolvers.plans import (
    Fallback,
    FieldPlan,
    Plan,
    Run,
    below_top,
    compile_plan,
    complete_field,
)
from schema import PaygraphSchema
from schema.extensions import with_code
from schema.pan_guard import variable_findings

_PLAN_CACHE_SIZE = 512


class Replay(Exception):
    """A mutation's field ran, and its answer is the standard path's to give: run the request
    there inside `PreparedOperations.replaying(this)`, where the field answers `value` (or
    raises `error`) instead of running again."""

    def __init__(self, key: str, *, value: Any = None, error: Exception | None = None) -> None:
        super().__init__(key)
        self.key = key
        self.value = value
        self.error = error
        self.used = False


# The outcome the standard path's mutation field answers with, while one is replayed.
_REPLAY: ContextVar[Replay | None] = ContextVar("paygraph_replay", default=None)


def _replayable(resolve: GraphQLFieldResolver) -> GraphQLFieldResolver:
    """A mutation field's resolver that answers a replayed outcome, once, instead of running."""

    @wraps(resolve)
    def resolve_or_replay(source: Any, info: GraphQLResolveInfo[Any], **arguments: Any) -> Any:
        replay = _REPLAY.get()
        if (
            replay is None
            or replay.used
            or info.path.prev is not None
            or info.path.key != replay.key
        ):
            return resolve(source, info, **arguments)
        replay.used = True
        if replay.error is not None:
            raise replay.error
        return replay.value

    resolve_or_replay._paygraph_replayable = True  # type: ignore[attr-defined]
    return resolve_or_replay


async def _mutate(field: FieldPlan, root: GraphQLObjectType, run: Run) -> dict[str, Any]:
    """A mutation's one field: run once, then its answer, or Replay with what it gave."""
    try:
        value = await run.call(field, None, Path(None, field.key, root.name))
    except Exception as exc:
        raise Replay(field.key, error=_from_the_resolver(exc)) from exc
    try:
        return {field.key: await complete_field(field, value, run)}
    except Exception as exc:
        raise Replay(field.key, value=value) from exc


_PLAN_FILES = frozenset({__file__, plans_module.__file__})


def _from_the_resolver(error: Exception) -> Exception:
    """`error` with the plan's own frames dropped from the front of its traceback, so that
    when the standard path re-raises it, it is logged as raised by the resolver."""
    frames = error.__traceback__
    while frames is not None and frames.tb_frame.f_code.co_filename in _PLAN_FILES:
        frames = frames.tb_next
    return error.with_traceback(frames)


class PreparedOperations:
    """The plans of the documents seen so far (bounded), and running them."""

    def __init__(self, schema: PaygraphSchema, size: int = _PLAN_CACHE_SIZE) -> None:
        self.schema = schema
        self._plans: LRUCache[tuple[str, str | None], Plan | None] = LRUCache(size)
        self.answered = 0  # requests a plan answered (for tests and benchmarks)
        self.replayed = 0  # mutations whose answer the standard path gave from their outcome
        self.enabled = True  # False: every request takes the standard path (differential tests)
        mutation = schema._schema.mutation_type
        for field in mutation.fields.values() if mutation is not None else ():
            if field.resolve is not None and not hasattr(field.resolve, "_paygraph_replayable"):
                field.resolve = _replayable(field.resolve)

    @contextmanager
    def replaying(self, replay: Replay) -> Iterator[None]:
        """While the standard path answers a request whose mutation field already ran: the
        field answers with `replay`'s outcome instead of running again."""
        token = _REPLAY.set(replay)
        self.replayed += 1
        try:
            yield
        finally:
            _REPLAY.reset(token)

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
        """The answer; Fallback when the standard path must give it (nothing ran), Replay when
        it must give it with a mutation field's outcome (the field ran)."""
        schema = self.schema._schema
        coerced = get_variable_values(
            schema, plan.operation.variable_definitions or (), variables or {}
        )
        if isinstance(coerced, list):
            raise Fallback
        if variable_findings(schema, plan.document, variables, operation_name):
            raise Fallback  # the standard path refuses it and logs where
        run = Run(self.schema, plan, coerced, context)
        if plan.mutation:
            return self._respond({"data": await _mutate(plan.fields[0], plan.root, run)})
        data: dict[str, Any] | None = {}
        errors: list[GraphQLError] = []
        for field in plan.fields:
            assert data is not None
            if not field.resolved:  # __typename (the root value has no attributes)
                data[field.key] = await below_top(run.field(field, None))
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
            data[field.key] = await below_top(complete_field(field, value, run))
        if len(errors) > 1:
            raise Fallback  # the executor's error order follows its concurrency
        answer: dict[str, Any] = {"data": data}
        if errors:
            answer["errors"] = [error.formatted for error in errors]
        return self._respond(answer)

    def _respond(self, answer: dict[str, Any]) -> Response:
        self.answered += 1
        return Response(
            json.dumps(answer, separators=(",", ":")),
            status_code=200,
            media_type="application/json",
        )


__all__: Sequence[str] = ("Fallback", "Plan", "PreparedOperations", "Replay", "compile_plan")
