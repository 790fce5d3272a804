"""``rigbook import equipment --tenant SLUG FILE [--dry-run]``, run as a real process on both databases."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from pathlib import Path

from sqlmodel import col, select

from auth.services import Services
from db.tables import AuditEvent, Equipment
from tests.api import make_tenant
from tests.conftest import TEST_SECRET
from tests.equipment_import import HEADER
from tests.test_cli import ROOT, _env

CATALOGUE = (
    HEADER
    + 'LED-1,LED wall,LED walls,BULK,40,30,90,"led, outdoor",Modular panels,\n'
    + 'CAM-1,Caméra,Video,SERIALIZED,,,,,,"A1,A2"\n'
    + "DECK-1,Stage deck,,,8,,,,,\n"
)


async def rigbook(database_url: str, *argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "cli", *argv],
        cwd=ROOT,
        env=_env(RIGBOOK_DATABASE_URL=database_url, RIGBOOK_JWT_SECRET=TEST_SECRET, **env),
        capture_output=True,
        text=True,
        timeout=120,
    )


async def _equipment(services: Services, tenant_id: uuid.UUID) -> dict[str, int]:
    async with services.database.session(tenant_id) as session:
        rows = (await session.scalars(select(Equipment).where(col(Equipment.tenant_id) == tenant_id))).all()
        return {row.code: row.quantity for row in rows}


async def test_import_dry_run_then_real_run_then_unchanged(
    database_url: str, services: Services, tmp_path: Path
) -> None:
    tenant = await make_tenant(services, "esr")
    other = await make_tenant(services, "cmh")
    file = tmp_path / "catalogue.csv"
    file.write_bytes(b"\xef\xbb\xbf" + CATALOGUE.replace("\n", "\r\n").encode())

    dry = await rigbook(database_url, "import", "equipment", "--tenant", "esr", str(file), "--dry-run")
    assert (dry.returncode, dry.stdout.strip()) == (
        0,
        "3 rows: 3 created, 0 updated, 0 unchanged (dry run: nothing written)",
    ), dry.stderr
    assert await _equipment(services, tenant.id) == {}

    real = await rigbook(database_url, "import", "equipment", "--tenant", "ESR", str(file))
    assert (real.returncode, real.stdout.strip()) == (0, "3 rows: 3 created, 0 updated, 0 unchanged"), (
        real.stderr
    )
    assert await _equipment(services, tenant.id) == {"LED-1": 40, "CAM-1": 2, "DECK-1": 8}
    assert await _equipment(services, other.id) == {}

    again = await rigbook(database_url, "import", "equipment", "--tenant", "esr", str(file))
    assert again.stdout.strip() == "3 rows: 0 created, 0 updated, 3 unchanged", again.stderr

    async with services.database.session(tenant.id) as session:
        events = (
            await session.scalars(select(AuditEvent).where(col(AuditEvent.target_type) == "equipment"))
        ).all()
    # The command acts as the system, and says so.
    assert {(event.actor_kind, event.actor_id, event.request_id) for event in events} == {
        ("system", None, "rigbook import")
    }
    assert sorted(event.action for event in events) == ["equipment.created"] * 3 + ["equipment.imported"] * 2


async def test_import_reports_problems_by_file_and_line_and_writes_nothing(
    database_url: str, services: Services, tmp_path: Path
) -> None:
    tenant = await make_tenant(services, "esr")
    file = tmp_path / "broken.csv"
    file.write_text(HEADER + "LED-1,LED wall,,BULK,40,,,,,\nCAM-1,Camera,,BULK,ten,,,,,\n")
    result = await rigbook(database_url, "import", "equipment", "--tenant", "esr", str(file))
    assert result.returncode == 1
    assert result.stderr.splitlines()[-2:] == [
        f"{file}:3: quantity: Must be a whole number.",
        "rigbook import: The file has 1 problem; nothing was imported.",
    ]
    assert await _equipment(services, tenant.id) == {}

    latin = tmp_path / "latin.csv"
    latin.write_bytes("code,name\nC-1,Caf\xe9\n".encode("latin-1"))
    refused = await rigbook(database_url, "import", "equipment", "--tenant", "esr", str(latin))
    assert refused.returncode == 1
    assert f"{latin}:2: The file is not UTF-8 text (byte 18 is not); save it as CSV UTF-8." in refused.stderr

    nul = tmp_path / "nul.csv"
    nul.write_bytes(b"code,name\nC-1,A\x00B\n")
    refused = await rigbook(database_url, "import", "equipment", "--tenant", "esr", str(nul))
    assert "must not contain NUL characters" in refused.stderr

    file.write_text(HEADER + "".join(f"X-{index},Item,,BULK,1,,,,,\n" for index in range(100)))
    big = await rigbook(
        database_url, "import", "equipment", "--tenant", "esr", str(file), RIGBOOK_MAX_IMPORT_FILE_SIZE="1024"
    )
    assert big.returncode == 1
    assert "at most 1024 (RIGBOOK_MAX_IMPORT_FILE_SIZE)" in big.stderr
    rows = await rigbook(
        database_url, "import", "equipment", "--tenant", "esr", str(file), RIGBOOK_MAX_IMPORT_ROWS="50"
    )
    assert f"{file}:52: The file has more than 50 rows; import it in parts." in rows.stderr

    nobody = await rigbook(database_url, "import", "equipment", "--tenant", "nope", str(file))
    assert (nobody.returncode, nobody.stderr.strip().splitlines()[-1]) == (
        1,
        "rigbook import: no tenant has the slug 'nope'",
    )
    missing = await rigbook(
        database_url, "import", "equipment", "--tenant", "esr", str(tmp_path / "none.csv")
    )
    assert missing.returncode == 2 and "cannot read" in missing.stderr
    assert await _equipment(services, tenant.id) == {}
