"""PostgreSQL roles: an owner migrates, the serving role holds only the DML it needs.

Row-level security and the audit trail's append-only trigger are walls only while
the role the server connects as cannot lower them. A table's owner can ``ALTER
TABLE ... DISABLE ROW LEVEL SECURITY``, ``DISABLE TRIGGER`` and ``TRUNCATE``; a
superuser or a BYPASSRLS role ignores the policies outright. So the serving role
owns nothing, and after every migration ``grant_runtime_role`` (run as the owner)
sets its privileges to exactly:

- ``SELECT, INSERT, UPDATE, DELETE`` on every table of the schema, except the
  audit trail (``SELECT, INSERT``: append-only) and Alembic's version table
  (``SELECT``: the migration state belongs to the migrator);
- ``USAGE`` on the sequences and ``EXECUTE`` on the functions of the schema;
- ``USAGE`` on the schema, no ``CREATE``; ``CONNECT`` on the database;
- the same as default privileges, so tables a later migration adds are usable
  before the next grant (which then narrows them if they need it).

Privileges drifted by hand are revoked and granted again, so the grant is
idempotent. The list of tables is read from the catalogue: new migrations need no
change here unless a table must be narrower than DML.
"""

from __future__ import annotations

import logging

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from db.database import Database, is_sqlite_url
from settings import ConfigurationError

log = logging.getLogger("rigbook.roles")

TABLE_DML = ("SELECT", "INSERT", "UPDATE", "DELETE")
# Tables the serving role may do less to than to the rest.
LIMITED_TABLES: dict[str, tuple[str, ...]] = {
    "audit_event": ("SELECT", "INSERT"),
    "alembic_version": ("SELECT",),
}
_OWNED_RELATIONS = """
SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND pg_has_role(:role, c.relowner, 'MEMBER')
ORDER BY c.relname LIMIT 5
"""


class RoleError(ConfigurationError):
    """The serving role cannot be given its privileges (or would not be bound by them)."""


def serving_role(database_url: str, migration_url: str) -> str:
    """The role of ``RIGBOOK_DATABASE_URL``, once both URLs are known to fit together."""
    if is_sqlite_url(database_url) or is_sqlite_url(migration_url):
        raise RoleError("RIGBOOK_MIGRATION_DATABASE_URL is for PostgreSQL (SQLite has no roles): unset it")
    serving, owner = make_url(database_url), make_url(migration_url)
    if serving.database != owner.database:
        raise RoleError(
            f"RIGBOOK_DATABASE_URL names database {serving.database!r} but "
            f"RIGBOOK_MIGRATION_DATABASE_URL names {owner.database!r}: they must be the same"
        )
    if not serving.username:
        raise RoleError("RIGBOOK_DATABASE_URL must name the role the server connects as")
    return serving.username


async def grant_runtime_role(owner_url: str, runtime_role: str) -> None:
    """Give ``runtime_role`` exactly the privileges above, in one transaction as the owner."""
    database = Database(owner_url)
    try:
        async with database.engine.begin() as connection:
            await _check_runtime_role(connection, runtime_role)
            for statement in await _grants(connection, runtime_role):
                await connection.execute(text(statement))
            if await _can(
                connection, "has_schema_privilege(:role, current_schema(), 'CREATE')", runtime_role
            ):
                raise RoleError(
                    f"role {runtime_role} can still create objects in the schema (through a role it "
                    "belongs to?): it must not"
                )
    except DBAPIError as error:  # e.g. a table the migrating role neither owns nor may grant on
        raise RoleError(f"could not grant role {runtime_role} its privileges: {error.orig}") from error
    finally:
        await database.dispose()
    log.info("granted role %s its privileges", runtime_role)


