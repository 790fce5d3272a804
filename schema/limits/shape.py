"""What a document asks for, counted the way it executes: through fragments, once per spread.

Counting the text instead lets one fragment with 30 aliases, spread 30 times, pass
an alias limit of 30 (CVE-2026-47707). Each fragment is measured once and the result
reused, so a document whose fragments spread each other exponentially is still
measured in linear time. The walk runs before validation, on any document that
parses: unknown fragments and cycles count as nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
    is_introspection_type,
)

from schema.limits.fields import field_definition, named_type

_INTROSPECTION_ROOTS = frozenset({"__schema", "__type"})


@dataclass(frozen=True)
class Shape:
    # Levels below the top-level fields (which are at 0); -1 when there are no such fields.
    depth: int = -1
    # The same for fields of the introspection schema (`__schema`, `__type` and below).
    introspection_depth: int = -1
    aliases: int = 0
    directives: int = 0
    sensitive_fields: int = 0
    # Field selections, each fragment spread's again (`__typename` counts too).
    fields: int = 0

    def beside(self, other: Shape) -> Shape:
        """Two parts of one selection set: the deeper one counts, the counts add up."""
        return Shape(
            depth=max(self.depth, other.depth),
            introspection_depth=max(self.introspection_depth, other.introspection_depth),
            aliases=self.aliases + other.aliases,
            directives=self.directives + other.directives,
            sensitive_fields=self.sensitive_fields + other.sensitive_fields,
            fields=self.fields + other.fields,
        )

    def one_level_down(self) -> Shape:
        return replace(
            self,
            depth=self.depth + 1 if self.depth >= 0 else -1,
            introspection_depth=self.introspection_depth + 1 if self.introspection_depth >= 0 else -1,
        )


EMPTY = Shape()


class ShapeCounter:
    """Measures the operations of one document against one schema."""

    def __init__(
        self, schema: GraphQLSchema, document: DocumentNode, sensitive_fields: frozenset[str]
    ) -> None:
        self._schema = schema
        self._sensitive_fields = sensitive_fields
        self._fragments = {
            definition.name.value: definition
            for definition in document.definitions
            if isinstance(definition, FragmentDefinitionNode)
        }
        self._measured: dict[str, Shape] = {}
        for name in _spread_order(self._fragments):
            self._measured[name] = self._fragment(self._fragments[name])

    def operation(self, operation: OperationDefinitionNode) -> Shape:
        directives = len(operation.directives or ()) + sum(
            len(variable.directives or ()) for variable in operation.variable_definitions or ()
        )
        root = self._schema.get_root_type(operation.operation)
        return self._selection_set(operation.selection_set, root).beside(Shape(directives=directives))

    def _selection_set(self, selection_set: SelectionSetNode, parent: GraphQLNamedType | None) -> Shape:
        shape = EMPTY
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                shape = shape.beside(self._field(selection, parent))
            elif isinstance(selection, InlineFragmentNode):
                inner = named_type(self._schema, selection.type_condition, parent)
                shape = shape.beside(self._selection_set(selection.selection_set, inner))
                shape = shape.beside(Shape(directives=len(selection.directives or ())))
            elif isinstance(selection, FragmentSpreadNode):
                shape = shape.beside(self._spread(selection))
        return shape

    def _field(self, node: FieldNode, parent: GraphQLNamedType | None) -> Shape:
        name = node.name.value
        # Decided by the schema type, never by a (client-chosen) response name.
        introspective = name in _INTROSPECTION_ROOTS or (parent is not None and is_introspection_type(parent))
        sensitive = (
            parent is not None and parent is self._schema.mutation_type and name in self._sensitive_fields
        )
        shape = Shape(
            depth=-1 if introspective else 0,
            introspection_depth=0 if introspective else -1,
            aliases=1 if node.alias is not None else 0,
            directives=len(node.directives or ()),
            sensitive_fields=1 if sensitive else 0,
            fields=1,
        )
        if node.selection_set is None:
            return shape
        definition = field_definition(self._schema, parent, name)
        inner = get_named_type(definition.type) if definition is not None else None
        return shape.beside(self._selection_set(node.selection_set, inner).one_level_down())

    def _spread(self, node: FragmentSpreadNode) -> Shape:
        spread = Shape(directives=len(node.directives or ()))
        # Fragments are measured before anything spreads them; one missing here is unknown
        # or closes a cycle, which graphql-core's own rules report.
        measured = self._measured.get(node.name.value)
        return spread if measured is None else spread.beside(measured)

    def _fragment(self, fragment: FragmentDefinitionNode) -> Shape:
        inner = named_type(self._schema, fragment.type_condition, None)
        return self._selection_set(fragment.selection_set, inner).beside(
            Shape(directives=len(fragment.directives or ()))
        )


def _spread_order(fragments: dict[str, FragmentDefinitionNode]) -> list[str]:
    """The fragments, each after those it spreads (a spread closing a cycle aside).

    Found without recursion, so that measuring a fragment never recurses into another:
    a chain of fragments spread into each other is as long as the token limit allows,
    longer than Python's stack.
    """
    spreads = {name: _spreads_in(fragment.selection_set) for name, fragment in fragments.items()}
    order: list[str] = []
    done: set[str] = set()
    for root in fragments:
        if root in done:
            continue
        path = [(root, iter(spreads[root]))]
        on_path = {root}
        while path:
            name, pending = path[-1]
            for child in pending:
                if child in spreads and child not in done and child not in on_path:
                    path.append((child, iter(spreads[child])))
                    on_path.add(child)
                    break
            else:
                path.pop()
                on_path.discard(name)
                done.add(name)
                order.append(name)
    return order


def _spreads_in(selection_set: SelectionSetNode) -> list[str]:
    names = []
    stack = [selection_set]
    while stack:
        for selection in stack.pop().selections:
            if isinstance(selection, FragmentSpreadNode):
                names.append(selection.name.value)
            elif isinstance(selection, FieldNode | InlineFragmentNode) and selection.selection_set:
                stack.append(selection.selection_set)
    return names
