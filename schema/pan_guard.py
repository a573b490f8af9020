"""The PAN guard: no operation that carries a card number gets past validation.

No input type has a card-number or CVV field; this extension makes sure none arrives through any
other string either. Before anything executes (so before anything is stored, sent to a gateway or
logged by a resolver), it reads every string and number in the operation's variables and in the
document's inline literals (arguments, nested input objects, lists, variable defaults, directive
arguments) and refuses the whole operation when one holds a card-number-shaped value: 13-19
digits, single spaces or dashes allowed, passing Luhn (domain.cards.find_card_numbers). The
answer is a top-level error with `extensions.code` PAN_NOT_ACCEPTED and data null; the message
names where the number was, never the digits.

One exemption, for false positives rather than convenience: a value of GraphQL type ID that is
exactly an ObjectId (24 hex) or a UUID. Their digit runs are chance (about 1 ObjectId in 900
contains a Luhn-valid run of 13+ digits), and such a value is only ever looked up, never stored.

schema/extensions.py's DocumentGate runs it at validation and replaces any validation errors
with its refusal (they could quote the digits). The literal scan walks the whole document with
type information, so its findings are kept with the document's other checks, per text; variables
and the operation name differ per request and are scanned each time.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from graphql import (
    ArgumentNode,
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FloatValueNode,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLSchema,
    IntValueNode,
    Node,
    ObjectFieldNode,
    OperationDefinitionNode,
    StringValueNode,
    TypeInfo,
    TypeInfoVisitor,
    VariableDefinitionNode,
    Visitor,
    get_named_type,
    is_input_type,
    visit,
)
from graphql.utilities import type_from_ast

from domain.cards import find_card_numbers
from models.errors import ErrorCode, PanNotAccepted

log = logging.getLogger("paygraph.graphql.pan_guard")

_OBJECT_ID = re.compile(r"[0-9a-fA-F]{24}")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_MAX_NAMED = 5


def _holds_pan(text: str) -> bool:
    return bool(find_card_numbers(text, standalone=True))


def _is_identifier(value: str, input_type: Any) -> bool:
    if input_type is None or get_named_type(input_type).name != "ID":
        return False
    return _OBJECT_ID.fullmatch(value) is not None or _UUID.fullmatch(value) is not None


def _unwrap_non_null(input_type: Any) -> Any:
    return input_type.of_type if isinstance(input_type, GraphQLNonNull) else input_type


def _scan_variable(value: object, input_type: Any, path: str, found: list[str]) -> None:
    input_type = _unwrap_non_null(input_type)
    if isinstance(value, Mapping):
        fields = input_type.fields if isinstance(input_type, GraphQLInputObjectType) else {}
        for key, item in value.items():
            name = str(key)
            if _holds_pan(name):
                found.append(f"{path} (a key)")
                continue
            field = fields.get(name)
            _scan_variable(item, field.type if field else None, f"{path}.{name}", found)
    elif isinstance(value, list):
        item_type = input_type.of_type if isinstance(input_type, GraphQLList) else None
        for index, item in enumerate(value):
            _scan_variable(item, item_type, f"{path}[{index}]", found)
    elif isinstance(value, str):
        if not _is_identifier(value, input_type) and _holds_pan(value):
            found.append(path)
    elif isinstance(value, int | float) and not isinstance(value, bool) and _holds_pan(str(value)):
        found.append(path)


class _LiteralScanner(Visitor):
    def __init__(self, type_info: TypeInfo, found: list[str]) -> None:
        super().__init__()
        self._type_info = type_info
        self._found = found

    def enter(self, node: Node, key: Any, parent: Any, path: Any, ancestors: Any) -> None:
        if isinstance(node, StringValueNode | IntValueNode | FloatValueNode):
            input_type = self._type_info.get_input_type()
            if isinstance(node, StringValueNode) and _is_identifier(node.value, input_type):
                return
            if _holds_pan(node.value):
                self._found.append(_literal_path([*ancestors, parent]))


def _literal_path(ancestors: list[Any]) -> str:
    names = []
    for item in ancestors:
        if isinstance(item, FieldNode):
            names.append((item.alias or item.name).value)
        elif isinstance(item, ArgumentNode | ObjectFieldNode):
            names.append(item.name.value)
        elif isinstance(item, VariableDefinitionNode):
            names.append(f"${item.variable.name.value}")
        elif isinstance(item, DirectiveNode):
            names.append(f"@{item.name.value}")
    return ".".join(names) or "the document"


def literal_findings(schema: GraphQLSchema, document: DocumentNode) -> tuple[str, ...]:
    """Where the document's own literals hold a card number: argument paths such as
    `initiatePayment.input.notes`. The same for every request with this text (kept per text by
    schema/extensions.py's DocumentChecks)."""
    found: list[str] = []
    type_info = TypeInfo(schema)
    visit(document, TypeInfoVisitor(type_info, _LiteralScanner(type_info, found)))
    return tuple(dict.fromkeys(found))


def variable_findings(
    schema: GraphQLSchema,
    document: DocumentNode,
    variables: Mapping[str, object] | None,
    operation_name: str | None = None,
) -> list[str]:
    """Where this request's variables (and operation name) hold a card number: paths such as
    `$input.notes`. They differ per request, so they are scanned every time."""
    found: list[str] = []
    if operation_name and _holds_pan(operation_name):
        found.append("operationName")
    if not variables:
        return found
    declared: dict[str, GraphQLInputType | None] = {}
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        if operation_name and definition.name and definition.name.value != operation_name:
            continue
        for variable in definition.variable_definitions or ():
            variable_type = type_from_ast(schema, variable.type)
            declared[variable.variable.name.value] = (
                variable_type if is_input_type(variable_type) else None
            )
    for name, value in variables.items():
        if _holds_pan(name):
            found.append("a variable name")
            continue
        _scan_variable(value, declared.get(name), f"${name}", found)
    return list(dict.fromkeys(found))


def pan_error(paths: list[str]) -> GraphQLError:
    named = ", ".join(paths[:_MAX_NAMED]) + (" and more" if len(paths) > _MAX_NAMED else "")
    message = (
        f"A card number was found in {named}. Card numbers are not accepted here; "
        "pay through the gateway's checkout."
    )
    return GraphQLError(
        message,
        extensions={"code": ErrorCode.PAN_NOT_ACCEPTED.value, "field": paths[0]},
        original_error=PanNotAccepted(message, field=paths[0]),
    )


def refuse(paths: list[str]) -> GraphQLError:
    """The refusal of an operation carrying a card number at `paths` (logged without digits)."""
    log.warning("refused an operation carrying a card number in %s", ", ".join(paths))
    return pan_error(paths)
