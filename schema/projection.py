"""Completing whole subtrees of a response list by list instead of field by field.

graphql-core completes a response one field at a time: a resolver call, an
``info`` object and a completion step for every field of every row, ~4 µs each.
A list of 100 equipment with their reservations, lines and customers is ~7,000
fields, so that machinery alone costs more than the SQL behind it.

``ProjectingExecutor`` looks at each field's selection before completing it. When
every field below it is either

* a plain attribute (a Strawberry field without a resolver): of an object a
  resolver built, or read from a row through its type's ``@row_type`` readers
  (``schema/rows.py``, the same readers its ``from_row`` uses),
* a relation (``schema/relations.py``): the same ``fetch`` its resolver loads
  through, called once for all parents, keyed by the same column of each
  parent's row, or
* a ``@from_parent`` field of an object a resolver built,

and carries no field extension (``permission_classes`` are one: a permission runs
only in the field's resolver, so a field with one is never completed here),

the subtree is completed here in one pass per level: each relation is one fetch
for all parents, each leaf goes through its type's own ``serialize`` (strings,
ids, booleans, 32-bit ints and enum members take what it returns for them
without the call), and each object becomes a dict in the order graphql-core
would produce. Any other selection (other resolvers, interfaces, unions, nested
lists of lists) leaves that field to graphql-core, which then tries again one
level down.

Errors keep their meaning: arguments are coerced and validated before anything
is fetched, and a selection whose arguments are invalid is left to the regular
resolvers, which report the error where they always did. A failure while
completing (a null in a non-null field) is reported on the field whose subtree
was being completed.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from itertools import islice
from operator import attrgetter
from typing import Any, Protocol

from graphql import (
    GRAPHQL_MAX_INT,
    GRAPHQL_MIN_INT,
    GraphQLEnumType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLScalarType,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
)
from graphql.execution import Executor
from graphql.execution.collect_fields import FieldDetailsList
from graphql.execution.values import get_argument_values
from graphql.pyutils import Path
from graphql.type.scalars import serialize_boolean, serialize_id, serialize_int, serialize_string
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types.arguments import convert_arguments

from db.caches import bounded
from resolvers.loaders import Fetch
from schema.relations import is_from_parent, relation_of
from schema.rows import RowSource, row_source_of


class Shape(Protocol):
    """Completes a list of raw values of one output type."""

    async def complete(self, context: Any, values: list[Any]) -> list[Any]: ...


@dataclass(frozen=True)
class LeafShape:
    serialize: Callable[[Any], Any]

    async def complete(self, context: Any, values: list[Any]) -> list[Any]:
        serialize = self.serialize
        return [None if value is None else serialize(value) for value in values]


# The leaf types of nearly every field answer most values without a call to their
# ``serialize``, with what that call would return; any other value still goes to it.


@dataclass(frozen=True)
class UnchangedLeafShape(LeafShape):
    """String, ID and Boolean: ``serialize`` returns a value of exactly ``kind`` as it is."""

    kind: type

    async def complete(self, context: Any, values: list[Any]) -> list[Any]:
        serialize, kind = self.serialize, self.kind
        return [
            value if type(value) is kind else None if value is None else serialize(value) for value in values
        ]


@dataclass(frozen=True)
class IntLeafShape(LeafShape):
    """Int: ``serialize`` returns an ``int`` within 32 bits as it is."""

    async def complete(self, context: Any, values: list[Any]) -> list[Any]:
        serialize = self.serialize
        return [
            value
            if type(value) is int and GRAPHQL_MIN_INT <= value <= GRAPHQL_MAX_INT
            else None
            if value is None
            else serialize(value)
            for value in values
        ]


@dataclass(frozen=True)
class EnumLeafShape(LeafShape):
    """An enum: each member's name, as ``serialize`` gave it once (Strawberry's searches the values)."""

    members: type
    names: Mapping[Any, Any]

    async def complete(self, context: Any, values: list[Any]) -> list[Any]:
        serialize, members, names = self.serialize, self.members, self.names
        return [
            names[value] if type(value) is members else None if value is None else serialize(value)
            for value in values
        ]


def leaf_shape(leaf_type: GraphQLScalarType | GraphQLEnumType) -> LeafShape:
    serialize = leaf_type.serialize
    if serialize is serialize_string or serialize is serialize_id:
        return UnchangedLeafShape(serialize, str)
    if serialize is serialize_boolean:
        return UnchangedLeafShape(serialize, bool)
    if serialize is serialize_int:
        return IntLeafShape(serialize)
    members = getattr(leaf_type, "wrapped_cls", None)  # Strawberry's enums
    if isinstance(leaf_type, GraphQLEnumType) and isinstance(members, type) and issubclass(members, Enum):
        try:
            names = {member: serialize(member) for member in members}
        except Exception:
            return LeafShape(serialize)  # a member it refuses: refused where it is met, as ever
        return EnumLeafShape(serialize, members, names)
    return LeafShape(serialize)


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
        return [None if value is None else list(islice(completed, len(value))) for value in values]


class Values(Protocol):
    """Where a field's raw values come from, for a list of parents at once."""

    async def raw(self, context: Any, sources: list[Any]) -> list[Any]: ...


