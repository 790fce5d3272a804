"""What business functions need of the database: transactions in the caller's scope, or reads.

A business function (``create_equipment``, ``transition``, ``create_tenant``, ...) takes
the ``Transactions`` it opens its own transactions from, the caller it acts for
(``resolvers/caller.py``), and the settings or services it really uses — never the
whole request ``Context``. It opens its transactions itself because it decides when:
after validating (a refused input costs no SQL), after hashing a password (no
connection is held while argon2 runs), again after a lost race (idempotency keys).

* A GraphQL resolver passes its ``Context``: its transactions carry the caller's
  session check and audit actor, and end the request's read first.
* Work outside any request (the demo seed, the ``rigbook`` command) passes
  ``Standalone``: plain transactions of the process's database, audited as the
  principal it acts for.

Lists read through a ``Snapshot``: the request's one read-only transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Executable

from auth.principal import Principal
from db.audit import ACTOR_INFO_KEY, Actor
from db.database import Database


class Transactions(Protocol):
    def transaction(self, tenant_id: uuid.UUID | None = None) -> AbstractAsyncContextManager[AsyncSession]:
        """A write transaction in the caller's scope (or ``tenant_id``'s), audited as the caller."""
        ...

    def session(self) -> AbstractAsyncContextManager[AsyncSession]:
        """An ORM session for reads in the caller's scope, rolled back at the end."""
        ...

    async def end_read(self) -> None:
        """Give back any connection held for reads, before work that waits (password hashing)."""
        ...


class Snapshot(Protocol):
    async def rows(self, statement: Executable, params: Mapping[str, Any] | None = None) -> Sequence[Any]:
        """The rows ``statement`` selects; columns read as attributes (``row.email``)."""
        ...

    async def scalar(self, statement: Executable, params: Mapping[str, Any] | None = None) -> Any:
        """The first column of the first row, or ``None``."""
        ...


def actor_of(principal: Principal | None, request_id: str | None) -> Actor:
    """Who the audit trail names for the changes ``principal`` makes."""
    if principal is None:
        return Actor(None, "anonymous", request_id)
    return Actor(principal.subject_id, "operator" if principal.acting_operator else "user", request_id)


@dataclass(frozen=True)
class Standalone:
    """Transactions outside any request, acting for ``principal`` (``None``: platform work).

    Nothing checks a sign-in session here: the principal was not read from a token
    but named by trusted code (the demo seed names its demo accounts). Changes are
    audited as that principal; platform work (``rigbook create-operator``) touches
    no tenant's rows, so it has nothing to audit.
    """

    database: Database
    principal: Principal | None = None
    # Audited as this actor instead: a command acting in a tenant as the system (``rigbook import``).
    actor: Actor | None = None

    @asynccontextmanager
    async def transaction(self, tenant_id: uuid.UUID | None = None) -> AsyncIterator[AsyncSession]:
        scope = tenant_id if tenant_id is not None else self._tenant_id
        async with self.database.transaction(scope) as session:
            if self.actor is not None:
                session.info[ACTOR_INFO_KEY] = self.actor
            elif self.principal is not None:
                session.info[ACTOR_INFO_KEY] = actor_of(self.principal, None)
            yield session

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self.database.session(self._tenant_id) as session:
            yield session

    async def end_read(self) -> None:
        """Nothing to give back: outside a request no read stays open."""

    @property
    def _tenant_id(self) -> uuid.UUID | None:
        return self.principal.tenant_id if self.principal is not None else None
