"""The per-request context: who is calling, their tenant, one read transaction, loaders.

``web/context.py`` builds it from the HTTP request; resolvers read it, and hand the
business functions only the parts they use (``resolvers/transactions.py``).

Every transaction the context opens in the caller's own scope carries the caller's
``SessionCheck`` (``db/session_check.py``): the read transaction once, each write
transaction again. A caller whose account was deactivated or whose sign-in session
ended is refused there, at the first statement, with a top-level UNAUTHENTICATED
error; the rest of the request is refused without asking the database again.
Anonymous callers carry no check.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from graphql import GraphQLError
from sqlalchemy import literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Executable

from auth.principal import Principal
from auth.services import Services
from db.audit import ACTOR_INFO_KEY, Actor
from db.reads import Reads
from db.session_check import ENDED_MESSAGE, SessionCheck, SessionEnded
from resolvers.caller import TenantCaller, tenant_caller
from resolvers.loaders import Loaders
from resolvers.transactions import actor_of

T = TypeVar("T")
# The cheapest read: opening it runs the caller's session check.
_GRANT_PROBE = select(literal(1))


def session_ended() -> GraphQLError:
    """The refusal of a caller whose grant has ended: sign in again."""
    return GraphQLError(ENDED_MESSAGE, extensions={"code": "UNAUTHENTICATED"})


@dataclass
class Context:
    services: Services
    principal: Principal | None
    client_address: str = "unknown"
    # The request's id (``web/middleware.py``), for the audit trail.
    request_id: str | None = None
    token_error: str | None = None
    _reads: Reads | None = field(default=None, init=False)
    # Reads given by whoever made this context (``sharing``): used, never opened or closed here.
    _shared_reads: Reads | None = field(default=None, init=False)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)
    _loaders: Loaders | None = field(default=None, init=False)
    _closed: bool = field(default=False, init=False)
    _ended: bool = field(default=False, init=False)

    @property
    def tenant_id(self) -> uuid.UUID | None:
        """The caller's tenant: only ever from the verified token."""
        return self.principal.tenant_id if self.principal is not None else None

    @classmethod
    def sharing(cls, services: Services, principal: Principal, reads: Reads) -> Context:
        """A context for ``principal`` that reads in ``reads``, a snapshot of its tenant opened by the caller.

        Live updates read one change for many subscribers in one snapshot, each through
        a context of their own (their loaders, their visibility); the caller has
        checked every subscriber's grant in that snapshot (``resolvers/live/fanout.py``).
        """
        context = cls(services=services, principal=principal)
        context._shared_reads = reads
        return context

    def caller(self) -> TenantCaller:
        """The caller and their tenant; refuses (typed, top-level) when there is none."""
        return tenant_caller(self.principal, self.token_error)

    @property
    def loaders(self) -> Loaders:
        if self._loaders is None:
            self._loaders = Loaders(self)
        return self._loaders

    def _check_for(self, tenant_id: uuid.UUID | None) -> SessionCheck | None:
        """The caller's check, for a transaction in their own tenant (or operator) scope.

        Sign-in flows open transactions in a scope they name themselves (the tenant
        being signed in to); those act for no caller and carry no check.
        """
        principal = self.principal
        if principal is None or tenant_id != principal.tenant_id:
            return None
        if self._ended:
            raise session_ended()
        return SessionCheck(
            principal.subject_id, principal.session_id, assumed=principal.operator_id is not None
        )

    def actor(self) -> Actor:
        """Who the audit trail names for changes made in this request."""
        return actor_of(self.principal, self.request_id)

    async def rows(self, statement: Executable, params: Mapping[str, Any] | None = None) -> Sequence[Any]:
        """The rows of a read, in the request's read transaction; reads take turns on it.

        Rows read their columns as attributes (``row.email``); ``params`` fill the
        statement's named ``bindparam``s.
        """
        async with self._lock:
            if self._shared_reads is not None:
                return await self._shared_reads.rows(statement, params)
            if self._reads is None:
                if self._closed:
                    # A straggling loader batch: a read opened now would never be closed.
                    raise RuntimeError("the request has ended; its reads are closed")
                self._reads = self.services.database.reads(self.tenant_id, self._check_for(self.tenant_id))
            try:
                return await self._reads.rows(statement, params)
            except SessionEnded:
                self._reads = None  # it closed itself
                raise self._refused() from None

    async def first(self, statement: Executable, params: Mapping[str, Any] | None = None) -> Any:
        """The first row, or ``None``."""
        rows = await self.rows(statement, params)
        return rows[0] if rows else None

    async def scalar(self, statement: Executable, params: Mapping[str, Any] | None = None) -> Any:
        """The first column of the first row, or ``None``."""
        row = await self.first(statement, params)
        return row[0] if row is not None else None

    @asynccontextmanager
    async def transaction(self, tenant_id: uuid.UUID | None = None) -> AsyncIterator[AsyncSession]:
        """A write transaction scoped to the caller's tenant (or ``tenant_id`` for sign-in)."""
        scope = tenant_id if tenant_id is not None else self.tenant_id
        principal = self.principal
        if principal is not None and scope != principal.tenant_id:
            # A write in another scope (an operator creating a tenant) cannot check the
            # caller there: their grant is checked first, in their own scope.
            await self.rows(_GRANT_PROBE)
        await self.end_read()
        try:
            async with self.services.database.transaction(scope, self._check_for(scope)) as session:
                session.info[ACTOR_INFO_KEY] = self.actor()
                yield session
        except SessionEnded:
            raise self._refused() from None
        # Rows read before this write may be stale now.
        self._loaders = None

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """An ORM session for reads in the caller's tenant, rolled back at the end."""
        scope = self.tenant_id
        try:
            async with self.services.database.session(scope, self._check_for(scope)) as session:
                yield session
        except SessionEnded:
            raise self._refused() from None

    def _refused(self) -> GraphQLError:
        self._ended = True
        return session_ended()

    async def end_read(self) -> None:
        """End the read transaction and give its connection back.

        Before work that waits (password hashing) or opens a connection of its own:
        a request never holds a pooled connection while it waits for another.
        The next read opens a new transaction.
        """
        async with self._lock:
            reads, self._reads = self._reads, None
            if reads is not None:
                await reads.close()

    async def close(self) -> None:
        self._closed = True
        await self.end_read()