@dataclass(frozen=True)
class Typename:
    name: str

    async def raw(self, context: Any, sources: list[Any]) -> list[Any]:
        return [self.name] * len(sources)


@dataclass(frozen=True)
class Read:
    """A plain attribute of objects, a column of rows (its reader), or a sync ``@from_parent`` field."""

    read: Callable[[Any], Any]

    async def raw(self, context: Any, sources: list[Any]) -> list[Any]:
        return list(map(self.read, sources))


@dataclass(frozen=True)
class Awaited:
    """An async ``@from_parent`` field, awaited parent by parent as graphql-core would."""

    resolve: Callable[[Any], Awaitable[Any]]

    async def raw(self, context: Any, sources: list[Any]) -> list[Any]:
        return [await self.resolve(source) for source in sources]


@dataclass(frozen=True)
class Related:
    """A relation: one ``fetch`` for every parent's key (and those of sibling lists in the same tick)."""

    fetch: Fetch
    key_of: Callable[[Any], Any]
    arguments: Mapping[str, Any]
    columns: frozenset[str]

    async def raw(self, context: Any, sources: list[Any]) -> list[Any]:
        keys = list(map(self.key_of, sources))
        values: list[Any] = await context.loaders.for_lists(self.fetch, self.arguments, self.columns).values(
            keys
        )
        if len(values) != len(sources):
            raise RuntimeError("A relation's fetch returned a different number of values than parents.")
        return values


@dataclass(frozen=True)
class FieldPlan:
    key: str
    shape: Shape
    values: Values

    async def raw(self, context: Any, sources: list[Any]) -> list[Any]:
        return await self.values.raw(context, sources)


# Builders kept, one per tuple of response keys (documents repeat the same ones widely),
# and only for keys short enough that the kept ones stay small whatever clients send.
BUILDERS_KEPT = 2048
LONGEST_KEPT_KEYS = 512


def _object_builder(keys: tuple[str, ...]) -> Callable[..., dict[str, Any]]:
    if sum(map(len, keys)) > LONGEST_KEPT_KEYS:
        return _written_builder(keys)
    return _kept_builder(keys)


def _written_builder(keys: tuple[str, ...]) -> Callable[..., dict[str, Any]]:
    """A function taking one value per key and returning the response object, as a dict display.

    Written out once per shape, as ``schema/rows.py`` writes ``from_row``: mapped over
    the columns of a level it builds each object four to five times faster than
    ``dict(zip(keys, values))``, and a large nested list is thousands of objects.
    Keys are response names (GraphQL names or aliases); ``repr`` quotes them.
    """
    parameters = [f"v{index}" for index in range(len(keys))]
    items = ", ".join(f"{key!r}: {parameter}" for key, parameter in zip(keys, parameters, strict=True))
    namespace: dict[str, Any] = {}
    exec(f"def build({', '.join(parameters)}):\n    return {{{items}}}\n", namespace)
    build: Callable[..., dict[str, Any]] = namespace["build"]
    return build


_kept_builder = bounded(maxsize=BUILDERS_KEPT)(_written_builder)


