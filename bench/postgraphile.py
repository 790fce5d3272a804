"""PostGraphile 5 as a third target: install, database preparation, server, documents.

``bench run --peers postgraphile`` installs PostGraphile from npm into
``bench/.postgraphile/`` (gitignored), with a Node 22 binary from the npm package
``node-linux-<arch>`` when the system's Node is older (PostGraphile 5 needs Node >= 22).
It serves the bench database with the amber preset, connecting as the same role as
the other servers; ``bench/postgraphile_server.mjs`` verifies Rigbook's access token
and sets ``app.tenant_id`` per request through ``pgSettings``, so Rigbook's
row-level security policies scope what it reads.

PostGraphile has no argument to filter a relation by a time window: the month of
``nested`` is exposed through a computed-column function, created in the bench
database only (never by Rigbook's migrations).
"""

from __future__ import annotations

import json
import platform
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import asyncpg
import orjson

from bench import config
from bench.scenarios import NESTED_PAGE, Fixture, PeerDocument, nested_tuples
from bench.servers import ROOT, Server, base_env, free_port

NAME = "postgraphile"
INSTALL_DIR = ROOT / "bench" / ".postgraphile"
SERVER_SCRIPT = Path(__file__).with_name("postgraphile_server.mjs")
VERSION = "5.1.5"
PACKAGES = {"postgraphile": VERSION, "jsonwebtoken": "9.0.3"}
NODE_MAJOR = 22
NODE_PACKAGE_VERSION = "22"  # npm resolves the newest 22.x
NODE_ARCHES = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}

# `equipment.reservationsIn(from, to)`: the reservations with a line of the item whose window overlaps
# [from, to), ordered as Rigbook orders them. A STABLE SQL function, so PostgreSQL can inline it; not
# SECURITY DEFINER, so row-level security applies to what it reads.
WINDOW_FUNCTION = """
CREATE OR REPLACE FUNCTION equipment_reservations_in(e equipment, "from" timestamptz, "to" timestamptz)
RETURNS SETOF reservation LANGUAGE sql STABLE AS $$
  SELECT r.* FROM reservation r
  WHERE r.tenant_id = e.tenant_id AND r.ends_at > "from" AND r.starts_at < "to"
    AND r.id IN (SELECT l.reservation_id FROM reservation_line l
                 WHERE l.tenant_id = e.tenant_id AND l.equipment_id = e.id)
  ORDER BY r.starts_at, r.id
$$
"""

# Lines come in primary-key order: ids are UUIDv7 made in position order, as Rigbook makes them
# (and PostGraphile offers no order by an unindexed column).
NESTED = f"""query Nested($from: Datetime, $to: Datetime) {{
  allEquipment(first: {NESTED_PAGE}, orderBy: [NAME_ASC, PRIMARY_KEY_ASC]) {{
    nodes {{ name reservationsIn(from: $from, to: $to) {{ nodes {{ number reservationLinesByTenantIdAndReservationId {{ nodes {{ quantity equipmentByTenantIdAndEquipmentId {{ name }} }} }} appUserByTenantIdAndCustomerId {{ email }} }} }} }}
  }}
}}"""

ME = """query Me($tenantId: UUID!, $rowId: UUID!) {
  appUserByTenantIdAndRowId(tenantId: $tenantId, rowId: $rowId) { email role }
}"""


def _nested_tuples(data: Any) -> list[tuple[Any, ...]]:
    return [
        (
            item["name"],
            reservation["number"],
            line["quantity"],
            line["equipmentByTenantIdAndEquipmentId"]["name"],
            email,
        )
        for item in data["allEquipment"]["nodes"]
        for reservation in item["reservationsIn"]["nodes"]
        for email in [(reservation["appUserByTenantIdAndCustomerId"] or {}).get("email")]
        for line in reservation["reservationLinesByTenantIdAndReservationId"]["nodes"]
    ]


def _me_tuples(data: Any) -> list[tuple[Any, ...]]:
    user = data["appUserByTenantIdAndRowId"]
    return [] if user is None else [(user["email"], user["role"])]


def _rigbook_me_tuples(data: Any) -> list[tuple[Any, ...]]:
    user = data["me"]
    return [] if user is None else [(user["email"], user["role"])]


def _window(fixture: Fixture) -> dict[str, Any]:
    return {"from": fixture.window[0].isoformat(), "to": fixture.window[1].isoformat()}


