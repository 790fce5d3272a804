"""The rigbook command, including a real server on a loopback socket."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from cli import main
from db.database import Database
from db.tables import Operator

ROOT = Path(__file__).parent.parent


def _env(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("RIGBOOK_")}
    env.update(extra)
    return env


def test_export_schema_check_passes_on_the_committed_file() -> None:
    assert main(["export-schema", "--check"]) == 0


def test_export_schema_check_fails_when_the_file_differs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import cli

    stale = tmp_path / "schema.graphql"
    stale.write_text("type Query { stale: Int }\n")
    monkeypatch.setattr(cli, "SCHEMA_FILE", stale)
    assert main(["export-schema", "--check"]) == 1


def test_seed_demo_is_refused_in_production(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cli", "seed", "--demo"],
        cwd=ROOT,
        env=_env(
            RIGBOOK_ENV="production",
            RIGBOOK_JWT_SECRET="p" * 40,
            RIGBOOK_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'prod.db'}",
        ),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "refusing" in result.stderr


def test_production_serve_refuses_a_weak_secret(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cli", "serve"],
        cwd=ROOT,
        env=_env(
            RIGBOOK_ENV="production",
            RIGBOOK_JWT_SECRET="short",
            RIGBOOK_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'p.db'}",
        ),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "RIGBOOK_JWT_SECRET" in result.stderr


def test_create_operator_goes_through_the_operators_rules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'operators.db'}"
    monkeypatch.setenv("RIGBOOK_DATABASE_URL", url)
    monkeypatch.setenv("RIGBOOK_PASSWORD_HASH_MEMORY_KIB", "8192")
    monkeypatch.setenv("RIGBOOK_OPERATOR_PASSWORD", "Correct-Horse-42")
    assert main(["create-operator", "--email", " Ops@Example.COM ", "--name", "Platform Ops"]) == 0
    assert main(["create-operator", "--email", "ops@example.com"]) == 1
    assert "cannot create operator: email: Is already used by another operator." in capsys.readouterr().err
    monkeypatch.setenv("RIGBOOK_OPERATOR_PASSWORD", "short")
    assert main(["create-operator", "--email", "other@example.com"]) == 1
    assert "cannot create operator: password: Must be at least" in capsys.readouterr().err

    async def operators() -> list[tuple[str, str]]:
        database = Database(url)
        try:
            async with database.session(None) as session:
                return [(row.email, row.name) for row in (await session.scalars(select(Operator))).all()]
        finally:
            await database.dispose()

    assert asyncio.run(operators()) == [("ops@example.com", "Platform Ops")]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.mark.socket
def test_serve_migrates_seeds_and_answers_on_a_real_socket(tmp_path: Path) -> None:
    port = _free_port()
    database = tmp_path / "served.db"
    process = subprocess.Popen(
        [sys.executable, "-m", "cli", "serve", "--port", str(port), "--workers", "2"],
        cwd=ROOT,
        env=_env(
            RIGBOOK_DATABASE_URL=f"sqlite+aiosqlite:///{database}", RIGBOOK_PASSWORD_HASH_MEMORY_KIB="8192"
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, "server exited"
            assert time.monotonic() < deadline, "server did not become ready"
            time.sleep(0.2)
        login = httpx.post(
            f"{base}/graphql",
            json={
                "query": 'mutation { login(input: {tenant: "esr", email: "admin@esr.example", password: "ESR2025!Admin"}) '
                "{ ... on LoginSuccess { accessToken } } }"
            },
            timeout=10,
        ).json()
        token = login["data"]["login"]["accessToken"]
        # Any worker accepts a token another worker issued.
        for _ in range(6):
            me = httpx.post(
                f"{base}/graphql",
                json={"query": "{ me { email tenant { name } } }"},
                headers={"Authorization": f"Bearer {token}"},
                timeout=10,
            ).json()
            assert me["data"] == {
                "me": {"email": "admin@esr.example", "tenant": {"name": "Event Screen Rentals"}}
            }
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
    assert "GraphiQL: http://127.0.0.1:" in output
    assert "ESR2025!Admin" in output