@dataclass(frozen=True)
class ObjectShape:
    type_name: str
    fields: list[FieldPlan]
    columns: frozenset[str]
    """Columns its fields read when its values are rows."""
    build: Callable[..., dict[str, Any]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "build", _object_builder(tuple(plan.key for plan in self.fields)))

    async def complete(self, context: Any, values: list[Any]) -> list[Any]:
        # The same row reached many times (the equipment of a thousand lines) is
        # completed once; the response repeats the finished object.
        unique = {id(value): value for value in values if value is not None}
        if not unique:
            return [None] * len(values)
        sources = list(unique.values())
        columns = [
            await plan.shape.complete(context, await plan.raw(context, sources)) for plan in self.fields
        ]
        if any(len(column) != len(sources) for column in columns):
            raise RuntimeError(
                f"A field of {self.type_name} completed a different number of values than objects."
            )
        # No columns when every field is skipped (``@skip``/``@include``): empty objects.
        built = list(map(self.build, *columns)) if columns else [{} for _ in sources]
        if len(sources) == len(values):
            return built  # no null, no repeat: the sources are the values, in their order
        completed = dict(zip(unique, built, strict=True))
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

    ``rows``: the values are rows read by a relation's fetch, not objects built by a
    resolver; their type needs a ``@row_type`` and their fields read columns.
    """

    def __init__(self, executor: Executor[Any]) -> None:
        self.executor = executor
        strawberry_schema = executor.schema._strawberry_schema  # type: ignore[attr-defined]
        # What Strawberry converts a resolver's arguments with: relations get the same values.
        self.config = strawberry_schema.config
        self.scalar_registry = strawberry_schema.schema_converter.scalar_registry

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
            return leaf_shape(return_type)
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
            source = row_source_of(getattr(type_definition, "origin", None))
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
                fields.append(FieldPlan(key, LeafShape(str), Typename(object_type.name)))
                continue
            field_def = object_type.fields.get(name)
            definition = field_def.extensions.get("strawberry-definition") if field_def else None
            if field_def is None or definition is None or definition.extensions:
                # Field extensions (permissions among them) run in the field's resolver:
                # a field that has any is always left to it.
                return None
            label = f"{object_type.name}.{name}"
            resolver = definition.base_resolver
            if resolver is None:
                # A plain attribute: of a resolver-built object, or a column of a row.
                shape = self.shape(field_def.type, field_details, label, rows=False)
                if shape is None:
                    return None
                if source is None:
                    fields.append(FieldPlan(key, shape, Read(attrgetter(definition.python_name))))
                    continue
                reader = source.reader(definition.python_name)
                if reader is None or not isinstance(innermost(shape), LeafShape):
                    return None  # rows carry columns, not objects
                columns.update(reader.columns)
                fields.append(FieldPlan(key, shape, Read(reader.read)))
                continue
            function = resolver.wrapped_func
            if is_from_parent(function):
                shape = None if rows else self.shape(field_def.type, field_details, label, rows=False)
                if shape is None:
                    return None  # computed from an object; a row is not one
                computed = Awaited(function) if inspect.iscoroutinefunction(function) else Read(function)
                fields.append(FieldPlan(key, shape, computed))
                continue
            declared = relation_of(function)
            if declared is None:
                return None
            shape = self.shape(field_def.type, field_details, label, rows=True)
            if shape is None:
                return None
            try:
                given = get_argument_values(
                    field_def,
                    node,
                    executor.variable_values,
                    field_details[0].fragment_variable_values,
                    executor.hide_suggestions,
                )
                arguments = declared.arguments(
                    convert_arguments(
                        given, definition.arguments, scalar_registry=self.scalar_registry, config=self.config
                    )
                )
            except Exception:
                # Invalid arguments: the resolver converts them again and reports the
                # error where it always has.
                return None
            if rows:
                columns.add(declared.key)
                key_of = attrgetter(declared.key)
            else:
                key_of = attrgetter(f"row.{declared.key}")
            fields.append(
                FieldPlan(key, shape, Related(declared.fetch, key_of, arguments, columns_read(shape)))
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
