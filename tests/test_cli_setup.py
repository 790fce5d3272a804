"""The commands an operator runs to set a server up: migrate, create-tenant, create-operator, serve's checks."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlmodel import select

from cli import main
from db.database import Database, is_sqlite_url
from db.migrate import head, history
from db.tables import Role, Tenant, User
from tests.databases import owner_url

ROOT = Path(__file__).parent.parent
FAST_HASHES = {"RIGBOOK_PASSWORD_HASH_MEMORY_KIB": "8192"}


def _rigbook(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    clean = {key: value for key, value in os.environ.items() if not key.startswith("RIGBOOK_")}
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        cwd=ROOT,
        env={**clean, **FAST_HASHES, **env},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@dataclass(frozen=True)
class Ran:
    returncode: int
    stdout: str
    stderr: str


class InProcess:
    """``rigbook`` run in this process (no interpreter start per command), with its own environment."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
        self.monkeypatch = monkeypatch
        self.capsys = capsys
        for key in [key for key in os.environ if key.startswith("RIGBOOK_")]:
            monkeypatch.delenv(key)
        for key, value in FAST_HASHES.items():
            monkeypatch.setenv(key, value)

    def __call__(self, *args: str, env: dict[str, str]) -> Ran:
        with self.monkeypatch.context() as scoped:
            # Recorded as unset, so that the secret the command invents does not outlive it.
            scoped.setenv("RIGBOOK_JWT_SECRET", "")
            scoped.delenv("RIGBOOK_JWT_SECRET")
            for key, value in env.items():
                scoped.setenv(key, value)
            self.capsys.readouterr()
            code = main(list(args))
            out, err = self.capsys.readouterr()
        return Ran(code, out, err)


