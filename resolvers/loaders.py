"""Per-request dataloaders, with the caller's tenant bound in at construction.

A loader batches every ``load(key)`` of one tick into one SQL statement, so a
list field costs one query however long the list is. Loaders live and die with
the request's context; their cache never outlives it or crosses tenants.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from sqlalchemy import and_
from sqlmodel import col, select

from db.scoped import records, scoped_records
from db.tables import Equipment, EquipmentUnit, Operator, Reservation, ReservationLine, Role, Tenant, User
from db.tables.design import Design, DesignItem, DesignShare, DesignVersion
from resolvers import row_statements as statements
from resolvers.availability import Usage, holds_from, holds_statement, usage
from resolvers.batch_loader import BatchLoader

if TYPE_CHECKING:
    from resolvers.context import Context

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class KeyedLoader(BatchLoader[K, V | None], Generic[K, V]):
    """Loads rows by key; a missing key resolves to ``None``."""

    def __init__(self, fetch: Callable[[list[K]], Awaitable[Iterable[V]]], key_of: Callable[[V], K]) -> None:
        super().__init__()
        self._fetch = fetch
        self._key_of = key_of

    async def batch_load_fn(self, keys: Sequence[K]) -> list[V | None]:
        found = {self._key_of(row): row for row in await self._fetch(list(keys))}
        return [found.get(key) for key in keys]

    async def load_alone(self, key: K) -> V | None:
        """``load(key)`` for a caller with nothing to batch with (a root field): read now.

        Skips the tick a batch waits for; the row is cached for later loads all the same.
        """
        cached = self._cache.get(key)
        if cached is not None:
            return await cached
        (row,) = await self.batch_load_fn([key])
        self.prime(key, row)
        return row


class GroupLoader(BatchLoader[K, list[V]], Generic[K, V]):
    """Loads the rows belonging to each key (one-to-many); a key with none gets ``[]``."""

    def __init__(
        self, fetch: Callable[[list[K]], Awaitable[Iterable[V]]], group_of: Callable[[V], K]
    ) -> None:
        super().__init__()
        self._fetch = fetch
        self._group_of = group_of

    async def batch_load_fn(self, keys: Sequence[K]) -> list[list[V]]:
        groups: dict[K, list[V]] = {key: [] for key in keys}
        for row in await self._fetch(list(keys)):
            groups.setdefault(self._group_of(row), []).append(row)
        return [groups[key] for key in keys]


class Loaders:
    """The loaders of one request."""

    def __init__(self, context: Context) -> None:
        self._context = context
        self._tenant_id = context.tenant_id
        self._arrays = not context.services.database.is_sqlite

    async def _rows(self, statement: Any, params: Mapping[str, Any] | None = None) -> Sequence[Any]:
        return await self._context.rows(statement, params)

    def _by_keys(self, keys: Sequence[Any]) -> dict[str, Any]:
        """Parameters of the ``row_statements``: the caller's tenant and the keys."""
        return {statements.TENANT: self._tenant_id, statements.KEYS: list(keys)}

    def _tenant_rows(self, model: type[Any]) -> Callable[[list[uuid.UUID]], Awaitable[Iterable[Any]]]:
        async def fetch(ids: list[uuid.UUID]) -> Iterable[Any]:
            return await self.rows_by_id(model, ids)

        return fetch

    # Row reads shared by the loaders below (all columns) and by list-at-once completion
    # (``schema/projection.py``: only the selected columns). Scoping lives here, once.

    async def rows_by_id(
        self, model: type[Any], ids: Sequence[uuid.UUID], columns: Collection[str] | None = None
    ) -> Sequence[Any]:
        """The caller's tenant's rows of ``model`` with these ids (any order, missing ids absent)."""
        if self._tenant_id is None or not ids:
            return []
        statement = statements.by_id(model, with_keys(columns, "id"), self._arrays)
        return await self._rows(statement, self._by_keys(ids))

    async def equipment_rows(
        self, ids: Sequence[uuid.UUID], columns: Collection[str] | None = None
    ) -> Sequence[Any]:
        """Equipment by id; rows this request has already read whole (a page of equipment) are reused."""
        known: list[Any] = []
        missing: list[uuid.UUID] = []
        cache = self.equipment_by_id._cache
        for equipment_id in ids:
            future = cache.get(equipment_id)
            if future is not None and future.done() and not future.cancelled() and future.exception() is None:
                row = future.result()
                if row is not None:
                    known.append(row)
                    continue
            missing.append(equipment_id)
        return [*known, *await self.rows_by_id(Equipment, missing, columns)]

    async def users_by_id(
        self, ids: Sequence[uuid.UUID], columns: Collection[str] | None = None
    ) -> Sequence[Any]:
        """Customers see only themselves among users, wherever a user is reached from."""
        principal = self._context.principal
        if principal is not None and not principal.has_role_at_least(Role.STAFF):
            own = principal.subject_id
            ids = [own] if own in ids else []
        return await self.rows_by_id(User, ids, columns)

    async def tenants_by_id(
        self, ids: Sequence[uuid.UUID], columns: Collection[str] | None = None
    ) -> Sequence[Any]:
        if not ids:
            return []
        statement = statements.tenants_by_id(with_keys(columns, "id"), self._arrays)
        return await self._rows(statement, {statements.KEYS: list(ids)})

    async def units_of_equipment(
        self, equipment_ids: Sequence[uuid.UUID], columns: Collection[str] | None = None
    ) -> Sequence[Any]:
        """Units of these equipment, by serial number."""
        if self._tenant_id is None or not equipment_ids:
            return []
        statement = statements.units_of_equipment(with_keys(columns, "equipment_id"), self._arrays)
        return await self._rows(statement, self._by_keys(equipment_ids))

    async def lines_of_reservations(
        self, reservation_ids: Sequence[uuid.UUID], columns: Collection[str] | None = None
    ) -> Sequence[Any]:
        """Lines of these reservations, in their order on each reservation."""
        if self._tenant_id is None or not reservation_ids:
            return []
        statement = statements.lines_of_reservations(with_keys(columns, "reservation_id"), self._arrays)
        return await self._rows(statement, self._by_keys(reservation_ids))

    async def reservations_of_equipment(
        self,
        equipment_ids: Sequence[uuid.UUID],
        starts: datetime | None,
        ends: datetime | None,
        columns: Collection[str] | None = None,
    ) -> Sequence[Any]:
        """Visible reservations with a line of one of these equipment, by start.

        One row per (equipment, line): ``line_equipment_id`` says which equipment; a
        reservation with two lines of the same equipment comes twice in a row.
        """
        if self._tenant_id is None or not equipment_ids:
            return []
        own = self._own_reservations_only()
        statement = statements.reservations_of_equipment(
            with_keys(columns, "id"),
            self._arrays,
            starts=starts is not None,
            ends=ends is not None,
            own_only=own is not None,
        )
        params = self._by_keys(equipment_ids)
        params.update({statements.STARTS: starts, statements.ENDS: ends, statements.CUSTOMER: own})
        return await self._rows(statement, params)

    @cached_property
    def tenant_by_id(self) -> KeyedLoader[uuid.UUID, Tenant]:
        async def fetch(ids: list[uuid.UUID]) -> Iterable[Tenant]:
            rows: Sequence[Tenant] = await self.tenants_by_id(ids)
            return rows

        return KeyedLoader(fetch, lambda row: row.id)

    @cached_property
    def user_by_id(self) -> KeyedLoader[uuid.UUID, User]:
        """Customers see only themselves among users, wherever a user is reached from."""

        async def fetch(ids: list[uuid.UUID]) -> Iterable[User]:
            rows: Sequence[User] = await self.users_by_id(ids)
            return rows

        return KeyedLoader(fetch, lambda row: row.id)

    @cached_property
    def operator_by_id(self) -> KeyedLoader[uuid.UUID, Operator]:
        async def fetch(ids: list[uuid.UUID]) -> Iterable[Operator]:
            statement = records(Operator).where(col(Operator.id).in_(ids))
            rows: Sequence[Operator] = await self._rows(statement)
            return rows

        return KeyedLoader(fetch, lambda row: row.id)

    def _own_reservations_only(self) -> uuid.UUID | None:
        """Customers see only their own reservations, wherever they are reached from."""
        principal = self._context.principal
        if principal is not None and not principal.has_role_at_least(Role.STAFF):
            return principal.subject_id
        return None

    def _reservation_visibility(self) -> list[Any]:
        own = self._own_reservations_only()
        return [] if own is None else [col(Reservation.customer_id) == own]

    @cached_property
    def equipment_by_id(self) -> KeyedLoader[uuid.UUID, Equipment]:
        return KeyedLoader(self._tenant_rows(Equipment), lambda row: row.id)

    @cached_property
    def unit_by_id(self) -> KeyedLoader[uuid.UUID, EquipmentUnit]:
        return KeyedLoader(self._tenant_rows(EquipmentUnit), lambda row: row.id)

    @cached_property
    def reservation_by_id(self) -> KeyedLoader[uuid.UUID, Reservation]:
        async def fetch(ids: list[uuid.UUID]) -> Iterable[Reservation]:
            if self._tenant_id is None:
                return []
            statement = scoped_records(Reservation, self._tenant_id).where(
                col(Reservation.id).in_(ids),
                *self._reservation_visibility(),
            )
            return await self._rows(statement)

        return KeyedLoader(fetch, lambda row: row.id)

    @cached_property
    def units_by_equipment(self) -> GroupLoader[uuid.UUID, EquipmentUnit]:
        async def fetch(ids: list[uuid.UUID]) -> Iterable[EquipmentUnit]:
            rows: Sequence[EquipmentUnit] = await self.units_of_equipment(ids)
            return rows

        return GroupLoader(fetch, lambda row: row.equipment_id)

    @cached_property
    def lines_by_reservation(self) -> GroupLoader[uuid.UUID, ReservationLine]:
        async def fetch(ids: list[uuid.UUID]) -> Iterable[ReservationLine]:
            rows: Sequence[ReservationLine] = await self.lines_of_reservations(ids)
            return rows

        return GroupLoader(fetch, lambda row: row.reservation_id)

    @cached_property
    def reservations_by_equipment(self) -> BatchLoader[EquipmentWindow, list[Reservation]]:
        """Reservations with a line of the equipment, overlapping the key's window if it has one."""
        return ReservationsByEquipmentLoader(self)

    @cached_property
    def availability(self) -> AvailabilityLoader:
        return AvailabilityLoader(self._context)

    # Designs: customers reach only designs they own, whichever way they come (node, nesting, lists).

    def _design_scope(self, design_id: Any) -> list[Any]:
        principal = self._context.principal
        if principal is None or principal.has_role_at_least(Role.STAFF):
            return []
        owned = select(col(Design.id)).where(
            col(Design.tenant_id) == self._tenant_id, col(Design.owner_id) == principal.subject_id
        )
        return [design_id.in_(owned)]

    def _design_rows(
        self, model: type[Any], key: Any, scope: list[Any], order: Sequence[Any] = ()
    ) -> Callable[[list[uuid.UUID]], Awaitable[Iterable[Any]]]:
        async def fetch(keys: list[uuid.UUID]) -> Iterable[Any]:
            if self._tenant_id is None:
                return []
            statement = scoped_records(model, self._tenant_id).where(key.in_(keys), *scope).order_by(*order)
            return await self._rows(statement)

        return fetch

    @cached_property
    def design_by_id(self) -> KeyedLoader[uuid.UUID, Design]:
        key = col(Design.id)
        return KeyedLoader(self._design_rows(Design, key, self._design_scope(key)), lambda row: row.id)

    @cached_property
    def version_by_id(self) -> KeyedLoader[uuid.UUID, DesignVersion]:
        scope = self._design_scope(col(DesignVersion.design_id))
        return KeyedLoader(self._design_rows(DesignVersion, col(DesignVersion.id), scope), lambda row: row.id)

    @cached_property
    def versions_by_design(self) -> GroupLoader[uuid.UUID, DesignVersion]:
        """Newest first."""
        design_id = col(DesignVersion.design_id)
        order = (design_id, col(DesignVersion.number).desc())
        fetch = self._design_rows(DesignVersion, design_id, self._design_scope(design_id), order)
        return GroupLoader(fetch, lambda row: row.design_id)

    @cached_property
    def current_version_by_design(self) -> KeyedLoader[uuid.UUID, DesignVersion]:
        async def fetch(ids: list[uuid.UUID]) -> Iterable[DesignVersion]:
            if self._tenant_id is None:
                return []
            statement = (
                scoped_records(DesignVersion, self._tenant_id)
                .join(
                    Design,
                    and_(
                        col(Design.tenant_id) == col(DesignVersion.tenant_id),
                        col(Design.id) == col(DesignVersion.design_id),
                        col(Design.current_version_number) == col(DesignVersion.number),
                    ),
                )
                .where(
                    col(DesignVersion.design_id).in_(ids),
                    *self._design_scope(col(DesignVersion.design_id)),
                )
            )
            return await self._rows(statement)

        return KeyedLoader(fetch, lambda row: row.design_id)

    @cached_property
    def items_by_version(self) -> GroupLoader[uuid.UUID, DesignItem]:
        version_id = col(DesignItem.version_id)
        scope: list[Any] = []
        if version_scope := self._design_scope(col(DesignVersion.design_id)):
            # Items carry no design id: scope them through their version's design.
            visible = select(col(DesignVersion.id)).where(
                col(DesignVersion.tenant_id) == self._tenant_id, *version_scope
            )
            scope = [version_id.in_(visible)]
        fetch = self._design_rows(DesignItem, version_id, scope, (version_id, col(DesignItem.position)))
        return GroupLoader(fetch, lambda row: row.version_id)

    @cached_property
    def shares_by_design(self) -> GroupLoader[uuid.UUID, DesignShare]:
        """Newest first."""
        design_id = col(DesignShare.design_id)
        order = (design_id, col(DesignShare.created_at).desc(), col(DesignShare.id).desc())
        fetch = self._design_rows(DesignShare, design_id, self._design_scope(design_id), order)
        return GroupLoader(fetch, lambda row: row.design_id)

    @cached_property
    def share_by_id(self) -> KeyedLoader[uuid.UUID, DesignShare]:
        scope = self._design_scope(col(DesignShare.design_id))
        return KeyedLoader(self._design_rows(DesignShare, col(DesignShare.id), scope), lambda row: row.id)


