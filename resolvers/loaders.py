"""Per-request dataloaders, with the caller's tenant bound in at construction.

A loader batches every ``load(key)`` of one tick into one SQL statement, so a
list field costs one query however long the list is. Loaders live and die with
the request's context; their cache never outlives it or crosses tenants.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from aiodataloader import DataLoader
from sqlmodel import select

from db.scoped import scoped_by_ids
from db.tables import Operator, Tenant, User

if TYPE_CHECKING:
    from auth.context import Context

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class KeyedLoader(DataLoader[K, V | None], Generic[K, V]):
    """Loads rows by key; a missing key resolves to ``None``."""

    def __init__(self, fetch: Callable[[list[K]], Awaitable[Iterable[V]]], key_of: Callable[[V], K]) -> None:
        super().__init__()
        self._fetch = fetch
        self._key_of = key_of

    async def batch_load_fn(self, keys: Sequence[K]) -> list[V | None]:
        found = {self._key_of(row): row for row in await self._fetch(list(keys))}
        return [found.get(key) for key in keys]


class Loaders:
    """The loaders of one request."""

    def __init__(self, context: Context) -> None:
        self._context = context
        self._tenant_id = context.tenant_id

    async def _rows(self, statement: Any) -> Sequence[Any]:
        return await self._context.scalars(statement)

    def _tenant_rows(self, model: type[Any]) -> Callable[[list[uuid.UUID]], Awaitable[Iterable[Any]]]:
        async def fetch(ids: list[uuid.UUID]) -> Iterable[Any]:
            if self._tenant_id is None:
                return []
            return await self._rows(scoped_by_ids(model, self._tenant_id, ids))

        return fetch

    @cached_property
    def tenant_by_id(self) -> KeyedLoader[uuid.UUID, Tenant]:
        async def fetch(ids: list[uuid.UUID]) -> Iterable[Tenant]:
            statement = select(Tenant).where(Tenant.id.in_(ids))  # type: ignore[attr-defined]
            rows: Sequence[Tenant] = await self._rows(statement)
            return rows

        return KeyedLoader(fetch, lambda row: row.id)

    @cached_property
    def user_by_id(self) -> KeyedLoader[uuid.UUID, User]:
        return KeyedLoader(self._tenant_rows(User), lambda row: row.id)

    @cached_property
    def operator_by_id(self) -> KeyedLoader[uuid.UUID, Operator]:
        async def fetch(ids: list[uuid.UUID]) -> Iterable[Operator]:
            statement = select(Operator).where(Operator.id.in_(ids))  # type: ignore[attr-defined]
            rows: Sequence[Operator] = await self._rows(statement)
            return rows

        return KeyedLoader(fetch, lambda row: row.id)
