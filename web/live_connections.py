"""This process's live WebSocket connections: how many each user and tenant holds, and whose grant ended.

A connection counts against its user and its tenant from its ``connection_init``
to its close; one past ``RIGBOOK_WS_MAX_CONNECTIONS_PER_USER`` or ``..._PER_TENANT``
is refused (counted per serving process). While any are open, one task checks
every ``RIGBOOK_WS_GRANT_CHECK_INTERVAL`` seconds that their sign-in sessions are
live and their users active, with one read per tenant for all its connections
(``db/session_check.py``), and closes the connections whose grant has ended: a
sign-out, a password change or a deactivation on any process ends the sockets on
every process within that interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from auth.principal import Principal
from auth.services import Services
from db.clock import utcnow
from db.queue import error_text
from db.session_check import active_operators, live_user_sessions

log = logging.getLogger("rigbook.live")


@dataclass(eq=False)
class Member:
    """One open connection, as the registry knows it."""

    principal: Principal
    tenant_id: uuid.UUID
    end: Callable[[], Awaitable[None]]
    """Close the connection because its grant has ended."""
    ended: bool = field(default=False)


class Connections:
    """The open live connections of one process (one per ``Services``)."""

    def __init__(self, services: Services) -> None:
        self.services = services
        settings = services.settings
        self.per_user = settings.ws_max_connections_per_user
        self.per_tenant = settings.ws_max_connections_per_tenant
        self.interval = settings.ws_grant_check_interval
        self._members: set[Member] = set()
        self._by_user: Counter[uuid.UUID] = Counter()
        self._by_tenant: Counter[uuid.UUID] = Counter()
        self._checker: asyncio.Task[None] | None = None

    def __len__(self) -> int:
        return len(self._members)

    def join(self, member: Member) -> str | None:
        """Count ``member`` in; or why not (its user or tenant holds as many as it may)."""
        subject = member.principal.subject_id
        if self._by_user[subject] >= self.per_user:
            return f"This user holds {self.per_user} live connections already."
        if self._by_tenant[member.tenant_id] >= self.per_tenant:
            return f"This tenant holds {self.per_tenant} live connections already."
        self._members.add(member)
        self._by_user[subject] += 1
        self._by_tenant[member.tenant_id] += 1
        if self._checker is None or self._checker.done():
            self._checker = asyncio.get_running_loop().create_task(self._check_grants())
        return None

    def leave(self, member: Member) -> None:
        if member not in self._members:
            return
        self._members.discard(member)
        subject = member.principal.subject_id
        self._by_user[subject] -= 1
        if not self._by_user[subject]:
            del self._by_user[subject]
        self._by_tenant[member.tenant_id] -= 1
        if not self._by_tenant[member.tenant_id]:
            del self._by_tenant[member.tenant_id]

    async def close(self) -> None:
        if self._checker is not None:
            self._checker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._checker

    async def _check_grants(self) -> None:
        while self._members:
            await asyncio.sleep(self.interval)
            try:
                ended = await self.ended_grants()
            except Exception as error:  # the database is away: check again next time
                log.warning("could not check the grants of live connections: %s", error_text(error))
                continue
            for member in ended:
                if not member.ended:
                    member.ended = True
                    await member.end()

    async def ended_grants(self) -> list[Member]:
        """The members whose sign-in session ended or whose account was deactivated."""
        database = self.services.database
        now = utcnow()
        by_tenant: dict[uuid.UUID, list[Member]] = defaultdict(list)
        assumed: list[Member] = []
        for member in list(self._members):
            (assumed if member.principal.operator_id is not None else by_tenant[member.tenant_id]).append(
                member
            )
        ended: list[Member] = []
        for tenant_id, members in by_tenant.items():
            sessions = list({member.principal.session_id for member in members})
            reads = database.reads(tenant_id)
            try:
                live = {row[0] for row in await reads.rows(live_user_sessions(tenant_id, sessions, now))}
            finally:
                await reads.close()
            ended += [member for member in members if member.principal.session_id not in live]
        if assumed:
            operators = list({member.principal.subject_id for member in assumed})
            reads = database.reads(None)
            try:
                active = {row[0] for row in await reads.rows(active_operators(operators))}
            finally:
                await reads.close()
            ended += [member for member in assumed if member.principal.subject_id not in active]
        return ended