EquipmentWindow = tuple[uuid.UUID, datetime | None, datetime | None]


class ReservationsByEquipmentLoader(BatchLoader[EquipmentWindow, list[Reservation]]):
    def __init__(self, loaders: Loaders) -> None:
        super().__init__()
        self._loaders = loaders

    async def batch_load_fn(self, keys: Sequence[EquipmentWindow]) -> list[list[Reservation]]:
        tenant_id = self._loaders._tenant_id
        found: dict[EquipmentWindow, list[Reservation]] = {key: [] for key in keys}
        if tenant_id is None:
            return [found[key] for key in keys]
        windows: dict[tuple[datetime | None, datetime | None], list[uuid.UUID]] = {}
        for equipment_id, starts, ends in keys:
            windows.setdefault((starts, ends), []).append(equipment_id)
        for (starts, ends), equipment_ids in windows.items():
            rows = await self._loaders.reservations_of_equipment(equipment_ids, starts, ends)
            grouped = group_by_equipment(rows, equipment_ids)
            for equipment_id, group in zip(equipment_ids, grouped, strict=True):
                found[(equipment_id, starts, ends)] = cast(list[Reservation], group)
        return [found[key] for key in keys]


def group_by_equipment(rows: Sequence[Any], equipment_ids: Sequence[uuid.UUID]) -> list[list[Any]]:
    """``reservations_of_equipment`` rows as one list per equipment id, each reservation once."""
    groups: dict[uuid.UUID, list[Any]] = {equipment_id: [] for equipment_id in equipment_ids}
    for row in rows:
        bucket = groups[row.line_equipment_id]
        if not bucket or bucket[-1].id != row.id:
            bucket.append(row)
    return [groups[equipment_id] for equipment_id in equipment_ids]


