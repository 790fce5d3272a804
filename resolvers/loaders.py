"""Per-request dataloaders, with the caller's tenant bound in at construction.

A loader batches every ``load(key)`` of one tick into one SQL statement, so a
list field costs one query however long the list is. Loaders live and die with
the request's context; their cache never outlives it or crosses tenants.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from sqlalchemy import and_
from sqlmodel import col

from db.scoped import records, same_tenant, scoped_records
from db.tables import (
    Enquiry,
    EnquiryMessage,
    Equipment,
    EquipmentUnit,
    Operator,
    OwnerKind,
    Reservation,
    Tenant,
    User,
)
from db.tables.design import Design, DesignItem, DesignShare, DesignVersion
from resolvers import row_statements as statements
from resolvers.availability import Usage, holds_statement, usage
from resolvers.batch_loader import BatchLoader
from resolvers.visibility import visibility_of

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


Fetch = Callable[["Loaders", list[Any], Mapping[str, Any], Collection[str] | None], Awaitable[Sequence[Any]]]
"""``(loaders, keys, arguments, columns) -> one value per key``, in the keys' order.

The batch read behind a relation (``schema/relations.py``). Keys may repeat and may
be ``None`` (its value is ``None``). ``columns``: the columns the caller reads of
each row (``None``: all of them); a value is a row, a list of rows or ``None``
(for a leaf field, the value itself).
"""


class FetchLoader(BatchLoader[Any, Any]):
    """A relation's loader within one request: each tick's keys in one ``fetch``, all columns."""

    def __init__(self, loaders: Loaders, fetch: Fetch, arguments: Mapping[str, Any]) -> None:
        super().__init__()
        self._loaders = loaders
        self._fetch = fetch
        self._arguments = arguments

    async def batch_load_fn(self, keys: Sequence[Any]) -> list[Any]:
        return list(await self._fetch(self._loaders, list(keys), self._arguments, None))


class ListFetcher:
    """A relation's lists of keys within one request: the lists asked for in one tick share one ``fetch``.

    List-at-once completion (``schema/projection.py``) asks for a whole list of
    parents' keys at a time; where graphql-core completes the parent objects one by
    one (a level it could not project), each of their lists arrives separately, in
    the same tick. Keys are not wrapped one by one as a dataloader would: a lone
    list goes to ``fetch`` as it is.
    """

    def __init__(
        self, loaders: Loaders, fetch: Fetch, arguments: Mapping[str, Any], columns: Collection[str]
    ) -> None:
        self._loaders = loaders
        self._fetch = fetch
        self._arguments = arguments
        self._columns = columns
        self._loop = asyncio.get_running_loop()
        self._pending: list[tuple[list[Any], asyncio.Future[list[Any]]]] = []
        # The loop keeps only weak references to tasks: these keep running fetches alive.
        self._running: set[asyncio.Task[None]] = set()

    async def values(self, keys: list[Any]) -> list[Any]:
        """One value per key, in the keys' order."""
        future: asyncio.Future[list[Any]] = self._loop.create_future()
        self._pending.append((keys, future))
        if len(self._pending) == 1:
            self._loop.call_soon(self._dispatch)
        return await future

    def _dispatch(self) -> None:
        pending, self._pending = self._pending, []
        task = self._loop.create_task(self._run(pending))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _run(self, pending: list[tuple[list[Any], asyncio.Future[list[Any]]]]) -> None:
        try:
            if len(pending) == 1:
                ((keys, future),) = pending
                values = list(await self._fetch(self._loaders, keys, self._arguments, self._columns))
                if not future.done():
                    future.set_result(values)
                return
            every = list(dict.fromkeys(key for keys, _ in pending for key in keys))
            found = dict(
                zip(
                    every,
                    await self._fetch(self._loaders, every, self._arguments, self._columns),
                    strict=True,
                )
            )
            for keys, future in pending:
                if not future.done():
                    future.set_result([found[key] for key in keys])
        except Exception as error:
            for _, future in pending:
                if not future.done():
                    future.set_exception(error)


