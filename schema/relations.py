"""Relations declared once: the field's resolver and its list-at-once form come from one declaration.

A relation is a field whose value is read by a key held in the parent's ``row``
(a table row, or the record a value type such as ``Shortage`` shows)::

    @strawberry.field(description="The items booked, in the order given.")
    @relation(key="id", fetch=LINES_OF_RESERVATIONS)
    async def lines(self, info: Info) -> list[ReservationLine]: ...

``fetch(loaders, keys, arguments, columns)`` answers the relation for many
parents at once (``schema/fetches.py`` has the shared ones). The decorator
replaces the stub's body: the resolver reads ``getattr(self.row, key)``, loads it
through the request's loader of ``fetch`` (each tick's keys in one call, with
every column) and converts what comes back with the target type's ``from_row``.
``schema/projection.py`` finds the same declaration on the field's resolver and
calls the same ``fetch`` for a whole list of parents, with only the columns the
selection reads, keyed by the same column of each parent's row.

The stub's parameters after ``info`` are the field's arguments, as for any
resolver; ``validate`` refuses bad ones (raising ``GraphQLError``) before
anything is read, on both paths.

``@from_parent`` marks the other kind of field both paths can share: one
computed from the parent object alone, which the projection may call as the
resolver would be called.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from strawberry.types.base import StrawberryList, StrawberryOptional
from strawberry.types.lazy_type import LazyType

from resolvers.loaders import Fetch
from schema.context import Info

Validate = Callable[[Mapping[str, Any]], None]
"""Raises ``GraphQLError`` for arguments (by Python name) the field refuses."""

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])
C = TypeVar("C", bound=Callable[..., Any])


@dataclass(eq=False)
class Relation:
    """One relation: the parent row's key column, how to fetch by it, and its arguments."""

    name: str
    key: str
    fetch: Fetch
    validate: Validate | None
    defaults: dict[str, Any]
    """The stub's argument defaults, for arguments a query leaves out."""
    _convert: Callable[[Any], Any] | None = field(default=None, repr=False)

    def arguments(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """The arguments ``fetch`` gets: the given ones over the stub's defaults, checked."""
        arguments = {**self.defaults, **given}
        if self.validate is not None:
            self.validate(arguments)
        return arguments

    def converter(self, info: Info) -> Callable[[Any], Any]:
        """Turns fetched values into the field's objects; found from the field's type once."""
        convert = self._convert
        if convert is None:
            convert = self._convert = _converter(info.return_type)
        return convert


def _same(value: Any) -> Any:
    return value


def _converter(field_type: object) -> Callable[[Any], Any]:
    if isinstance(field_type, LazyType):
        field_type = field_type.resolve_type()
    if isinstance(field_type, StrawberryOptional):
        return _converter(field_type.of_type)
    if isinstance(field_type, StrawberryList):
        item = _converter(field_type.of_type)
        return lambda values: None if values is None else [item(value) for value in values]
    if not callable(getattr(field_type, "from_row", None)):
        return _same  # a leaf: the fetched value is the answer
    target: Any = field_type
    return lambda row: None if row is None else target.from_row(row)


def relation(*, key: str, fetch: Fetch, validate: Validate | None = None) -> Callable[[F], F]:
    """Declare the decorated stub as the relation read by ``fetch`` with ``self.row.<key>``."""

    def declare(stub: F) -> F:
        parameters = list(inspect.signature(stub).parameters.values())
        if [parameter.name for parameter in parameters[:2]] != ["self", "info"]:
            raise TypeError(f"{stub.__qualname__}: a relation's stub takes (self, info, *arguments).")
        defaults = {
            parameter.name: parameter.default
            for parameter in parameters[2:]
            if parameter.default is not inspect.Parameter.empty
        }
        declared = Relation(stub.__qualname__, key, fetch, validate, defaults)

        # ``wraps`` keeps the stub's name, module, annotations and (through ``__wrapped__``)
        # signature: Strawberry reads the field's arguments and type from the stub.
        @functools.wraps(stub)
        async def resolve(self: Any, info: Info, **given: Any) -> Any:
            arguments = declared.arguments(given)
            value = getattr(self.row, key)
            if value is None:
                return None
            loaded = await info.context.loaders.for_fetch(fetch, arguments).load(value)
            return declared.converter(info)(loaded)

        resolve.__relation__ = declared  # type: ignore[attr-defined]
        return cast(F, resolve)

    return declare


def relation_of(resolver: object) -> Relation | None:
    """The relation declared on a field's resolver function, if any."""
    declared = getattr(resolver, "__relation__", None)
    return declared if isinstance(declared, Relation) else None


def from_parent(resolver: C) -> C:
    """Mark a resolver taking only ``self`` whose value depends on the parent object alone.

    The projection then calls it for each parent object, as graphql-core would; it
    must not raise for expected conditions (an error there is reported on the field
    whose subtree is being completed, not on this one).
    """
    if list(inspect.signature(resolver).parameters) != ["self"]:
        raise TypeError(f"{resolver.__qualname__}: @from_parent resolvers take only self.")
    resolver.__from_parent__ = True  # type: ignore[attr-defined]
    return resolver


def is_from_parent(resolver: object) -> bool:
    return getattr(resolver, "__from_parent__", False) is True
