"""Measuring an operation's list inputs against their caps (``@maxItems``), before it runs.

The arguments that can hold a list (directly or inside input objects) are found once
per document and operation; each request then measures only those, in literals and
in the variables they read, without descending into a list that is already too long.
A list too long for a root mutation field that answers with ``ValidationError`` comes
back as that error (naming the input field); anywhere else the operation is refused
with ``BAD_USER_INPUT`` naming the argument.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    ArgumentNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLArgument,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLSchema,
    GraphQLUnionType,
    InlineFragmentNode,
    ListValueNode,
    Node,
    ObjectValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_list_type,
)

from schema.error_codes import bad_user_input
from schema.limits.fields import field_definition, named_type
from schema.limits.lists import max_items

Path = tuple[str | int, ...]
"""Where in an argument: its name, then input field names and list indexes."""


@dataclass(frozen=True)
class ArgumentSite:
    """An argument of the operation whose type can hold a list."""

    root_key: str
    """The response key of the root field it is under."""
    field: str
    """The field it is an argument of, as `Type.field`."""
    node: ArgumentNode
    definition: GraphQLArgument
    as_data: bool
    """Whether a list too long here comes back as the root field's ``ValidationError``."""


@dataclass(frozen=True)
class LongList:
    site: ArgumentSite
    path: Path
    count: int
    cap: int
    node: Node

    def error(self) -> GraphQLError:
        where = _dotted(self.path)
        return bad_user_input(
            f"Argument `{where}` of `{self.site.field}` holds {self.count} items; at most {self.cap} are allowed.",
            nodes=self.node,
            argument=where,
            limit=self.cap,
            requested=self.count,
        )

    def input_field(self) -> str:
        """The path a ``ValidationError`` names: inside the mutation's `input`, as its other fields are."""
        path = self.path[1:] if self.path[0] == "input" and len(self.path) > 1 else self.path
        return _dotted(path)

    def message(self) -> str:
        return f"At most {self.cap} items ({self.count} given)."


@dataclass(frozen=True)
class OperationRoot:
    """The root value of an operation with input fields refused as data, by root field response key."""

    refused: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


def operation_root(too_long: list[LongList]) -> OperationRoot | None:
    """The root value that carries the lists refused as data to their root fields."""
    refused: dict[str, dict[str, str]] = {}
    for item in too_long:
        if item.site.as_data:
            refused.setdefault(item.site.root_key, {}).setdefault(item.input_field(), item.message())
    return OperationRoot(refused) if refused else None


def refused_input(info: Any) -> dict[str, str] | None:
    """What the pipeline refused in the input of the root field ``info`` resolves, if anything."""
    root = getattr(info, "root_value", None)
    if not isinstance(root, OperationRoot) or len(info.path.as_list()) != 1:
        return None
    refused = root.refused.get(info.path.key)
    return dict(refused) if refused else None


