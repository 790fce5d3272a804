"""Live updates between processes: committed domain events, as ids, to whoever follows a tenant.

A domain event is named on its audit entry, in the transaction that made the change
(``db/events.py``). On PostgreSQL a trigger on ``audit_event`` (migration 0015) sends
each one as ``NOTIFY rigbook_live_<tenant>``: delivered at commit, never for a
rollback, to every process of every host that listens on that tenant's channel. The
payload carries ids and names only (a ``Notice``); what a subscriber is sent is read
again under its own rights (``resolvers/live/``). On SQLite, which has no other
process to tell, the same notices go to this process's followers once their
transaction commits.

``LiveFeed`` is one process's end: ``follow(tenant, sink)`` calls ``sink`` with each
notice of that tenant, and with ``None`` when notices may have been missed (the
listening connection dropped and came back): the follower then reads again what it
shows. On PostgreSQL it holds one dedicated listening connection
(``db/listening.py``), listens on the channels of the tenants followed in this
process only, checks the connection now and then, and reconnects with back-off.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import orjson
from sqlalchemy import event
from sqlalchemy.orm import Session

from db.database import LIVE_FEED_INFO_KEY, Database, TenantSession
from db.listening import listen_connection
from db.tables.audit import AuditEvent

log = logging.getLogger("rigbook.live")

CHANNEL_PREFIX = "rigbook_live_"
APPLICATION_NAME = "rigbook live"
# A notice is a few ids; anything longer on a channel of ours is not one.
LONGEST_PAYLOAD = 1024
HEALTH_CHECK_SECONDS = 15.0  # a silent connection is asked a question this often
RECONNECT_DELAYS = (0.2, 0.5, 1.0, 2.0, 5.0)  # seconds, the last one repeated
_NOTICES_INFO_KEY = "live_notices"


@dataclass(frozen=True, slots=True)
class Notice:
    """One committed domain event: which tenant, which event, which row, which audit entry."""

    tenant_id: uuid.UUID
    event: str
    target_type: str
    target_id: uuid.UUID | None
    audit_id: uuid.UUID
    occurred_at: datetime


Sink = Callable[[Notice | None], None]
"""Told each notice of a followed tenant; ``None``: some may have been missed, read again."""


def channel(tenant_id: uuid.UUID) -> str:
    """The tenant's channel (an identifier of 45 characters, within PostgreSQL's 63)."""
    return CHANNEL_PREFIX + tenant_id.hex


def tenant_of(channel_name: str) -> uuid.UUID | None:
    if not channel_name.startswith(CHANNEL_PREFIX):
        return None
    try:
        return uuid.UUID(hex=channel_name.removeprefix(CHANNEL_PREFIX))
    except ValueError:
        return None


def decode(tenant_id: uuid.UUID, payload: str) -> Notice | None:
    """The notice in a payload of the trigger's, or None for anything else."""
    if len(payload) > LONGEST_PAYLOAD:
        return None
    try:
        data = orjson.loads(payload)
        target = data.get("i")
        return Notice(
            tenant_id=tenant_id,
            event=str(data["e"]),
            target_type=str(data["t"]),
            target_id=uuid.UUID(target) if target else None,
            audit_id=uuid.UUID(data["a"]),
            occurred_at=datetime.fromisoformat(data["at"]),
        )
    except (orjson.JSONDecodeError, AttributeError, KeyError, TypeError, ValueError):
        return None


def notice_of(entry: AuditEvent) -> Notice | None:
    if entry.event is None:
        return None
    return Notice(
        tenant_id=entry.tenant_id,
        event=entry.event,
        target_type=entry.target_type,
        target_id=entry.target_id,
        audit_id=entry.id,
        occurred_at=entry.created_at,
    )


def note(session: Session, entries: Sequence[AuditEvent]) -> None:
    """Keep the notices of ``entries`` for this process's followers, if the session's database has no trigger.

    Only sessions of a SQLite database carry a local feed; PostgreSQL's trigger tells
    every process, this one included.
    """
    if session.info.get(LIVE_FEED_INFO_KEY) is None:
        return
    notices = [found for found in map(notice_of, entries) if found is not None]
    if notices:
        session.info.setdefault(_NOTICES_INFO_KEY, []).extend(notices)


@event.listens_for(TenantSession, "after_commit")
def _publish_after_commit(session: Session) -> None:
    notices: list[Notice] | None = session.info.pop(_NOTICES_INFO_KEY, None)
    feeds: list[Callable[[Sequence[Notice]], None]] | None = session.info.get(LIVE_FEED_INFO_KEY)
    if notices and feeds:
        for publish in feeds:
            publish(notices)


@event.listens_for(TenantSession, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_NOTICES_INFO_KEY, None)


