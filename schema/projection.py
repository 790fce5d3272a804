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

and carries no field extension (``permission_classes`` are one: a permission runs
only in the field's resolver, so a field with one is never completed here),

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

BatchFetch = Callable[[Any, list[Any], dict[str, Any], frozenset[str]], Awaitable[Sequence[Any]]]
"""``(context, keys, arguments, columns) -> one value per key``, in the keys' order.

For an object field each value is a row (or list of rows, or ``None``) holding at
least ``columns``; for a leaf field it is the value itself.
"""

Validate = Callable[[dict[str, Any]], None]
"""Raises ``GraphQLError`` for arguments the field's resolver would refuse."""

Reader = tuple[tuple[str, ...], Callable[[Any], Any]]
"""The columns a field reads, and how it turns a row into the field's value."""


@dataclass(frozen=True)
class Batched:
    fetch: BatchFetch
    validate: Validate | None
    key_of_object: Callable[[Any], Any]
    key_column: str | None


@dataclass(frozen=True)
class RowSource:
    """How a type's plain fields read a row of its table."""

    columns: frozenset[str]
    readers: dict[str, Reader]

    def reader(self, python_name: str) -> Reader | None:
        if python_name in self.readers:
            return self.readers[python_name]
        if python_name in self.columns:
            return (python_name,), attrgetter(python_name)
        return None


_BATCHED: dict[tuple[type, str], Batched] = {}
_ROW_SOURCES: dict[type, RowSource] = {}

F = TypeVar("F", bound=BatchFetch)


def batched(
    owner: type,
    python_name: str,
    *,
    key: Callable[[Any], Any],
    key_column: str | None = None,
    validate: Validate | None = None,
) -> Callable[[F], F]:
    """Register ``fetch`` as the list-at-once form of ``owner.python_name``'s resolver.

    ``fetch`` gets one key per parent: ``key(parent)`` for a parent built by a
    resolver, the parent row's ``key_column`` for a parent read here as a row (no
    ``key_column``: only parents built by resolvers). It must answer what the
    resolver answers, with the same scoping: it runs in place of the resolver
    whenever the field is completed here.
    """

    def register(fetch: F) -> F:
        _BATCHED[(owner, python_name)] = Batched(fetch, validate, key, key_column)
        return fetch

    return register


def row_source(owner: type, model: type[Any], **readers: Reader) -> None:
    """Let ``owner``'s plain fields be read from rows of ``model``'s table.

    A field named like a column reads that column as it is; ``readers`` give the
    others (global ids, enums), as the type's ``from_row`` converts them.
    """
    columns = frozenset(column.name for column in model.__table__.columns)
    _ROW_SOURCES[owner] = RowSource(columns, readers)


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
    key_of: Callable[[Any], Any] | None = None
    arguments: dict[str, Any] | None = None
    columns: frozenset[str] = frozenset()
    typename: str | None = None

    async def raw(self, context: Any, sources: list[Any]) -> list[Any]:
        if self.typename is not None:
            return [self.typename] * len(sources)
        if self.getter is not None:
            getter = self.getter
            return [getter(source) for source in sources]
        assert self.batched is not None and self.key_of is not None and self.arguments is not None
        key_of = self.key_of
        keys = [key_of(source) for source in sources]
        values = list(await self.batched.fetch(context, keys, self.arguments, self.columns))
        if len(values) != len(sources):
            raise RuntimeError("A batched field returned a different number of values than parents.")
        return values


@dataclass(frozen=True)
class ObjectShape:
    type_name: str
    fields: list[FieldPlan]
    columns: frozenset[str]
    """Columns its fields read when its values are rows."""

    async def complete(self, context: Any, values: list[Any]) -> list[Any]:
        # The same row reached many times (the equipment of a thousand lines) is
        # completed once; the response repeats the finished object.
        unique = {id(value): value for value in values if value is not None}
        if not unique:
            return [None] * len(values)
        sources = list(unique.values())
        keys = [field.key for field in self.fields]
        columns = [
            await field.shape.complete(context, await field.raw(context, sources)) for field in self.fields
        ]
        completed = dict(
            zip(
                unique, [dict(zip(keys, row, strict=True)) for row in zip(*columns, strict=True)], strict=True
            )
        )
        return [None if value is None else completed[id(value)] for value in values]


def innermost(shape: Shape) -> Shape:
    while isinstance(shape, NonNullShape | ListShape):
        shape = shape.inner
    return shape


def columns_read(shape: Shape) -> frozenset[str]:
    inner = innermost(shape)
    return inner.columns if isinstance(inner, ObjectShape) else frozenset()


_TYPENAME = "__typename"


class _Compiler:
    """Turns one field's selection into a ``Shape``, or ``None`` if it cannot be projected.

    ``rows``: the values are rows read by a batched field, not objects built by a
    resolver; their type needs a ``row_source`` and their fields read columns.
    """

    def __init__(self, executor: Executor[Any]) -> None:
        self.executor = executor

    def shape(
        self, return_type: GraphQLOutputType, details: FieldDetailsList, label: str, rows: bool
    ) -> Shape | None:
        if is_non_null_type(return_type):
            inner = self.shape(return_type.of_type, details, label, rows)
            return None if inner is None else NonNullShape(inner, label)
        if is_list_type(return_type):
            item_type = return_type.of_type
            bare = item_type.of_type if is_non_null_type(item_type) else item_type
            if is_list_type(bare):
                return None  # lists of lists are rare; graphql-core handles them
            inner = self.shape(item_type, details, label, rows)
            return None if inner is None else ListShape(inner)
        if is_leaf_type(return_type):
            return LeafShape(return_type.serialize)
        if is_object_type(return_type):
            return self.object_shape(return_type, details, rows)
        return None  # interfaces and unions need a runtime type per value

    def object_shape(
        self, object_type: GraphQLObjectType, details: FieldDetailsList, rows: bool
    ) -> ObjectShape | None:
        executor = self.executor
        source: RowSource | None = None
        if rows:
            type_definition = object_type.extensions.get("strawberry-definition")
            source = _ROW_SOURCES.get(getattr(type_definition, "origin", None))  # type: ignore[arg-type]
            if source is None:
                return None
        grouped, defer_usages, _ = executor.collect_subfields(object_type, details)
        if defer_usages:
            return None
        fields: list[FieldPlan] = []
        columns: set[str] = set()
        for key, field_details in grouped.items():
            node = field_details[0].node
            name = node.name.value
            if name == _TYPENAME:
                fields.append(FieldPlan(key, LeafShape(str), typename=object_type.name))
                continue
            field_def = object_type.fields.get(name)
            definition = field_def.extensions.get("strawberry-definition") if field_def else None
            if field_def is None or definition is None or definition.extensions:
                # Field extensions (permissions among them) run in the field's resolver:
                # a field that has any is always left to it.
                return None
            label = f"{object_type.name}.{name}"
            if getattr(field_def.resolve, "_is_default", False):
                # A plain attribute: of a resolver-built object, or a column of a row.
                shape = self.shape(field_def.type, field_details, label, rows=False)
                if shape is None:
                    return None
                if source is None:
                    fields.append(FieldPlan(key, shape, getter=attrgetter(definition.python_name)))
                    continue
                reader = source.reader(definition.python_name)
                if reader is None or not isinstance(innermost(shape), LeafShape):
                    return None  # rows carry columns, not objects
                columns.update(reader[0])
                fields.append(FieldPlan(key, shape, getter=reader[1]))
                continue
            registered = _BATCHED.get((definition.origin, definition.python_name))
            if registered is None or (rows and registered.key_column is None):
                return None
            shape = self.shape(field_def.type, field_details, label, rows=True)
            if shape is None:
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
            key_of: Callable[[Any], Any]
            if rows:
                assert registered.key_column is not None
                columns.add(registered.key_column)
                key_of = attrgetter(registered.key_column)
            else:
                key_of = registered.key_of_object
            fields.append(
                FieldPlan(
                    key,
                    shape,
                    batched=registered,
                    key_of=key_of,
                    arguments=arguments,
                    columns=columns_read(shape),
                )
            )
        return ObjectShape(object_type.name, fields, frozenset(columns))


ShapeKey = tuple[int, tuple[int, ...]]
"""A field's return type and the nodes of its selection, by identity."""

Shapes = dict[ShapeKey, Shape | None]
"""Compiled shapes of one document under one set of variables (``schema/pipeline.py``).

A shape depends only on the document, the variables and the schema (never on the
caller), so requests repeating the document with the same variables share them;
the document they key into lives as long as the cache.
"""


class ProjectingExecutor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor, completing projectable subtrees in one pass per level."""

    def __init__(self, *args: Any, shapes: Shapes | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._shapes: Shapes = {} if shapes is None else shapes

    def _projection(self, return_type: GraphQLOutputType, details: FieldDetailsList) -> Shape | None:
        key = (id(return_type), tuple(id(detail.node) for detail in details))
        try:
            return self._shapes[key]
        except KeyError:
            pass
        named = return_type
        while isinstance(named, GraphQLNonNull | GraphQLList):
            named = named.of_type
        shape = _Compiler(self).shape(return_type, details, "", rows=False) if is_object_type(named) else None
        if all(detail.fragment_variable_values is None for detail in details):
            # Fragment arguments would make one node's shape differ between its spreads.
            self._shapes[key] = shape
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


def distinct(keys: Sequence[Any]) -> list[Any]:
    """The keys to fetch: each once, without ``None``."""
    return [key for key in dict.fromkeys(keys) if key is not None]


def pick(rows: Sequence[Any], keys: Sequence[Any], column: str = "id") -> list[Any]:
    """The row whose ``column`` is each key (``None`` for a ``None`` or unknown key)."""
    found = {getattr(row, column): row for row in rows}
    return [found.get(key) if key is not None else None for key in keys]


def group(rows: Sequence[Any], keys: Sequence[Any], column: str) -> list[list[Any]]:
    """The rows whose ``column`` is each key, in the rows' order."""
    groups: dict[Any, list[Any]] = {key: [] for key in keys}
    for row in rows:
        groups[getattr(row, column)].append(row)
    return [groups[key] for key in keys]
