"""PostgreSQL roles: the server runs as a role that owns nothing and cannot lower its own walls.

The owner role migrates (``RIGBOOK_MIGRATION_DATABASE_URL``); ``rigbook migrate``
then grants the serving role of ``RIGBOOK_DATABASE_URL`` its DML, and nothing more.
The whole suite runs as that serving role (``tests/databases.py``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from auth.services import Services
from tests.api import TenantUsers
from tests.databases import (
    OWNER_ROLE,
    RUNTIME_ROLE,
    PostgresTemplate,
    _asyncpg_dsn,
    postgres_url,
    with_role,
)

ROOT = Path(__file__).parent.parent
PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")
# What the serving role may do to each table; every other table gets full DML.
LIMITED = {"audit_event": {"SELECT", "INSERT"}, "alembic_version": {"SELECT"}}
DML = {"SELECT", "INSERT", "UPDATE", "DELETE"}

needs_postgres = pytest.mark.skipif(postgres_url() is None, reason="roles are a PostgreSQL feature")


# Each one must be refused to the serving role for lack of a privilege, not stopped by
# a trigger or a constraint: the owner could run every one of them.
LOWERING_THE_WALLS = [
    "TRUNCATE audit_event",
    "ALTER TABLE audit_event DISABLE TRIGGER ALL",
    "ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only",
    "ALTER TABLE reservation DISABLE ROW LEVEL SECURITY",
    "ALTER TABLE reservation NO FORCE ROW LEVEL SECURITY",
    "DROP POLICY tenant_isolation ON app_user",
    "UPDATE audit_event SET action = 'forged'",
    "DELETE FROM audit_event",
    "TRUNCATE tenant CASCADE",
    "CREATE TABLE planted (id int)",
    "CREATE FUNCTION planted() RETURNS int AS 'SELECT 1' LANGUAGE sql",
    "UPDATE alembic_version SET version_num = '0001'",
    "DROP TABLE outbox_email",
]


@pytest.mark.usefixtures("postgres_only")
@pytest.mark.parametrize("statement", LOWERING_THE_WALLS)
async def test_the_serving_role_cannot_lower_the_walls(
    services: Services, esr: TenantUsers, statement: str
) -> None:
    with pytest.raises(DBAPIError, match=r"permission denied for|must be owner of"):
        async with services.database.transaction(esr.tenant.id) as session:
            await session.execute(text(statement))


@pytest.mark.usefixtures("postgres_only")
async def test_the_serving_role_owns_nothing_and_is_no_superuser(services: Services) -> None:
    async with services.database.engine.connect() as connection:
        assert (await connection.execute(text("SELECT current_user"))).scalar_one() == RUNTIME_ROLE
        role = (
            await connection.execute(
                text(
                    "SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = current_user"
                )
            )
        ).one()
        owned = (
            await connection.execute(
                text(
                    "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = 'public' AND pg_has_role(current_user, c.relowner, 'USAGE')"
                )
            )
        ).scalar_one()
    assert tuple(role) == (False, False, False, False)
    assert owned == 0


async def _privileges(dsn: str) -> dict[str, set[str]]:
    """What the serving role may do to each table in ``public``, by the catalogue."""
    connection = await asyncpg.connect(dsn, timeout=10)
    try:
        tables = [
            row["tablename"]
            for row in await connection.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ]
        granted: dict[str, set[str]] = {}
        for table in tables:
            granted[table] = {
                privilege
                for privilege in PRIVILEGES
                if await connection.fetchval(
                    "SELECT has_table_privilege($1, $2, $3)", RUNTIME_ROLE, f"public.{table}", privilege
                )
            }
        sequences = await connection.fetch(
            "SELECT sequencename, has_sequence_privilege($1, 'public.' || sequencename, 'USAGE') AS usable "
            "FROM pg_sequences WHERE schemaname = 'public'",
            RUNTIME_ROLE,
        )
        for row in sequences:
            granted[f"sequence {row['sequencename']}"] = {"USAGE"} if row["usable"] else set()
        granted["schema public"] = {
            privilege
            for privilege in ("USAGE", "CREATE")
            if await connection.fetchval(
                "SELECT has_schema_privilege($1, 'public', $2)", RUNTIME_ROLE, privilege
            )
        }
        owners = {
            row["tableowner"]
            for row in await connection.fetch("SELECT tableowner FROM pg_tables WHERE schemaname = 'public'")
        }
        granted["owners"] = owners
    finally:
        await connection.close()
    return granted


def _rigbook(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {key: value for key, value in os.environ.items() if not key.startswith("RIGBOOK_")}
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
async def empty_postgres(postgres_template: PostgresTemplate | None) -> AsyncIterator[tuple[str, str]]:
    """An empty database owned by the owner role: (serving URL, owner URL)."""
    if postgres_template is None:
        pytest.skip("roles are a PostgreSQL feature")
    runtime_url, owner_url, name = await postgres_template.empty()
    yield runtime_url, owner_url
    await postgres_template.drop(name)


@needs_postgres
async def test_migrate_as_the_owner_grants_the_serving_role_exactly_its_dml_idempotently(
    empty_postgres: tuple[str, str],
) -> None:
    runtime_url, owner_url = empty_postgres
    env = {"RIGBOOK_DATABASE_URL": runtime_url, "RIGBOOK_MIGRATION_DATABASE_URL": owner_url}
    first = _rigbook("migrate", **env)
    assert first.returncode == 0, first.stderr
    granted = await _privileges(_asyncpg_dsn(owner_url))
    tables = [name for name in granted if not name.startswith(("sequence ", "schema ", "owners"))]
    assert {"tenant", "app_user", "reservation", "audit_event", "outbox_email", "alembic_version"} <= set(
        tables
    )
    for table in tables:
        assert granted[table] == LIMITED.get(table, DML), table
    assert granted["sequence login_failure_id_seq"] == {"USAGE"}
    assert granted["schema public"] == {"USAGE"}
    assert granted["owners"] == {OWNER_ROLE}

    # A drifted grant is put back; a second run changes nothing else.
    connection = await asyncpg.connect(_asyncpg_dsn(owner_url), timeout=10)
    try:
        await connection.execute(f"GRANT TRUNCATE, UPDATE ON audit_event TO {RUNTIME_ROLE}")
    finally:
        await connection.close()
    second = _rigbook("migrate", **env)
    assert second.returncode == 0, second.stderr
    assert await _privileges(_asyncpg_dsn(owner_url)) == granted


@needs_postgres
async def test_migrate_refuses_a_serving_role_that_owns_the_tables(empty_postgres: tuple[str, str]) -> None:
    _, owner_url = empty_postgres
    same = _rigbook("migrate", RIGBOOK_DATABASE_URL=owner_url, RIGBOOK_MIGRATION_DATABASE_URL=owner_url)
    assert same.returncode == 2
    assert "configuration error" in same.stderr
    assert OWNER_ROLE in same.stderr


@needs_postgres
async def test_migrate_grants_tables_a_later_migration_adds(empty_postgres: tuple[str, str]) -> None:
    """Default privileges cover a table the owner creates after the last ``rigbook migrate``."""
    runtime_url, owner_url = empty_postgres
    result = _rigbook("migrate", RIGBOOK_DATABASE_URL=runtime_url, RIGBOOK_MIGRATION_DATABASE_URL=owner_url)
    assert result.returncode == 0, result.stderr
    owner = await asyncpg.connect(_asyncpg_dsn(owner_url), timeout=10)
    try:
        await owner.execute("CREATE TABLE later_table (id bigserial PRIMARY KEY, note text)")
    finally:
        await owner.close()
    runtime = await asyncpg.connect(_asyncpg_dsn(runtime_url), timeout=10)
    try:
        await runtime.execute("INSERT INTO later_table (note) VALUES ('x')")
        assert await runtime.fetchval("SELECT count(*) FROM later_table") == 1
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await runtime.execute("TRUNCATE later_table")
    finally:
        await runtime.close()


def _serve_output(database_url: str, tmp_path: Path, **env: str) -> str:
    """Start ``rigbook serve`` in production on a loopback port; its log until it is ready."""
    port = _free_port()
    clean = {key: value for key, value in os.environ.items() if not key.startswith("RIGBOOK_")}
    log = tmp_path / "serve.log"
    with log.open("w") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "cli", "serve", "--port", str(port)],
            cwd=ROOT,
            env={
                **clean,
                "RIGBOOK_ENV": "production",
                "RIGBOOK_JWT_SECRET": "s" * 48,
                "RIGBOOK_DATABASE_URL": database_url,
                **env,
            },
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert process.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "server did not become ready"
                time.sleep(0.2)
        finally:
            process.terminate()
            process.wait(timeout=30)
    return log.read_text()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.mark.socket
@pytest.mark.usefixtures("postgres_only")
@pytest.mark.parametrize(
    ("role", "warning"),
    [(None, "superuser"), (OWNER_ROLE, "owns"), (RUNTIME_ROLE, None)],
)
def test_serve_warns_when_the_serving_role_could_lower_the_walls(
    database_url: str, tmp_path: Path, role: str | None, warning: str | None
) -> None:
    """``None`` is the superuser the test database URL names."""
    admin = postgres_url()
    assert admin is not None
    output = _serve_output(with_role(database_url, role or make_url(admin).username), tmp_path)
    warnings = [line for line in output.splitlines() if " WARNING rigbook" in line]
    if warning is None:
        assert warnings == [], output
    else:
        assert any(warning in line for line in warnings), output


@pytest.mark.socket
@pytest.mark.usefixtures("postgres_only")
def test_serve_in_production_warns_when_it_holds_the_owners_url(database_url: str, tmp_path: Path) -> None:
    output = _serve_output(
        database_url, tmp_path, RIGBOOK_MIGRATION_DATABASE_URL=with_role(database_url, OWNER_ROLE)
    )
    warnings = [line for line in output.splitlines() if " WARNING rigbook" in line]
    assert len(warnings) == 1, output
    assert "RIGBOOK_MIGRATION_DATABASE_URL is set" in warnings[0]


@needs_postgres
async def test_migrate_explains_a_table_it_may_not_grant_on(empty_postgres: tuple[str, str]) -> None:
    runtime_url, owner_url = empty_postgres
    admin = postgres_url()
    assert admin is not None
    stranger = await asyncpg.connect(_asyncpg_dsn(with_role(owner_url, make_url(admin).username)), timeout=10)
    try:
        await stranger.execute("CREATE TABLE not_ours (id int)")  # owned by the superuser
    finally:
        await stranger.close()
    result = _rigbook("migrate", RIGBOOK_DATABASE_URL=runtime_url, RIGBOOK_MIGRATION_DATABASE_URL=owner_url)
    assert result.returncode == 2, result.stderr
    assert "configuration error: could not grant role rigbook_app" in result.stderr
    assert "Traceback" not in result.stderr
