"""Completing whole subtrees of a response list by list instead of field by field.

graphql-core completes a response one field at a time: a resolver call, an
``info`` object and a completion step for every field of every row, ~4 µs each.
A list of 100 equipment with their reservations, lines and customers is ~7,000
fields, so that machinery alone costs more than the SQL behind it.

``ProjectingExecutor`` looks at each field's selection before completing it. When
every field below it is either

* a plain attribute (a Strawberry field without a resolver), or
* a field registered with ``@batched``: an async function that answers the field
  for a whole list of parents at once (through the request's tenant-scoped
  dataloaders, as the field's resolver does),

the subtree is completed here in one pass per level: each batched field is one
call for all parents, each leaf goes through its type's own ``serialize``, and
each object becomes a dict in the order graphql-core would produce. Any other
selection (resolvers not registered, interfaces, unions, nested lists of lists)
leaves that field to graphql-core, which then tries again one level down.

Errors keep their meaning: arguments are coerced and validated before anything
is fetched, and a selection whose arguments are invalid is left to the regular
resolvers, which report the error where they always did. A failure while
completing (a null in a non-null field) is reported on the field whose subtree
was being completed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, Protocol, TypeVar

from graphql import (
    GraphQLError,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
)
from graphql.execution import Executor
from graphql.execution.collect_fields import FieldDetailsList
from graphql.execution.values import get_argument_values
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

BatchFetch = Callable[[Any, Sequence[Any], dict[str, Any]], Awaitable[Sequence[Any]]]
"""``(context, parents, arguments) -> one value per parent``, in the parents' order."""

Validate = Callable[[dict[str, Any]], None]
"""Raises ``GraphQLError`` for arguments the field's resolver would refuse."""


@dataclass(frozen=True)
class Batched:
    fetch: BatchFetch
    validate: Validate | None


_BATCHED: dict[tuple[type, str], Batched] = {}

F = TypeVar("F", bound=BatchFetch)


def batched(owner: type, python_name: str, *, validate: Validate | None = None) -> Callable[[F], F]:
    """Register ``fetch`` as the list-at-once form of ``owner.python_name``'s resolver.

    It must return exactly what the resolver returns for each parent, with the
    same scoping: it runs in place of the resolver whenever the field is
    completed here.
    """

    def register(fetch: F) -> F:
        _BATCHED[(owner, python_name)] = Batched(fetch, validate)
        return fetch

    return register


class Shape(Protocol):
    """Completes a list of raw values of one output type."""

    async def complete(self, context: Any, values: list[Any]) -> list[Any]: ...


@dataclass(frozen=True)
class LeafShape:
    serialize: Callable[[Any], Any]

    async def complete(self, context: Any, values: list[Any]) -> list[Any]:
        serialize = self.serialize
        return [None if value is None else serialize(value) for value in values]


@dataclass(frozen=True)
class NonNullShape:
    inner: Shape
    label: str

    async def complete(self, context: Any, values: list[Any]) -> list[Any]:
        completed = await self.inner.complete(context, values)
        if None in completed:
            raise TypeError(f"Cannot return null for non-nullable field {self.label}.")
        return completed


@dataclass(frozen=True)
class ListShape:
    inner: Shape

    async def complete(self, context: Any, values: list[Any]) -> list[Any]:
        items = [item for value in values if value is not None for item in value]
        completed = iter(await self.inner.complete(context, items))
        return [None if value is None else [next(completed) for _ in value] for value in values]


@dataclass(frozen=True)
class FieldPlan:
    key: str
    shape: Shape
    getter: Callable[[Any], Any] | None = None
    batched: Batched | None = None
    arguments: dict[str, Any] | None = None
    typename: str | None = None

    async def raw(self, context: Any, sources: list[Any]) -> list[Any]:
        if self.typename is not None:
            return [self.typename] * len(sources)
        if self.getter is not None:
            getter = self.getter
            return [getter(source) for source in sources]
        assert self.batched is not None and self.arguments is not None
        values = list(await self.batched.fetch(context, sources, self.arguments))
        if len(values) != len(sources):
            raise RuntimeError("A batched field returned a different number of values than parents.")
        return values


