"""The batch reads relations are declared with (``schema/relations.py``).

Each is a ``Fetch``: ``(loaders, keys, arguments, columns) -> one value per key``.
They read through the request's tenant-scoped loaders (``resolvers/loaders.py``),
where scoping and visibility live, so a relation shows exactly what its loader
shows whichever path completes it. Relations that read the same rows share one
fetch, and so one loader per request: a reservation's customer and its creator
are users read in one statement.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from aiodataloader import DataLoader

from resolvers.list_caps import MAX_DESIGN_SHARES_LISTED, MAX_DESIGN_VERSIONS_LISTED
from resolvers.loaders import Loaders, group_by_equipment

Read = Callable[[Loaders, Sequence[Any], Collection[str] | None], Awaitable[Sequence[Any]]]
"""``(loaders, distinct keys, columns) -> rows``: a loader's row read, rows in any order."""


def distinct(keys: Sequence[Any]) -> list[Any]:
    """The keys to read: each once, without ``None``."""
    return [key for key in dict.fromkeys(keys) if key is not None]


def pick(rows: Sequence[Any], keys: Sequence[Any], column: str = "id") -> list[Any]:
    """The row whose ``column`` is each key (``None`` for a ``None`` or unknown key)."""
    # Built and read with map/zip in C: this runs over every key of a nested list.
    found = dict(zip(map(attrgetter(column), rows), rows, strict=True))
    found.pop(None, None)
    return list(map(found.get, keys))


def group(rows: Sequence[Any], keys: Sequence[Any], column: str) -> list[list[Any] | None]:
    """The rows whose ``column`` is each key, in the rows' order (``None`` for a ``None`` key)."""
    groups: dict[Any, list[Any]] = {key: [] for key in keys if key is not None}
    for row in rows:
        groups[getattr(row, column)].append(row)
    return [groups.get(key) for key in keys]


@dataclass(frozen=True)
class RowByKey:
    """To one: the row of ``read`` whose ``column`` is the key."""

    read: Read
    column: str = "id"

    async def __call__(
        self, loaders: Loaders, keys: list[Any], arguments: Mapping[str, Any], columns: Collection[str] | None
    ) -> list[Any]:
        return pick(await self.read(loaders, distinct(keys), columns), keys, self.column)


@dataclass(frozen=True)
class RowsByKey:
    """To many: the rows of ``read`` whose ``column`` is the key, in the order read."""

    read: Read
    column: str

    async def __call__(
        self, loaders: Loaders, keys: list[Any], arguments: Mapping[str, Any], columns: Collection[str] | None
    ) -> list[list[Any] | None]:
        return group(await self.read(loaders, distinct(keys), columns), keys, self.column)


@dataclass(frozen=True)
class Loaded:
    """Through one of the request's dataloaders (whole rows); lists cut to ``first``."""

    loader: Callable[[Loaders], DataLoader[Any, Any]]
    first: int | None = None

    async def __call__(
        self, loaders: Loaders, keys: list[Any], arguments: Mapping[str, Any], columns: Collection[str] | None
    ) -> list[Any]:
        wanted = distinct(keys)
        values = await self.loader(loaders).load_many(wanted)
        if self.first is not None:
            values = [value[: self.first] for value in values]
        found = dict(zip(wanted, values, strict=True))
        return [found.get(key) if key is not None else None for key in keys]


async def reservations_of_equipment(
    loaders: Loaders, keys: list[Any], arguments: Mapping[str, Any], columns: Collection[str] | None
) -> list[list[Any]]:
    """Reservations with a line of each equipment in the ``from_``/``to`` window, the ``first`` ones."""
    wanted = distinct(keys)
    rows = await loaders.reservations_of_equipment(wanted, arguments["from_"], arguments["to"], columns)
    first = arguments["first"]
    groups = dict(zip(wanted, group_by_equipment(rows, wanted), strict=True))
    return [groups[key][:first] for key in keys]


TENANTS = RowByKey(Loaders.tenants_by_id)
USERS = RowByKey(Loaders.users_by_id)
EQUIPMENT = RowByKey(Loaders.equipment_rows)
UNITS = RowByKey(Loaders.units_by_id)
UNITS_OF_EQUIPMENT = RowsByKey(Loaders.units_of_equipment, "equipment_id")
ATTACHMENTS_OF_EQUIPMENT = RowsByKey(Loaders.attachments_of_equipment, "owner_id")
ATTACHMENTS_OF_UNITS = RowsByKey(Loaders.attachments_of_units, "owner_id")
ATTACHMENTS_OF_DESIGNS = RowsByKey(Loaders.attachments_of_designs, "owner_id")
ATTACHMENTS_OF_VERSIONS = RowsByKey(Loaders.attachments_of_versions, "owner_id")
ATTACHMENTS_OF_RESERVATIONS = RowsByKey(Loaders.attachments_of_reservations, "owner_id")
LINES_OF_RESERVATIONS = RowsByKey(Loaders.lines_of_reservations, "reservation_id")
DESIGNS = Loaded(lambda loaders: loaders.design_by_id)
VERSIONS = Loaded(lambda loaders: loaders.version_by_id)
CURRENT_VERSIONS = Loaded(lambda loaders: loaders.current_version_by_design)
VERSIONS_OF_DESIGNS = Loaded(lambda loaders: loaders.versions_by_design, first=MAX_DESIGN_VERSIONS_LISTED)
ITEMS_OF_VERSIONS = Loaded(lambda loaders: loaders.items_by_version)
SHARES_OF_DESIGNS = Loaded(lambda loaders: loaders.shares_by_design, first=MAX_DESIGN_SHARES_LISTED)
RESERVATIONS = Loaded(lambda loaders: loaders.reservation_by_id)
MESSAGES_OF_ENQUIRIES = Loaded(lambda loaders: loaders.messages_by_enquiry)
