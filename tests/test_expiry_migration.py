"""Migration 0012 (EXPIRED, reminder marks) keeps every reservation, line, key and index."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from db.database import Database
from db.migrate import alembic_config
from db.types import UtcDateTime
from tests.databases import OWNER_ROLE, _admin, _with_database, backends, postgres_url

BEFORE = "0010"
WHEN = datetime(2026, 6, 1, 9, tzinfo=UTC)


@pytest.fixture(params=backends())
async def old_database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database migrated up to the revision before expiry."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
        await asyncio.to_thread(command.upgrade, alembic_config(url), BEFORE)
        yield url
        return
    admin_url = postgres_url()
    assert admin_url is not None
    name = f"rigbook_old_{uuid.uuid4().hex[:10]}"
    await _admin(admin_url, f'CREATE DATABASE "{name}" OWNER {OWNER_ROLE}')
    url = _with_database(admin_url, name, OWNER_ROLE)
    try:
        await asyncio.to_thread(command.upgrade, alembic_config(url), BEFORE)
        yield url
    finally:
        await _admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _table(table: str, /, **columns: sa.types.TypeEngine[Any]) -> sa.TableClause:
    return sa.table(table, *(sa.column(key, kind) for key, kind in columns.items()))


ID = sa.Uuid()
TENANT = _table(
    "tenant",
    id=ID,
    slug=sa.String(),
    name=sa.String(),
    timezone=sa.String(),
    settings=sa.JSON(),
    reservation_counter=sa.Integer(),
    created_at=UtcDateTime(),
)
EQUIPMENT = _table(
    "equipment",
    tenant_id=ID,
    id=ID,
    name=sa.String(),
    code=sa.String(),
    category=sa.String(),
    description=sa.String(),
    tags=sa.JSON(),
    tracking=sa.String(),
    quantity=sa.Integer(),
    buffer_before=sa.Integer(),
    buffer_after=sa.Integer(),
    status=sa.String(),
    created_at=UtcDateTime(),
    updated_at=UtcDateTime(),
)
RESERVATION = _table(
    "reservation",
    tenant_id=ID,
    id=ID,
    number=sa.Integer(),
    title=sa.String(),
    starts_at=UtcDateTime(),
    ends_at=UtcDateTime(),
    status=sa.String(),
    notes=sa.String(),
    version=sa.Integer(),
    created_at=UtcDateTime(),
    updated_at=UtcDateTime(),
)
LINE = _table(
    "reservation_line",
    tenant_id=ID,
    id=ID,
    reservation_id=ID,
    position=sa.Integer(),
    equipment_id=ID,
    quantity=sa.Integer(),
)


async def _seed(url: str, tenant: uuid.UUID, reservation: uuid.UUID) -> None:
    """A tenant with one equipment and one request for two of it."""
    equipment = uuid.uuid4()
    database = Database(url)
    try:
        async with database.transaction(tenant) as session:
            await session.execute(
                sa.insert(TENANT).values(
                    id=tenant,
                    slug="old",
                    name="Old",
                    timezone="UTC",
                    settings={},
                    reservation_counter=1,
                    created_at=WHEN,
                )
            )
            await session.execute(
                sa.insert(EQUIPMENT).values(
                    tenant_id=tenant,
                    id=equipment,
                    name="Wall",
                    code="W",
                    category="",
                    description="",
                    tags=[],
                    tracking="BULK",
                    quantity=3,
                    buffer_before=0,
                    buffer_after=0,
                    status="ACTIVE",
                    created_at=WHEN,
                    updated_at=WHEN,
                )
            )
            await session.execute(
                sa.insert(RESERVATION).values(
                    tenant_id=tenant,
                    id=reservation,
                    number=1,
                    title="Gala",
                    starts_at=WHEN,
                    ends_at=WHEN.replace(hour=18),
                    status="REQUESTED",
                    notes="",
                    version=1,
                    created_at=WHEN,
                    updated_at=WHEN,
                )
            )
            await session.execute(
                sa.insert(LINE).values(
                    tenant_id=tenant,
                    id=uuid.uuid4(),
                    reservation_id=reservation,
                    position=0,
                    equipment_id=equipment,
                    quantity=2,
                )
            )
    finally:
        await database.dispose()


def _structure(connection: Connection) -> dict[str, Any]:
    inspector = sa.inspect(connection)
    found: dict[str, Any] = {}
    for table in ("reservation", "reservation_line"):
        found[table] = {
            "columns": sorted(column["name"] for column in inspector.get_columns(table)),
            "primary key": inspector.get_pk_constraint(table)["constrained_columns"],
            "foreign keys": sorted(
                (
                    key["constrained_columns"],
                    key["referred_table"],
                    key["referred_columns"],
                    key.get("options", {}).get("ondelete"),
                )
                for key in inspector.get_foreign_keys(table)
            ),
            "indexes": sorted(
                (index["name"], index["column_names"], bool(index["unique"]))
                for index in inspector.get_indexes(table)
            ),
            "unique": sorted(
                (unique["name"], unique["column_names"]) for unique in inspector.get_unique_constraints(table)
            ),
            "checks": sorted(check["name"] for check in inspector.get_check_constraints(table)),
        }
    return found


async def _inspect(url: str, tenant: uuid.UUID) -> tuple[dict[str, Any], list[tuple[str, int]]]:
    """The two tables' structure, and each reservation's status and number of lines."""
    database = Database(url)
    try:
        async with database.engine.connect() as connection:
            structure = await connection.run_sync(_structure)
        async with database.session(tenant) as session:
            rows = (
                await session.execute(
                    sa.text(
                        "SELECT r.status, (SELECT count(*) FROM reservation_line l WHERE l.tenant_id = r.tenant_id "
                        "AND l.reservation_id = r.id) FROM reservation r ORDER BY r.number"
                    )
                )
            ).all()
        return structure, [(row[0], int(row[1])) for row in rows]
    finally:
        await database.dispose()


async def _set_status(url: str, tenant: uuid.UUID, reservation: uuid.UUID, status: str) -> None:
    database = Database(url)
    try:
        async with database.transaction(tenant) as session:
            await session.execute(
                sa.update(RESERVATION).where(RESERVATION.c.id == reservation).values(status=status)
            )
    finally:
        await database.dispose()


async def test_the_upgrade_keeps_every_line_key_and_index_and_allows_expired(old_database: str) -> None:
    tenant, reservation = uuid.uuid4(), uuid.uuid4()
    await _seed(old_database, tenant, reservation)
    before, rows = await _inspect(old_database, tenant)
    assert rows == [("REQUESTED", 1)]

    await asyncio.to_thread(command.upgrade, alembic_config(old_database), "head")
    after, rows = await _inspect(old_database, tenant)
    assert rows == [("REQUESTED", 1)]
    expected = {table: dict(parts) for table, parts in before.items()}
    expected["reservation"]["columns"] = sorted(
        [*before["reservation"]["columns"], "pickup_reminded_at", "overdue_notified_at"]
    )
    expected["reservation"]["indexes"] = sorted(
        [
            *before["reservation"]["indexes"],
            ("ix_reservation_status", ["tenant_id", "status", "starts_at"], False),
        ]
    )
    assert after == expected

    await _set_status(old_database, tenant, reservation, "EXPIRED")
    with pytest.raises(IntegrityError):
        await _set_status(old_database, tenant, reservation, "LOST")

    await asyncio.to_thread(command.downgrade, alembic_config(old_database), BEFORE)
    downgraded, rows = await _inspect(old_database, tenant)
    assert rows == [("DECLINED", 1)]
    assert downgraded == before
