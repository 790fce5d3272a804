"""``python -m bench scale``: how the cost of a request grows with what it reads and with the tenants.

Each point is a short ``bench run`` (Rigbook and the baseline, interleaved, the same
role and checks) on a database of a known shape:

- ``nested`` at ``first:`` 10, 50 and 100, and ``availability`` at 10, 50 and 100
  items (100 is the most one request may ask for), on the database given;
- ``nested`` at 10 reservations per item and month (that database) and at 50 (a
  database ``<name>_rpi50`` seeded so);
- the whole suite with 5 and with 500 tenants of the same shape (``<name>_t5`` and
  ``<name>_t500``; 200 equipment and one month of bookings per tenant by default,
  so that 500 tenants stay a one-minute seed: 1,000,000 reservations).

Missing databases are created and seeded; existing ones are checked for their shape
and reused (``--reseed`` seeds them again).
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import orjson

from bench import config
from bench.report import number
from bench.run import RunOptions, execute
from bench.scenarios import (
    AVAILABILITY_SIZES,
    NESTED_PAGES,
    SCENARIOS,
    Scenario,
    availability_scenario,
    nested_scenario,
)
from bench.seed import SeedOptions, seed
from bench.servers import ROOT

SUITE = ("nested", "me", "availability", "reserve", "reservations")
TENANT_COUNTS = (5, 500)


@dataclass(frozen=True)
class Point:
    """One row of the table: a scenario's figures on one database."""

    label: str
    database: str
    scenario: str


@dataclass(frozen=True)
class Shape:
    """The seed a database must have; its name's suffix."""

    suffix: str
    seed: SeedOptions


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def plan(
    base: str, tenant_equipment: int, tenant_months: int
) -> list[tuple[Shape, list[Scenario], list[Point]]]:
    """What runs on which database, and which table rows it gives."""
    default = Shape("", SeedOptions())
    reads = [nested_scenario(first) for first in NESTED_PAGES] + [
        availability_scenario(items) for items in AVAILABILITY_SIZES
    ]
    points = [Point(f"nested, first: {first}", base, nested_scenario(first).name) for first in NESTED_PAGES]
    points.append(Point("nested, 10 reservations per item", base, "nested"))
    rpi50 = Shape("_rpi50", SeedOptions(reservations_per_item=50))
    points_rpi50 = [Point("nested, 50 reservations per item", base + rpi50.suffix, "nested")]
    availability = [
        Point(f"availability, {items} items", base, availability_scenario(items).name)
        for items in AVAILABILITY_SIZES
    ]
    runs: list[tuple[Shape, list[Scenario], list[Point]]] = [
        (default, reads, points + availability),
        (rpi50, [SCENARIOS["nested"]], points_rpi50),
    ]
    for tenants in TENANT_COUNTS:
        shape = Shape(
            f"_t{tenants}", SeedOptions(tenants=tenants, equipment=tenant_equipment, months=tenant_months)
        )
        suite = [SCENARIOS[name] for name in SUITE]
        rows = [Point(f"{name}, {tenants} tenants", base + shape.suffix, name) for name in SUITE]
        runs.append((shape, suite, rows))
    return runs


async def _shape_of(url: str) -> tuple[int, int, int] | None:
    """(tenants, equipment of bench0, reservations of bench0), or None when the database is missing."""
    try:
        connection = await asyncpg.connect(config.asyncpg_url(url))
    except asyncpg.InvalidCatalogNameError:
        return None
    try:
        if not await connection.fetchval("SELECT to_regclass('tenant') IS NOT NULL"):
            return (0, 0, 0)
        row = await connection.fetchrow(
            "SELECT (SELECT count(*) FROM tenant) AS tenants,"
            " (SELECT count(*) FROM equipment e JOIN tenant t ON t.id = e.tenant_id WHERE t.slug = $1) AS items,"
            " (SELECT count(*) FROM reservation r JOIN tenant t ON t.id = r.tenant_id"
            "  WHERE t.slug = $1 AND r.starts_at < '2100-01-01') AS bookings",
            config.tenant_slug(0),
        )
        return int(row["tenants"]), int(row["items"]), int(row["bookings"])
    finally:
        await connection.close()