async def _check_runtime_role(connection: AsyncConnection, role: str) -> None:
    found = (
        await connection.execute(
            text("SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = :role"),
            {"role": role},
        )
    ).one_or_none()
    if found is None:
        raise RoleError(
            f"role {role} (the user of RIGBOOK_DATABASE_URL) does not exist: "
            f"CREATE ROLE {role} LOGIN PASSWORD '…' NOSUPERUSER NOBYPASSRLS"
        )
    migrator, superuser, bypassrls = found
    if superuser or bypassrls:
        raise RoleError(
            f"role {role} is a superuser or has BYPASSRLS, so row-level security does not bind it: "
            f"ALTER ROLE {role} NOSUPERUSER NOBYPASSRLS"
        )
    owned = (await connection.execute(text(_OWNED_RELATIONS), {"role": role})).scalars().all()
    if owned:
        raise RoleError(
            f"role {role} (the user of RIGBOOK_DATABASE_URL) owns {', '.join(owned)} … and could lower "
            f"row-level security: it must own nothing. As a superuser: REASSIGN OWNED BY {role} TO {migrator}"
        )


async def _can(connection: AsyncConnection, check: str, role: str) -> bool:
    return bool((await connection.execute(text(f"SELECT {check}"), {"role": role})).scalar_one())


async def _grants(connection: AsyncConnection, role: str) -> list[str]:
    schema, database = (await connection.execute(text("SELECT current_schema(), current_database()"))).one()
    quote = connection.dialect.identifier_preparer.quote
    who, where = quote(role), quote(schema)
    statements: list[str] = []
    # Granted only when missing: PUBLIC usually holds them already, and granting needs
    # ownership of the database or schema, which the migrating role may lack.
    if not await _can(connection, "has_database_privilege(:role, current_database(), 'CONNECT')", role):
        statements.append(f"GRANT CONNECT ON DATABASE {quote(database)} TO {who}")
    if not await _can(connection, "has_schema_privilege(:role, current_schema(), 'USAGE')", role):
        statements.append(f"GRANT USAGE ON SCHEMA {where} TO {who}")
    if await _can(connection, "has_schema_privilege(:role, current_schema(), 'CREATE')", role):
        # PostgreSQL before 15 lets PUBLIC create in the public schema.
        statements += [
            f"REVOKE CREATE ON SCHEMA {where} FROM PUBLIC",
            f"REVOKE CREATE ON SCHEMA {where} FROM {who}",
        ]
    dml = ", ".join(TABLE_DML)
    statements += [
        f"REVOKE ALL ON ALL TABLES IN SCHEMA {where} FROM {who}",
        f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {where} FROM {who}",
        f"GRANT {dml} ON ALL TABLES IN SCHEMA {where} TO {who}",
        f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA {where} TO {who}",
        f"GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA {where} TO {who}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {where} GRANT {dml} ON TABLES TO {who}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {where} GRANT USAGE ON SEQUENCES TO {who}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {where} GRANT EXECUTE ON FUNCTIONS TO {who}",
    ]
    tables = set(
        (
            await connection.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
            )
        ).scalars()
    )
    for table, privileges in LIMITED_TABLES.items():
        if table in tables:
            statements += [
                f"REVOKE ALL ON TABLE {where}.{quote(table)} FROM {who}",
                f"GRANT {', '.join(privileges)} ON TABLE {where}.{quote(table)} TO {who}",
            ]
    return statements


async def serving_role_warnings(database_url: str) -> list[str]:
    """Why the role of ``database_url`` could lower row-level security or the audit trail, if it could."""
    if is_sqlite_url(database_url):
        return []
    database = Database(database_url)
    try:
        async with database.engine.connect() as connection:
            role, superuser, bypassrls = (
                await connection.execute(
                    text(
                        "SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
                    )
                )
            ).one()
            owned = (await connection.execute(text(_OWNED_RELATIONS), {"role": role})).scalars().all()
    finally:
        await database.dispose()
    advice = "serve as a role that owns nothing (README: PostgreSQL)"
    warnings = []
    if superuser:
        warnings.append(
            f"RIGBOOK_DATABASE_URL connects as {role}, a superuser: row-level security does not bind it; {advice}"
        )
    elif bypassrls:
        warnings.append(
            f"RIGBOOK_DATABASE_URL connects as {role}, which has BYPASSRLS: row-level security does not bind it; {advice}"
        )
    if owned:
        warnings.append(
            f"RIGBOOK_DATABASE_URL connects as {role}, which owns {', '.join(owned)} …: it could disable "
            f"row-level security and the audit trail's trigger; {advice}"
        )
    return warnings
