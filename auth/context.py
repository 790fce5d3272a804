"""The per-request context: who is calling, their tenant, one read session, loaders."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Executable
from starlette.requests import Request

from auth.principal import Principal
from auth.services import Services
from auth.tokens import InvalidAccessToken
from db.audit import ACTOR_INFO_KEY, Actor
from resolvers.loaders import Loaders

T = TypeVar("T")


@dataclass
class Context:
    services: Services
    principal: Principal | None
    client_address: str = "unknown"
    request: Request | None = None
    token_error: str | None = None
    _session: AsyncSession | None = field(default=None, init=False)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)
    _loaders: Loaders | None = field(default=None, init=False)

    @property
    def tenant_id(self) -> uuid.UUID | None:
        """The caller's tenant: only ever from the verified token."""
        return self.principal.tenant_id if self.principal is not None else None

    def require_tenant(self) -> uuid.UUID:
        """The caller's tenant where a permission already guaranteed a tenant user."""
        if self.tenant_id is None:
            raise RuntimeError("a tenant user is required here; check the field's permission")
        return self.tenant_id

    @property
    def loaders(self) -> Loaders:
        if self._loaders is None:
            self._loaders = Loaders(self)
        return self._loaders

    def actor(self) -> Actor:
        """Who the audit trail names for changes made in this request."""
        request_id = getattr(self.request.state, "request_id", None) if self.request is not None else None
        principal = self.principal
        if principal is None:
            return Actor(None, "anonymous", request_id)
        return Actor(principal.subject_id, "operator" if principal.acting_operator else "user", request_id)

    def _read_session(self) -> AsyncSession:
        if self._session is None:
            self._session = self.services.database.session(self.tenant_id)
        return self._session

    async def scalars(self, statement: Executable) -> Sequence[Any]:
        """Run a read on the request's session; reads are serialised on it."""
        async with self._lock:
            return (await self._read_session().scalars(statement)).all()

    async def rows(self, statement: Executable) -> Sequence[Row[*tuple[Any, ...]]]:
        """Like ``scalars`` but returns whole rows (several columns)."""
        async with self._lock:
            # Core rows straight from the session's connection: the ORM's result
            # machinery has nothing to add to plain column reads.
            connection = await self._read_session().connection()
            return (await connection.execute(statement)).all()

    async def scalar(self, statement: Executable) -> Any:
        rows = await self.scalars(statement)
        return rows[0] if rows else None

    @asynccontextmanager
    async def transaction(self, tenant_id: uuid.UUID | None = None) -> AsyncIterator[AsyncSession]:
        """A write transaction scoped to the caller's tenant (or ``tenant_id`` for sign-in)."""
        await self._end_read()
        scope = tenant_id if tenant_id is not None else self.tenant_id
        async with self.services.database.transaction(scope) as session:
            session.info[ACTOR_INFO_KEY] = self.actor()
            yield session
        # Rows read before this write may be stale now.
        self._loaders = None

    async def _end_read(self) -> None:
        async with self._lock:
            if self._session is not None:
                await self._session.close()
                self._session = None

    async def close(self) -> None:
        await self._end_read()


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else ""


def build_context(services: Services, request: Request) -> Context:
    """Verify the bearer token (if any) and build the request's context."""
    principal: Principal | None = None
    token_error: str | None = None
    token = bearer_token(request)
    if token is not None:
        try:
            principal = services.access_tokens.verify(token)
        except InvalidAccessToken:
            token_error = "The access token is invalid or expired."
    return Context(
        services=services,
        principal=principal,
        client_address=request.client.host if request.client else "unknown",
        request=request,
        token_error=token_error,
    )