DOCUMENTS: dict[str, PeerDocument] = {
    "nested": PeerDocument(NESTED, _window, '"nodes"', _nested_tuples, nested_tuples),
    "me": PeerDocument(
        ME,
        lambda fixture: {"tenantId": fixture.tenant_id, "rowId": fixture.admin_id},
        '"email"',
        _me_tuples,
        _rigbook_me_tuples,
    ),
}


def _system_node_major() -> int | None:
    node = shutil.which("node")
    if node is None:
        return None
    completed = subprocess.run([node, "--version"], capture_output=True, text=True, check=False)
    found = re.match(r"v(\d+)\.", completed.stdout.strip())
    return int(found.group(1)) if found else None


def packages() -> dict[str, str]:
    """What ``package.json`` asks npm for: PostGraphile, and Node 22 when the system's is older."""
    wanted = dict(PACKAGES)
    major = _system_node_major()
    if major is None or major < NODE_MAJOR:
        arch = NODE_ARCHES.get(platform.machine().lower())
        if arch is None:
            raise SystemExit(
                f"PostGraphile {VERSION} needs Node >= {NODE_MAJOR}; install it for this machine"
            )
        wanted[f"node-linux-{arch}"] = NODE_PACKAGE_VERSION
    return wanted


def node_binary(install_dir: Path = INSTALL_DIR) -> Path:
    """The Node the install brought, else the system's (which is then new enough)."""
    bundled = install_dir / "node_modules" / ".bin" / "node"
    if bundled.exists():
        return bundled
    system = shutil.which("node")
    if system is None:
        raise SystemExit("node is not installed")
    return Path(system)


def install(install_dir: Path = INSTALL_DIR) -> Path:
    """``npm install`` PostGraphile into ``install_dir`` unless it is already there; the Node to run it."""
    npm = shutil.which("npm")
    wanted = packages()
    manifest = {
        "name": "rigbook-bench-postgraphile",
        "private": True,
        "type": "module",
        "dependencies": wanted,
    }
    package_json = install_dir / "package.json"
    stamp = install_dir / "node_modules" / ".rigbook-bench-installed"
    text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    if not (stamp.exists() and stamp.read_text() == text):
        if npm is None:
            raise SystemExit("--peers postgraphile needs npm (and the npm registry) to install PostGraphile")
        install_dir.mkdir(parents=True, exist_ok=True)
        # The folder ignores itself: nothing npm brings is ever committed.
        (install_dir / ".gitignore").write_text("*\n")
        package_json.write_text(text)
        print(f"installing PostGraphile {VERSION} from npm into {install_dir}", flush=True)
        completed = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=install_dir,
            capture_output=True,
            text=True,
            check=False,
        )
        if completed.returncode != 0:
            raise SystemExit(f"npm install failed ({completed.returncode}): {completed.stderr[-2000:]}")
        stamp.write_text(text)
    shutil.copyfile(SERVER_SCRIPT, install_dir / SERVER_SCRIPT.name)
    return node_binary(install_dir)


async def prepare_database(admin_url: str) -> None:
    """Create the window function (as the database owner); PUBLIC may execute new functions."""
    connection = await asyncpg.connect(config.asyncpg_url(admin_url))
    try:
        await connection.execute(WINDOW_FUNCTION)
    finally:
        await connection.close()


def server(
    database_url: str, workers: int, log_dir: Path, node: Path, install_dir: Path = INSTALL_DIR
) -> Server:
    port = free_port()
    audience, issuer = config.rigbook_jwt_audience_issuer()
    env = base_env() | {
        "BENCH_DATABASE_URL": config.asyncpg_url(database_url),
        "BENCH_JWT_SECRET": config.JWT_SECRET,
        "BENCH_JWT_AUDIENCE": audience,
        "BENCH_JWT_ISSUER": issuer,
        "BENCH_PORT": str(port),
        "BENCH_WORKERS": str(workers),
        "NODE_ENV": "production",
        "GRAPHILE_ENV": "production",
    }
    command = [str(node), str(install_dir / SERVER_SCRIPT.name)]
    return Server(
        NAME,
        command,
        env,
        port,
        "/health",
        log_dir / "postgraphile.log",
        cwd=install_dir,
        forks_workers=workers > 1,
    )


def version(node: Path) -> dict[str, str]:
    """Versions for the results' metadata."""
    completed = subprocess.run([str(node), "--version"], capture_output=True, text=True, check=False)
    found = INSTALL_DIR / "node_modules" / "postgraphile" / "package.json"
    installed = orjson.loads(found.read_bytes())["version"] if found.exists() else VERSION
    return {"postgraphile": str(installed), "node": completed.stdout.strip()}
