"""The cost of an operation: how far its lists can multiply out, checked before any resolver runs.

A field returning an object costs ``object_cost`` (1), a scalar or enum ``scalar_cost``
(0). A list multiplies the cost of what is selected inside it by its greatest length:
its `first`/`last` (variables resolved) when it is paginated, the argument's schema
default or the default page size when those are missing, and for a list without
paging the bound the code enforces on it (``CostModel.list_sizes``). A paginated field
that returns a connection object hands its page size to the lists directly inside it
(`edges`). So the cost is an upper bound of the objects a response can hold.

The cost needs the request's variables, so it is checked when execution starts, not
during (cached) validation (``schema/pipeline.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLArgument,
    GraphQLError,
    GraphQLField,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLOutputType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    get_named_type,
    get_operation_ast,
    is_composite_type,
)

from schema.limits.config import CostModel
from schema.limits.errors import LimitCode, in_words, limit_error, reported
from schema.limits.fields import field_definition, named_type


class CostCalculator:
    """Prices the operations of one validated document for one set of variables."""

    def __init__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        variables: Mapping[str, Any] | None,
        model: CostModel,
    ) -> None:
        self._schema = schema
        self._model = model
        self._variables = variables or {}
        self._defaults: dict[str, ValueNode] = {}
        self._fragments = {
            definition.name.value: definition
            for definition in document.definitions
            if isinstance(definition, FragmentDefinitionNode)
        }
        # Keyed by the page size handed in: a fragment on a connection costs more on a bigger page.
        self._priced: dict[tuple[str, int | None], int] = {}
        self._pricing: set[str] = set()
        self.read_variables = False
        """Whether a page size came from a variable: if not, the cost is the document's alone."""

    def operation(self, operation: OperationDefinitionNode) -> int:
        self._defaults = {
            variable.variable.name.value: variable.default_value
            for variable in operation.variable_definitions or ()
            if variable.default_value is not None
        }
        self._priced.clear()
        root = self._schema.get_root_type(operation.operation)
        return self._selection_set(operation.selection_set, root, None)

    def _selection_set(
        self, selection_set: SelectionSetNode, parent: GraphQLNamedType | None, page_size: int | None
    ) -> int:
        cost = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                cost += self._field(selection, parent, page_size)
            elif isinstance(selection, InlineFragmentNode):
                inner = named_type(self._schema, selection.type_condition, parent)
                cost += self._selection_set(selection.selection_set, inner, page_size)
            elif isinstance(selection, FragmentSpreadNode):
                cost += self._spread(selection.name.value, page_size)
        return cost

    def _field(self, node: FieldNode, parent: GraphQLNamedType | None, page_size: int | None) -> int:
        """``page_size`` is the page of the connection this field sits in, if any."""
        definition = field_definition(self._schema, parent, node.name.value)
        if definition is None:
            return 0
        inner = get_named_type(definition.type)
        if node.selection_set is None or not is_composite_type(inner):
            return self._model.scalar_cost
        requested = self._page_size(node, definition)
        levels = _list_levels(definition.type)
        if levels == 0:
            return self._model.object_cost + self._selection_set(node.selection_set, inner, requested)
        if requested is None and page_size is not None:
            requested = page_size
        elif requested is None:
            if parent is None:  # a field was found on it
                raise TypeError(f"no parent type for the list field {node.name.value}")
            requested = self._model.list_size(parent.name, node.name.value)
        length = int(requested**levels)  # a list of lists ([[T]]) multiplies once per level
        return self._model.object_cost + length * self._selection_set(node.selection_set, inner, None)

    def _spread(self, name: str, page_size: int | None) -> int:
        fragment = self._fragments.get(name)
        if fragment is None or name in self._pricing:
            return 0
        key = (name, page_size)
        if key not in self._priced:
            self._pricing.add(name)
            inner = named_type(self._schema, fragment.type_condition, None)
            self._priced[key] = self._selection_set(fragment.selection_set, inner, page_size)
            self._pricing.discard(name)
        return self._priced[key]

    def _page_size(self, node: FieldNode, definition: GraphQLField) -> int | None:
        """The larger of `first`/`last` for a paginated field (default when absent); None if not paginated.

        The default is the schema's, where an argument declares one (a list capped at
        its default), else the connections' default page.
        """
        slicing = [name for name in self._model.slicing_arguments if name in definition.args]
        if not slicing:
            return None
        sizes = [
            size
            for argument in node.arguments or ()
            if argument.name.value in slicing and (size := self._int(argument.value)) is not None
        ]
        if sizes:
            return max(0, *sizes)
        defaults = [size for name in slicing if (size := _default_size(definition.args[name])) is not None]
        return max(defaults) if defaults else self._model.default_page_size

    def _int(self, value: ValueNode) -> int | None:
        if isinstance(value, IntValueNode):
            return int(value.value)
        if isinstance(value, VariableNode):
            self.read_variables = True
            name = value.name.value
            if name in self._variables:
                given = self._variables[name]
                if isinstance(given, float) and given.is_integer():
                    # JSON has one number type: 1e30 (or 10**30 read as a float) is a whole number.
                    return int(given)
                return given if isinstance(given, int) and not isinstance(given, bool) else None
            default = self._defaults.get(name)
            return self._int(default) if default is not None else None
        return None


def _default_size(argument: GraphQLArgument) -> int | None:
    """An integer default the schema declares (a schema built from SDL keeps it in the AST)."""
    default = argument.default_value
    if isinstance(default, int) and not isinstance(default, bool):
        return default
    node = argument.ast_node
    if node is not None and isinstance(node.default_value, IntValueNode):
        return int(node.default_value.value)
    return None


def _list_levels(type_: GraphQLOutputType) -> int:
    levels = 0
    while isinstance(type_, GraphQLNonNull | GraphQLList):
        if isinstance(type_, GraphQLList):
            levels += 1
        type_ = type_.of_type
    return levels


def operation_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
    model: CostModel,
) -> int | None:
    """The cost of the operation that would execute; None when there is no such operation."""
    priced = priced_operation(schema, document, operation_name, variables, model)
    return None if priced is None else priced[0]


def priced_operation(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
    model: CostModel,
) -> tuple[int, bool] | None:
    """The operation's cost and whether it depends on the variables (None: no such operation)."""
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return None
    calculator = CostCalculator(schema, document, variables, model)
    return calculator.operation(operation), calculator.read_variables


def too_costly(cost: int, max_cost: int) -> GraphQLError:
    return limit_error(
        LimitCode.QUERY_TOO_COSTLY,
        f"The operation could cost {in_words(cost)}; at most {max_cost} is allowed. "
        "Ask for smaller pages (`first`/`last`) or fewer nested lists.",
        limit=max_cost,
        requested=cost,
    )


def cost_report(cost: int, max_cost: int) -> dict[str, Any]:
    """What ``extensions.cost`` of a response says."""
    return {"requested": reported(cost), "limit": max_cost}
