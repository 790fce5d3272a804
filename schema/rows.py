"""One converter per type: how a row of a table becomes a GraphQL type's plain fields.

A row-backed type declares, once, how each of its plain (resolver-less) fields
reads a row::

    @row_type(EquipmentRow, tracking=Tracking, status=EquipmentStatus)
    @strawberry.type(description="...")
    class Equipment(FromRow[EquipmentRow], Node):
        name: str = strawberry.field(description="...")
        ...
        row: strawberry.Private[EquipmentRow]

A field named like a column reads that column as it is; ``name=f`` reads the
column ``name`` through ``f`` (an enum, say); ``name=Reader(columns, read)``
reads several columns; ``id`` of a ``Node`` is the global id of the row's ``id``.
That table is the only description of the conversion: ``Equipment.from_row``
builds an object with it (every resolver's path), and ``schema/projection.py``
reads the same columns through the same functions when it completes rows list
at once. The object keeps its row in ``row``, where its relations find their keys.

Registering checks, at import, that every plain field has a reader, that every
reader names a plain field and reads real columns, and that every relation
(``schema/relations.py``) is keyed by a real column: a field added to one side
only, or a misspelt name, fails before the schema is built.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import EnumMeta
from operator import attrgetter
from typing import Any, Generic, Self, TypeVar

from strawberry.types.field import StrawberryField
from strawberry.types.private import is_private

from schema.node import Node, to_global_id
from schema.relations import relation_of

RowT = TypeVar("RowT")
T = TypeVar("T")


@dataclass(frozen=True)
class Reader:
    """The columns a field reads, and how it turns a row into the field's value."""

    columns: tuple[str, ...]
    read: Callable[[Any], Any]
    as_is: bool = False
    """It reads its one column unchanged."""


def _column(name: str) -> Reader:
    return Reader((name,), attrgetter(name), as_is=True)


def _through(convert: Callable[[Any], Any], column: str) -> Reader:
    get = attrgetter(column)
    if isinstance(convert, EnumMeta):
        return Reader((column,), _enum_reader(convert, get))
    return Reader((column,), lambda row: convert(get(row)))


def _enum_reader(members: EnumMeta, get: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``members(value)`` of the column's value: the lookup it starts with, without the call.

    Calling an enum costs several times the dictionary lookup that answers it for
    any value that is a member's; any other value is still the enum's to convert or refuse.
    """
    by_value = members._value2member_map_

    def read(row: Any) -> Any:
        value = get(row)
        try:
            return by_value[value]
        except (KeyError, TypeError):
            return members(value)

    return read


def _global_id(type_name: str) -> Reader:
    return Reader(("id",), lambda row: to_global_id(type_name, row.id))


@dataclass(frozen=True)
class RowSource:
    """How a type's plain fields read a row of its table."""

    model: type[Any]
    readers: dict[str, Reader]

    def reader(self, python_name: str) -> Reader | None:
        return self.readers.get(python_name)


def _compiled_from_row(cls: type[Any], readers: dict[str, Reader]) -> Callable[[Any], Any]:
    """``from_row`` for ``cls``, written out as by hand: ``cls(row=row, name=row.name, status=read_status(row))``.

    Compiled once per type, as ``dataclasses`` compiles ``__init__``: building the
    keyword arguments in a loop instead costs half as much again per object, on
    every list a resolver builds. The names are the type's own field names.
    """
    namespace: dict[str, Any] = {"cls": cls}
    arguments = ["row=row"]
    for name, reader in readers.items():
        if reader.as_is:
            arguments.append(f"{name}=row.{reader.columns[0]}")
        else:
            namespace[f"read_{name}"] = reader.read
            arguments.append(f"{name}=read_{name}(row)")
    exec(f"def from_row(row):\n    return cls({', '.join(arguments)})\n", namespace)
    from_row: Callable[[Any], Any] = namespace["from_row"]
    return from_row


class FromRow(Generic[RowT]):
    """Base of row-backed types: ``@row_type`` gives each its ``from_row``."""

    __row_source__: RowSource

    @classmethod
    def from_row(cls, row: RowT) -> Self:
        """The object showing ``row``, its plain fields read by the type's readers."""
        raise TypeError(f"{cls.__name__} has no readers: register it with @row_type.")


def row_source_of(cls: Any) -> RowSource | None:
    """The row source of a type registered with ``@row_type``, if it is one."""
    source = getattr(cls, "__row_source__", None)
    return source if isinstance(source, RowSource) else None


def _is_private(field: StrawberryField) -> bool:
    if field.base_resolver is not None:
        return False
    try:
        return is_private(field.type)
    except NameError:
        return False  # a type defined further down: not ``Private``, which is imported


def columns_of(model: type[Any]) -> frozenset[str]:
    return frozenset(column.name for column in model.__table__.columns)


def row_type(model: type[Any], /, **readers: Reader | Callable[[Any], Any]) -> Callable[[type[T]], type[T]]:
    """Register a Strawberry type (decorated below this) as built from rows of ``model``'s table."""

    def register(cls: type[T]) -> type[T]:
        definition = getattr(cls, "__strawberry_definition__", None)
        if definition is None or not issubclass(cls, FromRow):
            raise TypeError(f"@row_type goes above @strawberry.type, on a FromRow type: {cls.__name__}")
        if "from_row" in vars(cls) and "__row_source__" not in vars(cls):
            # A second description of the conversion, which one path could follow and not the other
            # (a type registered before carries the from_row its readers made: it may be again).
            raise TypeError(
                f"{cls.__name__} defines its own from_row: its @row_type readers are the conversion."
            )
        columns = columns_of(model)
        table = model.__tablename__
        private = {field.python_name for field in definition.fields if _is_private(field)}
        if "row" not in private:
            raise TypeError(f"{cls.__name__} keeps no row: it needs `row: strawberry.Private[...]`.")
        fields = [field for field in definition.fields if field.python_name not in private]
        plain = {field.python_name for field in fields if field.base_resolver is None}
        if unknown := sorted(readers.keys() - plain):
            raise TypeError(f"{cls.__name__}: readers for {unknown}, which are not plain fields of the type.")
        table_readers: dict[str, Reader] = {}
        for field in fields:
            name = field.python_name
            if field.base_resolver is not None:
                declared = relation_of(field.base_resolver.wrapped_func)
                if declared is not None and declared.key not in columns:
                    raise TypeError(
                        f"{cls.__name__}.{name} is keyed by {declared.key!r}, which is not a column of {table}."
                    )
                continue
            given = readers.get(name)
            if isinstance(given, Reader):
                reader = given
            elif given is not None:
                reader = _through(given, name)
            elif name == "id" and issubclass(cls, Node):
                reader = _global_id(definition.name)
            elif name in columns:
                reader = _column(name)
            else:
                raise TypeError(f"{cls.__name__}.{name} has no reader and {table} has no column {name!r}.")
            if missing := set(reader.columns) - columns:
                raise TypeError(f"{cls.__name__}.{name} reads {sorted(missing)}, not columns of {table}.")
            table_readers[name] = reader
        cls.__row_source__ = RowSource(model, table_readers)
        cls.from_row = staticmethod(_compiled_from_row(cls, table_readers))  # type: ignore[method-assign,assignment]
        return cls

    return register