def argument_sites(
    schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode
) -> tuple[ArgumentSite, ...]:
    """The arguments of ``operation`` (through its fragments) whose type can hold a list."""
    fragments = {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    holds = _ListHolders()
    root_type = schema.get_root_type(operation.operation)
    sites: dict[tuple[str, int], ArgumentSite] = {}
    walked: set[tuple[str | None, str]] = set()
    stack: list[tuple[SelectionSetNode, GraphQLNamedType | None, str | None]] = [
        (operation.selection_set, root_type, None)
    ]
    # Iterative, each fragment walked once per root field: spreads cannot multiply the work.
    while stack:
        selection_set, parent, root_key = stack.pop()
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                definition = field_definition(schema, parent, selection.name.value)
                if definition is None or parent is None:
                    continue
                key = root_key if root_key is not None else (selection.alias or selection.name).value
                as_data = root_key is None and _answers_validation_errors(schema, parent, definition.type)
                for argument in selection.arguments or ():
                    argument_definition = definition.args.get(argument.name.value)
                    if argument_definition is not None and holds(argument_definition.type):
                        site = ArgumentSite(
                            key,
                            f"{parent.name}.{selection.name.value}",
                            argument,
                            argument_definition,
                            as_data,
                        )
                        sites.setdefault((key, id(argument)), site)
                if selection.selection_set is not None:
                    stack.append((selection.selection_set, get_named_type(definition.type), key))
            elif isinstance(selection, InlineFragmentNode):
                inner = named_type(schema, selection.type_condition, parent)
                stack.append((selection.selection_set, inner, root_key))
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = fragments.get(name)
                if fragment is not None and (root_key, name) not in walked:
                    walked.add((root_key, name))
                    inner = named_type(schema, fragment.type_condition, None)
                    stack.append((fragment.selection_set, inner, root_key))
    return tuple(sites.values())


def long_lists(
    sites: tuple[ArgumentSite, ...],
    operation: OperationDefinitionNode,
    variables: Mapping[str, Any] | None,
) -> list[LongList]:
    """The lists longer than their cap in these arguments, with the request's variables."""
    if not sites:
        return []
    measure = _Measure(operation, variables or {})
    for site in sites:
        measure.site = site
        measure.literal(
            site.node.value, site.definition.type, max_items(site.definition), (site.node.name.value,)
        )
    return measure.found


class _Measure:
    def __init__(self, operation: OperationDefinitionNode, variables: Mapping[str, Any]) -> None:
        self.variables = variables
        self.defaults = {
            definition.variable.name.value: definition.default_value
            for definition in operation.variable_definitions or ()
            if definition.default_value is not None
        }
        self.found: list[LongList] = []
        self.site: ArgumentSite

    def literal(self, node: ValueNode, type_: GraphQLInputType, cap: int | None, path: Path) -> None:
        type_ = get_nullable_type(type_)  # type: ignore[assignment]
        if isinstance(node, VariableNode):
            name = node.name.value
            if name in self.variables:
                self.value(self.variables[name], type_, cap, path, node)
            elif name in self.defaults:
                self.literal(self.defaults[name], type_, cap, path)
            return
        if isinstance(type_, GraphQLList):
            item_type = type_.of_type
            if not isinstance(node, ListValueNode):
                self.literal(node, item_type, cap, path)  # one value is a list of one
                return
            if cap is not None and len(node.values) > cap:
                self.found.append(LongList(self.site, path, len(node.values), cap, node))
                return
            for index, item in enumerate(node.values):
                self.literal(item, item_type, cap, (*path, index))
        elif isinstance(type_, GraphQLInputObjectType) and isinstance(node, ObjectValueNode):
            for field_node in node.fields:
                name = field_node.name.value
                definition = type_.fields.get(name)
                if definition is not None:
                    self.literal(field_node.value, definition.type, max_items(definition), (*path, name))

    def value(self, value: Any, type_: GraphQLInputType, cap: int | None, path: Path, node: Node) -> None:
        type_ = get_nullable_type(type_)  # type: ignore[assignment]
        if isinstance(type_, GraphQLList):
            item_type = type_.of_type
            if not isinstance(value, list):
                self.value(value, item_type, cap, path, node)
                return
            if cap is not None and len(value) > cap:
                self.found.append(LongList(self.site, path, len(value), cap, node))
                return
            for index, item in enumerate(value):
                self.value(item, item_type, cap, (*path, index), node)
        elif isinstance(type_, GraphQLInputObjectType) and isinstance(value, dict):
            for name, definition in type_.fields.items():
                if name in value:
                    self.value(value[name], definition.type, max_items(definition), (*path, name), node)


class _ListHolders:
    """Whether an input type can hold a list, remembered per named type (input types may recurse)."""

    def __init__(self) -> None:
        self._known: dict[str, bool] = {}

    def __call__(self, type_: GraphQLInputType) -> bool:
        nullable = get_nullable_type(type_)
        if is_list_type(nullable):
            return True
        if not isinstance(nullable, GraphQLInputObjectType):
            return False
        name = nullable.name
        if name not in self._known:
            self._known[name] = False  # a type that holds itself adds nothing new
            self._known[name] = any(self(field.type) for field in nullable.fields.values())
        return self._known[name]


def _answers_validation_errors(schema: GraphQLSchema, parent: GraphQLNamedType, type_: Any) -> bool:
    if parent is not schema.mutation_type:
        return False
    named = get_named_type(type_)
    return isinstance(named, GraphQLUnionType) and any(
        member.name == "ValidationError" for member in named.types
    )


def _dotted(path: Path) -> str:
    return ".".join(str(part) for part in path)