async def _create(admin_url: str, name: str) -> None:
    connection = await asyncpg.connect(config.asyncpg_url(admin_url))
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


def ensure_seeded(admin_url: str, url: str, options: SeedOptions, reseed: bool) -> None:
    """Create and seed ``url``'s database unless it already has ``options``' shape."""
    name = config.database_name(url)
    found = asyncio.run(_shape_of(url))
    wanted = (
        options.tenants,
        options.equipment,
        options.equipment * options.reservations_per_item * options.months,
    )
    if found == wanted and not reseed:
        print(f"{name}: seeded as wanted ({wanted[0]} tenants), reusing it", flush=True)
        return
    if found is None:
        asyncio.run(_create(admin_url, name))
    elif found != (0, 0, 0) and not reseed:
        raise SystemExit(
            f"{name} holds another data set (tenants, items, bookings = {found}, wanted {wanted}): "
            "pass --reseed to seed it again"
        )
    print(f"{name}: seeding {options.tenants} tenants x {options.equipment} equipment", flush=True)
    seed(url, options, reset=found is not None and found != (0, 0, 0))


def figures(summary: dict[str, Any], scenario: str) -> dict[str, Any]:
    entry = summary["scenarios"][scenario]
    return {
        target: {
            "requests_per_second": entry[target]["requests_per_second"],
            "cpu_ms_per_request": entry[target]["cpu_ms_per_request"],
            "db_cpu_ms_per_request": entry[target]["db_cpu_ms_per_request"],
        }
        for target in ("rigbook", "baseline")
    } | {"ratio": entry["ratios"]["requests_per_second"], "cpu_ratio": entry["ratios"]["cpu_per_request"]}


def table(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        f"{'point':<36} {'rigbook req/s':>13} {'CPU ms/req':>10} {'baseline req/s':>14} {'CPU ms/req':>10} "
        f"{'req/s ratio':>11} {'CPU ratio':>9}"
    ]
    for row in rows:
        rigbook, baseline = row["rigbook"], row["baseline"]
        lines.append(
            f"{row['label']:<36} {rigbook['requests_per_second']:13.1f} {number(rigbook['cpu_ms_per_request']):>10} "
            f"{baseline['requests_per_second']:14.1f} {number(baseline['cpu_ms_per_request']):>10} "
            f"{number(row['ratio']):>11} {number(row['cpu_ratio']):>9}"
        )
    return lines


def scale(template: RunOptions, *, reseed: bool, tenant_equipment: int, tenant_months: int) -> int:
    base = config.database_name(template.database_url)
    started = datetime.now(UTC)
    rows: list[dict[str, Any]] = []
    runs: list[dict[str, Any]] = []
    for shape, scenarios, points in plan(base, tenant_equipment, tenant_months):
        url = with_database(template.database_url, base + shape.suffix)
        if shape.suffix:
            ensure_seeded(template.database_url, url, shape.seed, reseed)
        print(f"\n== {base + shape.suffix}: {', '.join(scenario.name for scenario in scenarios)}", flush=True)
        options = dataclasses.replace(
            template,
            database_url=url,
            app_url=None
            if template.app_url is None
            else with_database(template.app_url, base + shape.suffix),
            scenarios=scenarios,
        )
        results = execute(options)
        runs.append(results)
        for point in points:
            rows.append(
                {"label": point.label, "database": point.database}
                | figures(results["summary"], point.scenario)
            )
    output = template.output
    output.parent.mkdir(parents=True, exist_ok=True)
    meta = runs[0]["meta"] | {"started_at": started.isoformat(), "command": "scale"}
    output.write_bytes(orjson.dumps({"meta": meta, "rows": rows, "runs": runs}, option=orjson.OPT_INDENT_2))
    print()
    for line in table(rows):
        print(line)
    print(f"\nresults written to {output}")
    return 0


def default_output() -> Path:
    return ROOT / "bench" / "results" / f"scale-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