@dataclass(frozen=True)
class ObjectShape:
    type_name: str
    fields: list[FieldPlan]

    async def complete(self, context: Any, values: list[Any]) -> list[Any]:
        sources = [value for value in values if value is not None]
        if not sources:
            return [None] * len(values)
        keys = [field.key for field in self.fields]
        columns = [
            await field.shape.complete(context, await field.raw(context, sources)) for field in self.fields
        ]
        objects = iter([dict(zip(keys, row, strict=True)) for row in zip(*columns, strict=True)])
        return [None if value is None else next(objects) for value in values]


_TYPENAME = "__typename"


class _Compiler:
    """Turns one field's selection into a ``Shape``, or ``None`` if it cannot be projected."""

    def __init__(self, executor: Executor[Any]) -> None:
        self.executor = executor

    def shape(self, return_type: GraphQLOutputType, details: FieldDetailsList, label: str) -> Shape | None:
        if is_non_null_type(return_type):
            inner = self.shape(return_type.of_type, details, label)
            return None if inner is None else NonNullShape(inner, label)
        if is_list_type(return_type):
            item_type = return_type.of_type
            bare = item_type.of_type if is_non_null_type(item_type) else item_type
            if is_list_type(bare):
                return None  # lists of lists are rare; graphql-core handles them
            inner = self.shape(item_type, details, label)
            return None if inner is None else ListShape(inner)
        if is_leaf_type(return_type):
            return LeafShape(return_type.serialize)
        if is_object_type(return_type):
            return self.object_shape(return_type, details)
        return None  # interfaces and unions need a runtime type per value

    def object_shape(self, object_type: GraphQLObjectType, details: FieldDetailsList) -> ObjectShape | None:
        executor = self.executor
        grouped, defer_usages, _ = executor.collect_subfields(object_type, details)
        if defer_usages:
            return None
        fields: list[FieldPlan] = []
        for key, field_details in grouped.items():
            node = field_details[0].node
            name = node.name.value
            if name == _TYPENAME:
                fields.append(FieldPlan(key, LeafShape(str), typename=object_type.name))
                continue
            field_def = object_type.fields.get(name)
            definition = field_def.extensions.get("strawberry-definition") if field_def else None
            if field_def is None or definition is None:
                return None
            shape = self.shape(field_def.type, field_details, f"{object_type.name}.{name}")
            if shape is None:
                return None
            if getattr(field_def.resolve, "_is_default", False):
                fields.append(FieldPlan(key, shape, getter=attrgetter(definition.python_name)))
                continue
            registered = _BATCHED.get((definition.origin, definition.python_name))
            if registered is None:
                return None
            try:
                arguments = get_argument_values(
                    field_def,
                    node,
                    executor.variable_values,
                    field_details[0].fragment_variable_values,
                    executor.hide_suggestions,
                )
                if registered.validate is not None:
                    registered.validate(arguments)
            except GraphQLError:
                return None  # the resolver reports it, where it always has
            fields.append(FieldPlan(key, shape, batched=registered, arguments=arguments))
        return ObjectShape(object_type.name, fields)


class ProjectingExecutor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor, completing projectable subtrees in one pass per level."""

    _projections: dict[tuple[int, int], tuple[GraphQLOutputType, FieldDetailsList, Shape | None]]

    def _projection(self, return_type: GraphQLOutputType, details: FieldDetailsList) -> Shape | None:
        try:
            cache = self._projections
        except AttributeError:
            cache = self._projections = {}
        key = (id(return_type), id(details))
        hit = cache.get(key)
        if hit is not None:
            return hit[2]
        named = return_type
        while isinstance(named, GraphQLNonNull | GraphQLList):
            named = named.of_type
        shape = _Compiler(self).shape(return_type, details, "") if is_object_type(named) else None
        # The type and list stay referenced so their ids are not reused during execution.
        cache[key] = (return_type, details, shape)
        return shape

    def complete_value(
        self,
        return_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        info: GraphQLResolveInfo[Any],
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        shape = None if isinstance(result, Exception) else self._projection(return_type, field_details_list)
        if shape is None:
            return super().complete_value(
                return_type, field_details_list, info, path, result, position_context
            )
        return self._complete(shape, result, info)

    async def _complete(self, shape: Shape, result: Any, info: GraphQLResolveInfo[Any]) -> Any:
        if isinstance(shape, NonNullShape):
            # Report a null root like graphql-core does, naming the field.
            shape = NonNullShape(shape.inner, f"{info.parent_type.name}.{info.field_name}")
        (completed,) = await shape.complete(self.context_value, [result])
        return completed