class Loaders:
    """The loaders of one request."""

    def __init__(self, context: Context) -> None:
        self._context = context
        self._tenant_id = context.tenant_id
        self._visibility = visibility_of(context.principal)
        self._arrays = not context.services.database.is_sqlite

    @cached_property
    def _fetch_loaders(self) -> dict[tuple[Fetch, tuple[tuple[str, Any], ...]], FetchLoader]:
        return {}

    def for_fetch(self, fetch: Fetch, arguments: Mapping[str, Any]) -> FetchLoader:
        """The request's loader of ``fetch`` under these arguments.

        Relations declared with the same fetch share it (a reservation's customer and
        its creator are users read in one statement); arguments must be hashable.
        """
        key = (fetch, tuple(arguments.items()))
        loader = self._fetch_loaders.get(key)
        if loader is None:
            loader = self._fetch_loaders[key] = FetchLoader(self, fetch, arguments)
        return loader

    @cached_property
    def _list_fetchers(
        self,
    ) -> dict[tuple[Fetch, tuple[tuple[str, Any], ...], frozenset[str]], ListFetcher]:
        return {}

    def for_lists(self, fetch: Fetch, arguments: Mapping[str, Any], columns: frozenset[str]) -> ListFetcher:
        """The request's fetcher of whole lists of keys with ``fetch``, these arguments and columns."""
        key = (fetch, tuple(arguments.items()), columns)
        fetcher = self._list_fetchers.get(key)
        if fetcher is None:
            fetcher = self._list_fetchers[key] = ListFetcher(self, fetch, arguments, columns)
        return fetcher

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
        return await self.rows_by_id(User, self._visibility.visible_ids(User, ids), columns)

    async def tenants_by_id(
        self, ids: Sequence[uuid.UUID], columns: Collection[str] | None = None
    ) -> Sequence[Any]:
        if not ids:
            return []
        statement = statements.tenants_by_id(with_keys(columns, "id"), self._arrays)
        return await self._rows(statement, {statements.KEYS: list(ids)})

    async def units_by_id(
        self, ids: Sequence[uuid.UUID], columns: Collection[str] | None = None
    ) -> Sequence[Any]:
        return await self.rows_by_id(EquipmentUnit, ids, columns)

    async def units_of_equipment(
        self, equipment_ids: Sequence[uuid.UUID], columns: Collection[str] | None = None
    ) -> Sequence[Any]:
        """Units of these equipment, by serial number."""
        if self._tenant_id is None or not equipment_ids:
            return []
        statement = statements.units_of_equipment(with_keys(columns, "equipment_id"), self._arrays)
        return await self._rows(statement, self._by_keys(equipment_ids))

    async def _attachments_of(
        self, kind: OwnerKind, owner_ids: Sequence[uuid.UUID], columns: Collection[str] | None
    ) -> Sequence[Any]:
        """Attachments of these owners: seen with their owner, whose visibility the parent already passed."""
        if self._tenant_id is None or not owner_ids:
            return []
        statement = statements.attachments_of(kind.value, with_keys(columns, "owner_id"), self._arrays)
        return await self._rows(statement, self._by_keys(owner_ids))

    async def attachments_of_equipment(
        self, ids: Sequence[uuid.UUID], columns: Collection[str] | None = None
    ) -> Sequence[Any]:
        return await self._attachments_of(OwnerKind.EQUIPMENT, ids, columns)

    async def attachments_of_units(
        self, ids: Sequence[uuid.UUID], columns: Collection[str] | None = None
    ) -> Sequence[Any]:
        return await self._attachments_of(OwnerKind.EQUIPMENT_UNIT, ids, columns)

    async def attachments_of_designs(
        self, ids: Sequence[uuid.UUID], columns: Collection[str] | None = None
    ) -> Sequence[Any]:
        return await self._attachments_of(OwnerKind.DESIGN, ids, columns)

    async def attachments_of_versions(
        self, ids: Sequence[uuid.UUID], columns: Collection[str] | None = None
    ) -> Sequence[Any]:
        return await self._attachments_of(OwnerKind.DESIGN_VERSION, ids, columns)

    async def attachments_of_reservations(
        self, ids: Sequence[uuid.UUID], columns: Collection[str] | None = None
    ) -> Sequence[Any]:
        return await self._attachments_of(OwnerKind.RESERVATION, ids, columns)

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
        statement = statements.reservations_of_equipment(
            with_keys(columns, "id"),
            self._arrays,
            starts=starts is not None,
            ends=ends is not None,
            own_only=self._visibility.restricts(Reservation),
        )
        params = self._by_keys(equipment_ids)
        own = self._visibility.user_id
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
                *self._visibility.conditions(Reservation),
            )
            return await self._rows(statement)

        return KeyedLoader(fetch, lambda row: row.id)

    @cached_property
    def availability(self) -> AvailabilityLoader:
        return AvailabilityLoader(self._context)

    # Designs: customers reach only designs they own, whichever way they come (node, nesting, lists).

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
        scope = self._visibility.conditions(Design)
        return KeyedLoader(self._design_rows(Design, col(Design.id), scope), lambda row: row.id)

    @cached_property
    def version_by_id(self) -> KeyedLoader[uuid.UUID, DesignVersion]:
        scope = self._visibility.conditions(DesignVersion)
        return KeyedLoader(self._design_rows(DesignVersion, col(DesignVersion.id), scope), lambda row: row.id)

    @cached_property
    def versions_by_design(self) -> GroupLoader[uuid.UUID, DesignVersion]:
        """Newest first."""
        design_id = col(DesignVersion.design_id)
        order = (design_id, col(DesignVersion.number).desc())
        fetch = self._design_rows(DesignVersion, design_id, self._visibility.conditions(DesignVersion), order)
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
                        same_tenant(Design, DesignVersion),
                        col(Design.id) == col(DesignVersion.design_id),
                        col(Design.current_version_number) == col(DesignVersion.number),
                    ),
                )
                .where(
                    col(DesignVersion.design_id).in_(ids),
                    *self._visibility.conditions(DesignVersion),
                )
            )
            return await self._rows(statement)

        return KeyedLoader(fetch, lambda row: row.design_id)

    @cached_property
    def items_by_version(self) -> GroupLoader[uuid.UUID, DesignItem]:
        version_id = col(DesignItem.version_id)
        scope = self._visibility.conditions(DesignItem)
        fetch = self._design_rows(DesignItem, version_id, scope, (version_id, col(DesignItem.position)))
        return GroupLoader(fetch, lambda row: row.version_id)

    @cached_property
    def shares_by_design(self) -> GroupLoader[uuid.UUID, DesignShare]:
        """Newest first."""
        design_id = col(DesignShare.design_id)
        order = (design_id, col(DesignShare.created_at).desc(), col(DesignShare.id).desc())
        fetch = self._design_rows(DesignShare, design_id, self._visibility.conditions(DesignShare), order)
        return GroupLoader(fetch, lambda row: row.design_id)

    @cached_property
    def share_by_id(self) -> KeyedLoader[uuid.UUID, DesignShare]:
        scope = self._visibility.conditions(DesignShare)
        return KeyedLoader(self._design_rows(DesignShare, col(DesignShare.id), scope), lambda row: row.id)

    # Enquiries: customers reach only their own, and only the replies of their threads.

    @cached_property
    def enquiry_by_id(self) -> KeyedLoader[uuid.UUID, Enquiry]:
        scope = self._visibility.conditions(Enquiry)
        return KeyedLoader(self._design_rows(Enquiry, col(Enquiry.id), scope), lambda row: row.id)

    @cached_property
    def message_by_id(self) -> KeyedLoader[uuid.UUID, EnquiryMessage]:
        scope = self._visibility.conditions(EnquiryMessage)
        return KeyedLoader(
            self._design_rows(EnquiryMessage, col(EnquiryMessage.id), scope), lambda row: row.id
        )

    @cached_property
    def messages_by_enquiry(self) -> GroupLoader[uuid.UUID, EnquiryMessage]:
        """Oldest first: a thread reads top to bottom."""
        enquiry_id = col(EnquiryMessage.enquiry_id)
        order = (enquiry_id, col(EnquiryMessage.created_at), col(EnquiryMessage.id))
        scope = self._visibility.conditions(EnquiryMessage)
        return GroupLoader(
            self._design_rows(EnquiryMessage, enquiry_id, scope, order), lambda row: row.enquiry_id
        )


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
        tenant_id = self._context.caller().tenant_id
        by_window: dict[tuple[datetime, datetime], list[Equipment]] = {}
        for key in keys:
            by_window.setdefault((key.starts_at, key.ends_at), []).append(key.equipment)
        results: dict[tuple[uuid.UUID, datetime, datetime], Usage] = {}
        for window, equipment in by_window.items():
            rows = await self._context.rows(holds_statement(tenant_id, equipment, window))
            for equipment_id, found in usage(equipment, rows, window).items():
                results[(equipment_id, *window)] = found
        return [results[(key.equipment.id, key.starts_at, key.ends_at)] for key in keys]
