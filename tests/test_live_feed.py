"""The live feed on both databases: committed domain events reach their tenant's followers, as ids.

Nothing is heard of a change that rolled back, or of another tenant's; on PostgreSQL
the notice comes through the trigger and the process's own listening connection,
which recovers from being cut off and then tells its followers to read again.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from auth.services import Services
from db.audit import ACTOR_INFO_KEY, Actor
from db.live import APPLICATION_NAME, Notice, channel, decode
from db.tables import Equipment, Tracking
from resolvers.live.inbox import Inbox
from tests.api import Api, TenantUsers
from tests.booking import line, reserve
from tests.databases import _asyncpg_dsn

WAIT = 10.0  # seconds: an upper bound on every wait, never a speed target


class Heard:
    """A follower that keeps what it hears."""

    def __init__(self) -> None:
        self.items: list[Notice | None] = []
        self._changed = asyncio.Event()

    def __call__(self, notice: Notice | None) -> None:
        self.items.append(notice)
        self._changed.set()

    async def until(self, count: int) -> list[Notice | None]:
        async def enough() -> None:
            while len(self.items) < count:
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(enough(), WAIT)
        return self.items

    def events(self) -> list[str]:
        return [item.event if item is not None else "GAP" for item in self.items]


async def _settled(services: Services) -> None:
    """Long enough for a notice already committed to arrive (the bound of a negative check)."""
    await asyncio.sleep(0.5 if not services.database.is_sqlite else 0.05)


async def test_a_committed_booking_is_heard_by_its_tenant_only(
    api: Api, services: Services, staff_token: str, wall: dict[str, Any], esr: TenantUsers, cmh: TenantUsers
) -> None:
    feed = services.live
    ours, theirs = Heard(), Heard()
    await feed.follow(esr.tenant.id, ours)
    await feed.follow(cmh.tenant.id, theirs)
    try:
        made = await reserve(api, staff_token, [line(wall, 2)])
        assert made["__typename"] == "CreateReservationSuccess"
        [notice] = await ours.until(1)
        assert notice is not None
        assert notice.event == "reservation.created"
        assert notice.target_type == "reservation"
        assert notice.tenant_id == esr.tenant.id
        await _settled(services)
        assert ours.events() == ["reservation.created"]  # the lines announce nothing of their own
        assert theirs.items == []
    finally:
        await feed.unfollow(esr.tenant.id, ours)
        await feed.unfollow(cmh.tenant.id, theirs)


async def test_a_refused_booking_and_a_rolled_back_change_are_not_heard(
    api: Api, services: Services, staff_token: str, wall: dict[str, Any], esr: TenantUsers
) -> None:
    heard = Heard()
    await services.live.follow(esr.tenant.id, heard)
    try:
        refused = await reserve(api, staff_token, [line(wall, 7)])  # only 6 walls
        assert refused["__typename"] == "ConflictError"

        async def change_then_fail() -> None:
            async with services.database.transaction(esr.tenant.id) as session:
                session.info[ACTOR_INFO_KEY] = Actor(esr.admin.id, "user", "req-1")
                session.add(
                    Equipment(
                        tenant_id=esr.tenant.id, name="Hazer", code="HZ-1", quantity=2, tracking=Tracking.BULK
                    )
                )
                await session.flush()  # the audit entry is written (and on PostgreSQL NOTIFY is sent) here
                raise RuntimeError("after the change")

        with pytest.raises(RuntimeError):
            await change_then_fail()
        # A change that did commit, afterwards: once it is heard, anything earlier would have been too.
        made = await reserve(api, staff_token, [line(wall, 1)])
        assert made["__typename"] == "CreateReservationSuccess"
        await heard.until(1)
        await _settled(services)
        assert heard.events() == ["reservation.created"]
    finally:
        await services.live.unfollow(esr.tenant.id, heard)


async def test_an_unfollowed_tenant_is_heard_no_more(
    api: Api, services: Services, staff_token: str, wall: dict[str, Any], esr: TenantUsers
) -> None:
    first, second = Heard(), Heard()
    feed = services.live
    await feed.follow(esr.tenant.id, first)
    await feed.follow(esr.tenant.id, second)
    await feed.unfollow(esr.tenant.id, first)
    await reserve(api, staff_token, [line(wall, 1)])
    await second.until(1)
    await _settled(services)
    assert first.items == []
    await feed.unfollow(esr.tenant.id, second)
    assert feed.followed() == {}


async def test_a_cut_listening_connection_comes_back_and_says_to_read_again(
    postgres_only: None,
    api: Api,
    services: Services,
    database_url: str,
    staff_token: str,
    wall: dict[str, Any],
    esr: TenantUsers,
) -> None:
    feed = services.live
    heard = Heard()
    await feed.follow(esr.tenant.id, heard)
    try:
        admin = await asyncpg.connect(_asyncpg_dsn(database_url))
        try:
            ended = await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = $1 AND datname = current_database()",
                APPLICATION_NAME,
            )
        finally:
            await admin.close()
        assert ended == 1
        await heard.until(1)
        assert heard.items == [None]  # read everything again: notices may have gone by unheard
        await reserve(api, staff_token, [line(wall, 1)])
        await heard.until(2)
        assert heard.events() == ["GAP", "reservation.created"]
        assert feed.reconnects == 1
    finally:
        await feed.unfollow(esr.tenant.id, heard)


def test_a_payload_that_is_not_a_notice_is_ignored() -> None:
    tenant = uuid.uuid4()
    assert decode(tenant, "") is None
    assert decode(tenant, "not json") is None
    assert decode(tenant, '{"e": "reservation.created"}') is None
    assert decode(tenant, '["a"]') is None
    assert (
        decode(tenant, '{"a": "x", "e": "e", "t": "t", "i": null, "at": "2026-01-01T00:00:00+00:00"}') is None
    )
    assert decode(tenant, "x" * 5000) is None
    audit = uuid.uuid4()
    notice = decode(
        tenant, f'{{"a": "{audit}", "e": "e", "t": "t", "i": null, "at": "2026-01-01T00:00:00+00:00"}}'
    )
    assert notice is not None and notice.audit_id == audit and notice.target_id is None
    assert len(channel(tenant)) <= 63  # a PostgreSQL identifier


async def test_an_inbox_that_falls_behind_asks_for_one_refetch_instead_of_growing() -> None:
    inbox = Inbox(3, lambda notice: notice.event != "unwanted")

    def notice(event: str) -> Notice:
        return Notice(uuid.uuid4(), event, "reservation", uuid.uuid4(), uuid.uuid4(), datetime.now(UTC))

    inbox.put(notice("unwanted"))
    assert len(inbox) == 0
    for _ in range(3):
        inbox.put(notice("a"))
    assert len(inbox) == 3
    inbox.put(notice("a"))  # one too many: what waits is covered by reading everything again
    assert len(inbox) == 1
    assert await inbox.get() is None
    inbox.put(notice("b"))
    got = await inbox.get()
    assert got is not None and got.event == "b"