@pytest.fixture
def rigbook(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> InProcess:
    return InProcess(monkeypatch, capsys)


def _database_env(url: str) -> dict[str, str]:
    """Serve as the runtime role; migrate as the owner, as production does on PostgreSQL."""
    if is_sqlite_url(url):
        return {"RIGBOOK_DATABASE_URL": url}
    return {"RIGBOOK_DATABASE_URL": url, "RIGBOOK_MIGRATION_DATABASE_URL": owner_url(url)}


def test_migrate_says_what_it_applied_and_reverts_only_when_confirmed(
    database_url: str, rigbook: InProcess
) -> None:
    _rigbook = rigbook
    env = _database_env(database_url)
    newest = head()
    older = history()[-3].id
    quiet = _rigbook("migrate", env=env)
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stdout == f"database is already at {newest}; nothing to do\n"

    refused = _rigbook("migrate", "--to", older, env=env)
    assert refused.returncode == 2
    assert "pass --yes" in refused.stderr
    assert f"would revert  {newest}" in refused.stderr
    assert _rigbook("migrate", "current", env=env).stdout == f"{newest} (head)\n"

    down = _rigbook("migrate", "--to", older, "--yes", env=env)
    assert down.returncode == 0, down.stderr
    reverted = [line.split()[1] for line in down.stdout.splitlines() if line.startswith("reverted")]
    assert reverted == [revision.id for revision in history()[-2:]][::-1]
    assert down.stdout.splitlines()[-1] == f"database is at {older} (was {newest})"
    assert _rigbook("migrate", "current", env=env).stdout == f"{older} (code's head: {newest})\n"
    listed = _rigbook("migrate", "history", env=env).stdout.splitlines()
    assert len(listed) == len(history())
    assert listed[0].startswith(newest) and listed[0].endswith("(head)")
    assert [line for line in listed if line.endswith("(current)")] == [listed[2]]

    up = _rigbook("migrate", env=env)
    assert up.returncode == 0, up.stderr
    applied = [line.split()[1] for line in up.stdout.splitlines() if line.startswith("applied")]
    assert applied == [revision.id for revision in history()[-2:]]
    assert _rigbook("migrate", "current", env=env).stdout == f"{newest} (head)\n"


def test_migrate_refuses_a_revision_it_does_not_have(tmp_path: Path, rigbook: InProcess) -> None:
    _rigbook = rigbook
    url = f"sqlite+aiosqlite:///{tmp_path / 'unknown.db'}"
    result = _rigbook("migrate", "--to", "9999", env={"RIGBOOK_DATABASE_URL": url})
    assert result.returncode == 2
    assert (
        result.stderr == "rigbook migrate: --to: no revision '9999': `rigbook migrate history` lists them\n"
    )
    assert _rigbook("migrate", "current", env={"RIGBOOK_DATABASE_URL": url}).stdout.startswith("none")


def test_create_tenant_makes_a_tenant_whose_admin_can_sign_in(database_url: str, rigbook: InProcess) -> None:
    _rigbook = rigbook
    env = {**_database_env(database_url), "RIGBOOK_ADMIN_PASSWORD": "Correct-Horse-42"}
    made = _rigbook(
        "create-tenant", "--slug", " Acme ", "--name", "Acme Rentals", "--admin-email", "Boss@Acme.example",
        "--timezone", "Europe/Berlin", env=env,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert made.stdout == "tenant acme created; its admin Boss@Acme.example can sign in\n"
    assert "RIGBOOK_JWT_SECRET" not in made.stderr

    again = _rigbook(
        "create-tenant", "--slug", "acme", "--name", "Again", "--admin-email", "x@acme.example", env=env
    )
    assert again.returncode == 1
    assert again.stderr.splitlines()[-1] == "cannot create tenant: --slug: Is already taken."

    weak = _rigbook(
        "create-tenant", "--slug", "weak", "--name", "Weak", "--admin-email", "w@weak.example",
        env={**env, "RIGBOOK_ADMIN_PASSWORD": "short"},
    )  # fmt: skip
    assert weak.returncode == 1
    assert weak.stderr.splitlines()[-1].startswith(
        "cannot create tenant: RIGBOOK_ADMIN_PASSWORD: Must be at least"
    )

    async def stored() -> tuple[list[tuple[str, str, str]], bool]:
        database = Database(database_url)
        try:
            async with database.session(None) as session:
                tenants = (await session.scalars(select(Tenant))).all()
                rows = [(tenant.slug, tenant.name, tenant.timezone) for tenant in tenants]
            tenant = next(tenant for tenant in tenants if tenant.slug == "acme")
            async with database.session(tenant.id) as session:
                admin = (await session.scalars(select(User).where(User.tenant_id == tenant.id))).one()
                verified = PasswordHasher().verify(admin.password_hash, "Correct-Horse-42")
                return rows, verified and admin.email == "boss@acme.example" and admin.role == Role.ADMIN
        finally:
            await database.dispose()

    tenants, admin_ok = asyncio.run(stored())
    assert tenants == [("acme", "Acme Rentals", "Europe/Berlin")]
    assert admin_ok


def test_create_commands_without_a_password_or_a_terminal_say_so(tmp_path: Path) -> None:
    env = {"RIGBOOK_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'nopass.db'}"}
    operator = _rigbook("create-operator", "--email", "ops@example.com", env=env)
    assert operator.returncode == 2
    assert operator.stderr == (
        "rigbook create-operator: no password: set RIGBOOK_OPERATOR_PASSWORD or run it on a terminal\n"
    )
    tenant = _rigbook("create-tenant", "--slug", "a", "--name", "A", "--admin-email", "a@a.example", env=env)
    assert tenant.returncode == 2
    assert "set RIGBOOK_ADMIN_PASSWORD" in tenant.stderr
    assert not (tmp_path / "nopass.db").exists()  # refused before touching the database


def test_serve_checks_its_port_before_migrating(tmp_path: Path) -> None:
    database = tmp_path / "never.db"
    env = {"RIGBOOK_DATABASE_URL": f"sqlite+aiosqlite:///{database}"}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = _rigbook("serve", "--port", str(port), env=env)
    assert busy.returncode == 2
    assert f"rigbook serve: cannot listen on 127.0.0.1:{port}: Address already in use" in busy.stderr
    assert not database.exists()  # nothing migrated, nothing seeded
    for port_text in ("70000", "0", "http"):
        invalid = _rigbook("serve", "--port", port_text, env=env)
        assert invalid.returncode == 2
        assert "argument --port" in invalid.stderr
    reload_many = _rigbook("serve", "--reload", "--workers", "2", env=env)
    assert reload_many.returncode == 2
    assert "--reload is for development, with one worker" in reload_many.stderr
    assert not database.exists()


def test_version_and_help_name_what_they_are() -> None:
    version = _rigbook("--version", env={})
    assert version.returncode == 0
    assert version.stdout.startswith("rigbook ") and f"database revision {head()}" in version.stdout
    helped = _rigbook("serve", "--help", env={})
    assert "TCP port, 1 to 65535 (default: 8000)" in " ".join(helped.stdout.split())


def test_seeding_warns_about_no_secret(tmp_path: Path) -> None:
    seeded = _rigbook(
        "seed", "--demo", env={"RIGBOOK_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 's.db'}"}
    )
    assert seeded.returncode == 0, seeded.stderr
    assert "added" in seeded.stdout
    assert "RIGBOOK_JWT_SECRET" not in seeded.stderr
