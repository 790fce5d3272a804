"""``rigbook export``: a real process writes a tenant's ZIP; its files are the tenant's rows, and nothing secret."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlmodel import col, select

from auth.services import Services
from cli import main
from db.clock import utcnow
from db.database import Database
from db.migrate import alembic_config
from db.tables import AuditEvent, Equipment
from resolvers.exports import writer
from resolvers.exports.formats import ExportFormat
from resolvers.exports.tables import TABLES, chosen
from resolvers.exports.writer import ExportTooLarge, write_export
from tests.conftest import TEST_SECRET, settings_for
from tests.exports import (
    Seeded,
    add_reservations,
    archive_bytes,
    read_archive,
    secret_values,
    seed_tenant,
    table_ids,
)

ROOT = Path(__file__).parent.parent


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


async def rigbook_export(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("RIGBOOK_")}
    env.update(RIGBOOK_DATABASE_URL=database_url, RIGBOOK_JWT_SECRET=TEST_SECRET)
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "cli", "export", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
async def esr_data(services: Services) -> Seeded:
    return await seed_tenant(services, "esr", reservations=5)


@pytest.fixture
async def cmh_data(services: Services) -> Seeded:
    return await seed_tenant(services, "cmh", reservations=2)


@pytest.mark.parametrize("form", ["ndjson", "csv", "json"])
async def test_an_export_holds_every_row_of_the_tenant_and_no_secret(
    database_url: str, services: Services, esr_data: Seeded, cmh_data: Seeded, tmp_path: Path, form: str
) -> None:
    output = tmp_path / f"esr.{form}.zip"
    expected = {table.name: await table_ids(services, esr_data.tenant_id, table.model) for table in TABLES}
    result = await rigbook_export(database_url, "--tenant", "esr", "--format", form, "--output", str(output))
    assert result.returncode == 0, result.stderr
    assert "[" not in result.stderr  # no progress bar when stderr is not a terminal
    assert f"files to {output}" in result.stderr

    manifest, files = read_archive(output)
    assert manifest["format"] == form
    assert manifest["tenant"]["slug"] == "esr" and manifest["tenant"]["id"] == str(esr_data.tenant_id)
    assert manifest["schema_version"] == head_revision()
    assert manifest["groups"] == ["users", "equipment", "reservations", "designs", "audit"]
    assert [entry["name"] for entry in manifest["files"]] == [f"{table.name}.{form}" for table in TABLES]
    for table, entry in zip(TABLES, manifest["files"], strict=True):
        rows = files[entry["name"]]
        assert entry["rows"] == len(rows) == len(expected[table.name]), entry["name"]
        assert {row["id"] for row in rows} == expected[table.name], entry["name"]
        assert all(list(row) == list(table.columns) for row in rows), entry["name"]
        assert entry["columns"] == list(table.columns)
    assert len(files[f"reservations.{form}"]) == 5 and len(files[f"reservation_lines.{form}"]) == 10
    users = {row["email"]: row for row in files[f"users.{form}"]}
    assert set(users) == {f"{role}@esr.example" for role in ("admin", "manager", "staff", "customer")}
    assert all("password_hash" not in row for row in users.values())
    equipment = {row["code"]: row for row in files[f"equipment.{form}"]}
    tags = equipment["esr-LED"]["tags"]
    assert tags == (["led", "esr"] if form != "csv" else '["led","esr"]')
    notes = {row["notes"] for row in files[f"reservations.{form}"]}
    assert ("'=HYPERLINK(1)" if form == "csv" else "=HYPERLINK(1)") in notes  # a formula stays text in CSV

    content = archive_bytes(output)
    secrets = await secret_values(services, esr_data.tenant_id, cmh_data.tenant_id)
    assert len(secrets) >= 2 * (
        4 + 3
    )  # passwords, the share hash, the webhook secret, a mail body, per tenant
    leaked = [secret for secret in secrets if secret.encode() in content]
    assert leaked == []
    # Nothing of the other tenant: not its ids, not its users.
    for table in TABLES:
        for other in await table_ids(services, cmh_data.tenant_id, table.model):
            assert other.encode() not in content
    assert b"cmh.example" not in content and str(cmh_data.tenant_id).encode() not in content


async def test_only_exports_the_groups_named_and_each_export_is_audited(
    database_url: str, services: Services, esr_data: Seeded, tmp_path: Path
) -> None:
    output = tmp_path / "part.zip"
    result = await rigbook_export(
        database_url, "--tenant", "ESR", "--only", "users, audit", "--output", str(output)
    )
    assert result.returncode == 0, result.stderr
    manifest, files = read_archive(output)
    assert manifest["groups"] == ["users", "audit"]
    assert sorted(files) == ["audit.ndjson", "users.ndjson"]
    assert len(files["users.ndjson"]) == 4

    async with services.database.session(esr_data.tenant_id) as session:
        entries = (
            await session.scalars(select(AuditEvent).where(col(AuditEvent.action) == "tenant.exported"))
        ).all()
    assert [(entry.actor_kind, entry.request_id, entry.target_id) for entry in entries] == [
        ("system", "rigbook export", esr_data.tenant_id)
    ]
    assert entries[0].changes["format"] == [None, "ndjson"]
    assert entries[0].changes["rows"][1] == {"users.ndjson": 4, "audit.ndjson": len(files["audit.ndjson"])}


async def rigbook_in_process(database_url: str, monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    monkeypatch.setenv("RIGBOOK_DATABASE_URL", database_url)
    monkeypatch.setenv("RIGBOOK_JWT_SECRET", TEST_SECRET)
    return await asyncio.to_thread(main, ["export", *args])


async def test_export_refuses_an_unknown_tenant_group_or_an_unwritable_output(
    database_url: str,
    services: Services,
    esr_data: Seeded,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    output = str(out / "x.zip")
    result = await rigbook_export(database_url, "--tenant", "nobody", "--output", output)
    assert result.returncode == 1 and "no tenant has the slug 'nobody'" in result.stderr

    async def refused(*args: str) -> tuple[int, str]:
        with pytest.raises(SystemExit) if "xml" in args else contextlib.nullcontext() as raised:
            code = await rigbook_in_process(database_url, monkeypatch, *args)
        return (code if raised is None else int(raised.value.code or 0)), capsys.readouterr().err

    code, err = await refused("--tenant", "esr", "--only", "users,secrets", "--output", output)
    assert (
        code == 2
        and "--only: unknown: secrets (choose from users, equipment, reservations, designs, audit)" in err
    )
    code, err = await refused("--tenant", "esr", "--output", str(out / "none" / "x.zip"))
    assert code == 1 and "cannot write" in err and "No such file or directory" in err
    code, err = await refused("--tenant", "esr", "--output", str(out))
    assert code == 1 and "it is a directory" in err
    code, err = await refused("--tenant", "esr", "--format", "xml", "--output", output)
    assert code == 2 and "invalid choice: 'xml'" in err
    assert os.listdir(out) == []  # no partial file left anywhere
    async with services.database.session(esr_data.tenant_id) as session:
        audited = (
            await session.scalars(select(AuditEvent).where(col(AuditEvent.action) == "tenant.exported"))
        ).all()
    assert audited == []


async def test_an_export_over_the_size_bound_is_refused(
    database_url: str,
    services: Services,
    esr_data: Seeded,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    output = tmp_path / "big.zip"
    with output.open("wb") as sink, pytest.raises(ExportTooLarge):
        await write_export(
            services.database, esr_data.tenant_id, sink, tables=TABLES, form=ExportFormat.NDJSON, now=utcnow(),
            max_bytes=2048,
        )  # fmt: skip
    monkeypatch.setenv("RIGBOOK_EXPORT_MAX_BYTES", "4096")
    assert (
        await rigbook_in_process(
            database_url, monkeypatch, "--tenant", "esr", "--output", str(tmp_path / "b.zip")
        )
        == 1
    )
    assert "the export is over 4096 bytes" in capsys.readouterr().err
    assert not (tmp_path / "b.zip").exists()


def _write_meanwhile(database_url: str, seeded: Seeded, equipment_id: uuid.UUID) -> None:
    """In a thread of its own (its own loop and connections): a reservation with lines, and a rename."""

    async def write() -> None:
        database = Database(database_url)
        services = Services.create(settings_for(database_url), database)
        try:
            await add_reservations(services, seeded, 1, first_number=900, title="Meanwhile")
            async with database.transaction(seeded.tenant_id) as session:
                item = await session.get(Equipment, (seeded.tenant_id, equipment_id))
                assert item is not None
                item.name = "Renamed meanwhile"
        finally:
            await database.dispose()

    asyncio.run(write())


async def test_a_write_during_the_export_is_wholly_outside_it(
    database_url: str, services: Services, esr_data: Seeded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writer, "PAGE_ROWS", 2)  # many pages, so the write lands between two of them
    bulk_id = esr_data.equipment_ids[0]
    wrote: list[str] = []

    def progress(name: str, done: int, total: int) -> None:
        if name == "users.ndjson" and not wrote:
            # Blocks the export's loop until the writer has committed: the export is mid-way.
            thread = threading.Thread(target=_write_meanwhile, args=(database_url, esr_data, bulk_id))
            thread.start()
            thread.join(60)
            wrote.append(name)

    output = tmp_path / "during.zip"
    tables = chosen(["users", "equipment", "reservations"])
    with output.open("wb") as sink:
        await write_export(
            services.database, esr_data.tenant_id, sink, tables=tables, form=ExportFormat.NDJSON, now=utcnow(),
            max_bytes=10**9, progress=progress,
        )  # fmt: skip
    assert wrote
    _, files = read_archive(output)
    titles = {row["title"] for row in files["reservations.ndjson"]}
    assert "Meanwhile 900" not in titles and len(titles) == 5
    assert len(files["reservation_lines.ndjson"]) == 10
    names = {row["name"] for row in files["equipment.ndjson"]}
    assert "esr LED wall" in names and "Renamed meanwhile" not in names

    # The write did commit: the next export has all of it.
    after = tmp_path / "after.zip"
    with after.open("wb") as sink:
        await write_export(
            services.database, esr_data.tenant_id, sink, tables=tables, form=ExportFormat.NDJSON, now=utcnow(),
            max_bytes=10**9,
        )  # fmt: skip
    _, files = read_archive(after)
    assert "Meanwhile 900" in {row["title"] for row in files["reservations.ndjson"]}
    assert len(files["reservation_lines.ndjson"]) == 12
    assert "Renamed meanwhile" in {row["name"] for row in files["equipment.ndjson"]}