def with_keys(columns: Collection[str] | None, *keys: str) -> tuple[str, ...] | None:
    """``columns`` plus the key columns a read groups by; ``None`` (all columns) stays ``None``.

    Sorted: the tuple keys the statement cache, and one set of columns is one entry
    whatever order a selection listed them in.
    """
    return None if columns is None else tuple(dict.fromkeys([*keys, *sorted(columns)]))


@dataclass(frozen=True, eq=False)
class AvailabilityKey:
    """One equipment over one window; equal keys share a row id and window."""

    equipment: Equipment
    starts_at: datetime
    ends_at: datetime

    def __hash__(self) -> int:
        return hash((self.equipment.id, self.starts_at, self.ends_at))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AvailabilityKey) and (
            other.equipment.id,
            other.starts_at,
            other.ends_at,
        ) == (self.equipment.id, self.starts_at, self.ends_at)


class AvailabilityLoader(BatchLoader[AvailabilityKey, Usage]):
    """Availability of many equipment over the same window in one query."""

    def __init__(self, context: Context) -> None:
        super().__init__()
        self._context = context

    async def batch_load_fn(self, keys: Sequence[AvailabilityKey]) -> list[Usage]:
        tenant_id = self._context.tenant_id
        assert tenant_id is not None
        by_window: dict[tuple[datetime, datetime], list[Equipment]] = {}
        for key in keys:
            by_window.setdefault((key.starts_at, key.ends_at), []).append(key.equipment)
        results: dict[tuple[uuid.UUID, datetime, datetime], Usage] = {}
        for window, equipment in by_window.items():
            rows = await self._context.rows(holds_statement(tenant_id, equipment, window))
            for equipment_id, found in usage(equipment, holds_from(rows), window).items():
                results[(equipment_id, *window)] = found
        return [results[(key.equipment.id, key.starts_at, key.ends_at)] for key in keys]