class LiveFeed:
    """This process's followers of tenants, and on PostgreSQL the connection that hears for them."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._sinks: dict[uuid.UUID, set[Sink]] = {}
        self._lock = asyncio.Lock()  # connecting, LISTEN and UNLISTEN take turns
        self._connection: asyncpg.Connection | None = None
        self._listening: set[uuid.UUID] = set()  # the tenants whose channels the connection listens on
        self._keeper: asyncio.Task[None] | None = None
        self._lost = asyncio.Event()
        self._missed = False  # notices may have gone by unheard: tell the followers once listening
        self._closed = False
        self.reconnects = 0
        if database.is_sqlite:
            database.local_feeds.append(self.publish)

    @property
    def listening(self) -> bool:
        """PostgreSQL: the listening connection is up (SQLite: always)."""
        return self.database.is_sqlite or (self._connection is not None and not self._connection.is_closed())

    def followed(self) -> dict[uuid.UUID, int]:
        """Followers by tenant (for the process's own figures)."""
        return {tenant: len(sinks) for tenant, sinks in self._sinks.items()}

    async def follow(self, tenant_id: uuid.UUID, sink: Sink) -> None:
        """Call ``sink`` with the tenant's notices from now on (listening first, on PostgreSQL)."""
        if self._closed:
            raise RuntimeError("the live feed is closed")
        async with self._lock:
            self._sinks.setdefault(tenant_id, set()).add(sink)
            if self.database.is_sqlite:
                return
            if self._keeper is None:
                self._keeper = asyncio.get_running_loop().create_task(self._keep())
            connection = self._connection
            if connection is not None and not connection.is_closed() and tenant_id not in self._listening:
                try:
                    await connection.add_listener(channel(tenant_id), self._heard)
                    self._listening.add(tenant_id)
                except Exception as error:  # the keeper sees the loss and listens again
                    log.warning("could not listen for live updates: %s", error)
                    self._connection_lost()
        if self._connection is None:
            await self._first_connection()

    async def unfollow(self, tenant_id: uuid.UUID, sink: Sink) -> None:
        """Stop calling ``sink``; the channel itself is left a while later (``_leave_unfollowed``).

        Leaving it at once would let one client, subscribing and completing in a loop,
        keep the listening connection busy with ``LISTEN`` and ``UNLISTEN``.
        """
        async with self._lock:
            sinks = self._sinks.get(tenant_id)
            if sinks is None:
                return
            sinks.discard(sink)
            if not sinks:
                del self._sinks[tenant_id]

    def publish(self, notices: Sequence[Notice]) -> None:
        """Hand committed notices to their tenants' followers in this process."""
        for notice in notices:
            for sink in list(self._sinks.get(notice.tenant_id, ())):
                sink(notice)

    async def close(self) -> None:
        self._closed = True
        if self._keeper is not None:
            self._keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keeper
            self._keeper = None
        await self._drop_connection()
        if self.publish in self.database.local_feeds:
            self.database.local_feeds.remove(self.publish)

    async def _first_connection(self) -> None:
        """Wait (a little) for the keeper's first connection, so a new follower hears from the start."""
        for _ in range(50):
            if self._connection is not None or self._missed:
                return
            await asyncio.sleep(0.1)

    def _heard(self, _connection: Any, _pid: int, channel_name: str, payload: str) -> None:
        tenant_id = tenant_of(channel_name)
        if tenant_id is None:
            return
        notice = decode(tenant_id, payload)
        if notice is None:
            log.warning("ignored a malformed live notice on %s", channel_name)
            return
        self.publish([notice])

    def _connection_lost(self, *_args: Any) -> None:
        self._missed = True
        self._lost.set()

    async def _keep(self) -> None:
        """Hold the listening connection: open it, listen, watch it, and do it again when it goes."""
        attempt = 0
        while True:
            try:
                await self._connect()
            except Exception as error:
                if attempt == 0:
                    log.warning("cannot listen for live updates, retrying: %s", error)
                self._missed = True
                await asyncio.sleep(RECONNECT_DELAYS[min(attempt, len(RECONNECT_DELAYS) - 1)])
                attempt += 1
                continue
            if attempt:
                log.info("listening for live updates again")
            attempt = 0
            await self._watch()
            self.reconnects += 1
            await self._drop_connection()

    async def _connect(self) -> None:
        connection = await listen_connection(self.database, APPLICATION_NAME)
        try:
            async with self._lock:
                self._lost.clear()
                connection.add_termination_listener(self._connection_lost)
                for tenant_id in list(self._sinks):
                    await connection.add_listener(channel(tenant_id), self._heard)
                self._listening = set(self._sinks)
                self._connection = connection
                missed, self._missed = self._missed, False
                followers = [sink for sinks in self._sinks.values() for sink in sinks]
        except BaseException:
            connection.terminate()
            raise
        if missed:
            for sink in followers:
                sink(None)

    async def _watch(self) -> None:
        """Return when the connection is lost, or stops answering."""
        connection = self._connection
        while connection is not None:
            try:
                await asyncio.wait_for(self._lost.wait(), HEALTH_CHECK_SECONDS)
                return
            except TimeoutError:
                pass
            try:
                async with self._lock:
                    await connection.fetchval("SELECT 1", timeout=5)
                    await self._leave_unfollowed(connection)
            except Exception:
                self._connection_lost()
                return

    async def _leave_unfollowed(self, connection: asyncpg.Connection) -> None:
        """``UNLISTEN`` the channels of tenants nobody here has followed since the last look."""
        for tenant_id in self._listening - set(self._sinks):
            await connection.remove_listener(channel(tenant_id), self._heard)
            self._listening.discard(tenant_id)

    async def _drop_connection(self) -> None:
        async with self._lock:
            connection, self._connection = self._connection, None
            self._listening = set()
        if connection is not None and not connection.is_closed():
            connection.terminate()
