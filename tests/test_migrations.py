"""Migrations create the schema the tables describe, on both databases, idempotently."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import db.tables  # noqa: F401
from auth.services import Services
from db.migrate import upgrade

TENANT_OWNED = {
    table.name
    for table in SQLModel.metadata.sorted_tables
    if "tenant_id" in [column.name for column in table.primary_key]
}


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": False})
    return list(compare_metadata(context, SQLModel.metadata))


async def test_migrate_is_idempotent_and_matches_the_tables(database_url: str, services: Services) -> None:
    await upgrade(database_url)  # already at head: a no-op
    await upgrade(database_url)
    async with services.database.engine.connect() as connection:
        assert await connection.run_sync(_differences) == []


def _keys(connection: Connection) -> dict[str, Any]:
    inspector = inspect(connection)
    return {
        table: (inspector.get_pk_constraint(table)["constrained_columns"], inspector.get_foreign_keys(table))
        for table in inspector.get_table_names()
    }


async def test_tenant_owned_tables_are_keyed_by_tenant(services: Services) -> None:
    assert {
        "app_user",
        "equipment",
        "reservation",
        "reservation_line",
        "design",
        "audit_event",
    } <= TENANT_OWNED
    async with services.database.engine.connect() as connection:
        keys = await connection.run_sync(_keys)
    for table in TENANT_OWNED:
        primary_key, foreign_keys = keys[table]
        assert primary_key[:2] == ["tenant_id", "id"], table
        for foreign_key in foreign_keys:
            if foreign_key["referred_table"] != "tenant":
                assert foreign_key["constrained_columns"][0] == "tenant_id", (table, foreign_key)
                assert foreign_key["referred_columns"][0] == "tenant_id", (table, foreign_key)
