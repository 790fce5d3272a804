"""``python -m bench export``: peak RSS of ``rigbook export`` for a tenant of 3,000 and of 30,000 reservations.

Two tenants (``benchexport3000``, ``benchexport30000``) are loaded into the bench
database with ``COPY`` (the rows of ``bench/seed.py``: users, equipment, units,
reservations with a line each), replacing an earlier pair. Each export then runs as
its own ``python -m cli export`` process, and its peak resident set size is read
from ``wait4`` (that process alone). Constant memory means the two peaks are about
the same although one tenant has ten times the rows.

The database must be migrated already (``python -m bench seed`` does it); this
command changes no schema.
"""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from bench import config
from bench.seed import (
    EQUIPMENT_COLUMNS,
    LINE_COLUMNS,
    RESERVATION_COLUMNS,
    TENANT_COLUMNS,
    UNIT_COLUMNS,
    USER_COLUMNS,
    SeedOptions,
    _hashes,
    build_tenant,
)

ROOT = Path(__file__).parent.parent
SIZES = (3_000, 30_000)
MONTHS = 3
PER_ITEM = 10


@dataclass(frozen=True)
class Measured:
    slug: str
    reservations: int
    peak_rss_mib: float
    seconds: float
    zip_bytes: int
    rows: int


def slug_of(reservations: int) -> str:
    return f"benchexport{reservations}"


async def _load(url: str) -> None:
    connection = await asyncpg.connect(config.asyncpg_url(url))
    try:
        hashes = await _hashes()
        now = datetime.now(UTC)
        rng = random.Random(17)
        async with connection.transaction():
            await connection.execute(
                "DELETE FROM tenant WHERE slug = ANY($1::text[])", [slug_of(size) for size in SIZES]
            )
            for index, size in enumerate(SIZES):
                options = SeedOptions(tenants=1, equipment=size // (PER_ITEM * MONTHS), reservations_per_item=PER_ITEM,
                                      months=MONTHS)  # fmt: skip
                rows = build_tenant(900 + index, options, hashes, now, rng)
                tenant = list(rows.tenant)
                tenant[1] = slug_of(size)
                batches = (
                    ("tenant", TENANT_COLUMNS, [tuple(tenant)]),
                    ("app_user", USER_COLUMNS, rows.users),
                    ("equipment", EQUIPMENT_COLUMNS, rows.equipment),
                    ("equipment_unit", UNIT_COLUMNS, rows.units),
                    ("reservation", RESERVATION_COLUMNS, rows.reservations),
                    ("reservation_line", LINE_COLUMNS, rows.lines),
                )
                for table, columns, records in batches:
                    if records:
                        await connection.copy_records_to_table(table, records=records, columns=columns)
        await connection.execute(
            "ANALYZE tenant, app_user, equipment, equipment_unit, reservation, reservation_line"
        )
    finally:
        await connection.close()


def _measure(url: str, reservations: int, output: Path) -> Measured:
    env = {key: value for key, value in os.environ.items() if not key.startswith("RIGBOOK_")}
    env.update(RIGBOOK_DATABASE_URL=config.sqlalchemy_url(url), RIGBOOK_JWT_SECRET=config.JWT_SECRET)
    slug = slug_of(reservations)
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "cli", "export", "--tenant", slug, "--output", str(output)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    stderr = process.stderr.read().decode() if process.stderr else ""
    if process.returncode != 0:
        raise SystemExit(f"rigbook export --tenant {slug} failed: {stderr.strip()[-500:]}")
    rows = int(stderr.rsplit("exported ", 1)[1].split()[0])
    return Measured(slug, reservations, usage.ru_maxrss / 1024, seconds, output.stat().st_size, rows)


def run_export_bench(url: str, *, load: bool = True) -> list[Measured]:
    if load:
        asyncio.run(_load(url))
    with tempfile.TemporaryDirectory() as directory:
        return [_measure(url, size, Path(directory) / f"{size}.zip") for size in SIZES]


def main(url: str, load: bool) -> int:
    results = run_export_bench(url, load=load)
    print(f"{'tenant':<20} {'reservations':>12} {'rows':>8} {'peak RSS':>10} {'time':>8} {'ZIP':>10}")
    for result in results:
        print(
            f"{result.slug:<20} {result.reservations:>12,} {result.rows:>8,} {result.peak_rss_mib:>8.1f} MiB "
            f"{result.seconds:>6.1f} s {result.zip_bytes / 1024**2:>7.1f} MiB"
        )
    small, large = results
    print(
        f"peak RSS ratio {large.reservations // small.reservations}x rows: {large.peak_rss_mib / small.peak_rss_mib:.2f}"
    )
    return 0
