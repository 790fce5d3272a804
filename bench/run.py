"""``python -m bench run``: Rigbook against the baseline (and peers), interleaved, under wrk.

By default both servers connect as the non-superuser role ``seed`` creates, so
Rigbook's row-level security policies apply, as in production; ``--superuser``
connects them as ``--database-url``'s role instead (policies bypassed).
"""

from __future__ import annotations

import asyncio
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import orjson

from bench import config, report
from bench.counting import body_builder, count_statements, request_body
from bench.scenarios import (
    AVAILABILITY_SIZES,
    LOGIN,
    NESTED_PAGES,
    Fixture,
    PeerDocument,
    Scenario,
    global_id,
)
from bench.seed import month_window
from bench.servers import ROOT, Server, baseline_server, cpu_by_pid, database_backends, rigbook_server
from bench.wrk import LoadResult, lua_script, require_wrk, run_wrk, wrk_version

RESERVE_ITEMS = 200
PEERS = ("postgraphile",)


@dataclass(frozen=True)
class RunOptions:
    database_url: str
    workers: int
    concurrency: int
    duration: float
    rounds: int
    scenarios: list[Scenario]
    output: Path
    threads: int
    warmup: float
    keep_logs: bool
    label: str = ""
    app_url: str | None = None  # what the servers connect with; default the role `seed` creates
    superuser: bool = False  # connect the servers as database_url's role (RLS bypassed)
    peers: tuple[str, ...] = ()

    @property
    def server_url(self) -> str:
        if self.superuser:
            return self.database_url
        return self.app_url or config.with_user(self.database_url, config.APP_ROLE)


def parse_peers(text: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in names if name not in PEERS]
    if unknown or len(set(names)) != len(names):
        raise SystemExit(f"unknown or repeated peers {list(names)}; choose from {', '.join(PEERS)}")
    return names


@dataclass
class Target:
    """A server under load, with its own documents when it is a peer with another schema."""

    server: Server
    documents: dict[str, PeerDocument] | None = None  # None: the scenarios' own documents

    @property
    def name(self) -> str:
        return self.server.name

    def runs(self, scenario: Scenario) -> bool:
        return self.documents is None or scenario.name in self.documents

    def request(self, scenario: Scenario, fixture: Fixture) -> tuple[bytes, str]:
        """The request body and the marker of a good response."""
        if self.documents is None:
            return request_body(scenario, scenario.variables(fixture)), scenario.marker
        document = self.documents[scenario.name]
        body = orjson.dumps({"query": document.query, "variables": document.variables(fixture)})
        return body, document.marker


def default_output() -> Path:
    return ROOT / "bench" / "results" / f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"


async def load_fixture(url: str) -> Fixture:
    slug = config.tenant_slug(0)
    connection = await asyncpg.connect(config.asyncpg_url(url))
    try:
        tenant = await connection.fetchval("SELECT id FROM tenant WHERE slug = $1", slug)
        if tenant is None:
            raise SystemExit(f"no tenant {slug!r} in the database: run `python -m bench seed` first")
        admin = await connection.fetchval(
            "SELECT id FROM app_user WHERE tenant_id = $1 AND email = $2", tenant, config.admin_email(slug)
        )
        # The seeded months come first; reserve only ever books far beyond them.
        earliest = await connection.fetchval(
            "SELECT min(starts_at) FROM reservation WHERE tenant_id = $1", tenant
        )
        if admin is None or earliest is None:
            raise SystemExit(f"tenant {slug!r} lacks its admin or reservations: re-seed with --reset")
        items = await connection.fetch(
            "SELECT id, tracking FROM equipment WHERE tenant_id = $1 AND status = 'ACTIVE' ORDER BY name, id",
            tenant,
        )
    finally:
        await connection.close()
    sets = {size: spread(items, size) for size in AVAILABILITY_SIZES}
    # `reserve` leaves rows behind: it books equipment the read scenarios never read
    # (not on nested's first page, not in an availability set), so repeated runs do
    # not slow the reads down.
    read = {row["id"] for row in items[: max(NESTED_PAGES)]}
    read |= {row["id"] for chosen in sets.values() for row in chosen}
    bulk = [row for row in reversed(items) if row["tracking"] == "BULK" and row["id"] not in read]
    if not bulk:
        raise SystemExit("no ACTIVE BULK equipment outside the read scenarios to book in `reserve`")
    return Fixture(
        window=month_window(earliest),
        availability_sets={
            size: [global_id("Equipment", row["id"]) for row in chosen] for size, chosen in sets.items()
        },
        reserve_ids=[global_id("Equipment", row["id"]) for row in bulk[:RESERVE_ITEMS]],
        salt=random.randrange(10**6),
        tenant_id=str(tenant),
        admin_id=str(admin),
    )


def spread(items: list[Any], size: int) -> list[Any]:
    """``size`` items evenly spread over the catalogue (by name), as a screen of mixed items would be."""
    step = max(1, len(items) // size)
    return items[::step][:size]


def post(url: str, body: bytes, token: str | None = None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.status, orjson.loads(response.read())


def sign_in(rigbook_url: str) -> str:
    slug = config.tenant_slug(0)
    variables = {
        "input": {"tenant": slug, "email": config.admin_email(slug), "password": config.STAFF_PASSWORD}
    }
    _, body = post(rigbook_url, orjson.dumps({"query": LOGIN, "variables": variables}))
    result = (body.get("data") or {}).get("login") or {}
    if result.get("__typename") != "LoginSuccess":
        raise SystemExit(f"could not sign in to Rigbook as {config.admin_email(slug)}: {body}")
    token: str = result["accessToken"]
    return token


def first_difference(left: Any, right: Any, path: str = "data") -> str | None:
    if type(left) is not type(right):
        return f"{path}: {str(left)[:200]!r} != {str(right)[:200]!r}"
    if isinstance(left, dict):
        for key in sorted(set(left) | set(right)):
            if key not in left or key not in right:
                return f"{path}.{key}: present on one side only"
            found = first_difference(left[key], right[key], f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(left, list):
        if len(left) != len(right):
            return f"{path}: {len(left)} items != {len(right)} items"
        for index, (a, b) in enumerate(zip(left, right, strict=True)):
            found = first_difference(a, b, f"{path}[{index}]")
            if found:
                return found
        return None
    return None if left == right else f"{path}: {left!r} != {right!r}"


def first_tuple_difference(expected: list[tuple[Any, ...]], found: list[tuple[Any, ...]]) -> str | None:
    """Where a peer's tuples first differ from Rigbook's (order included), or None."""
    for index, (a, b) in enumerate(zip(expected, found, strict=False)):
        if a != b:
            return f"tuple {index}: {a!r} != {b!r}"
    if len(expected) != len(found):
        return f"{len(expected)} tuples != {len(found)} tuples"
    return None


def preflight(
    targets: list[Target], scenarios: list[Scenario], fixture: Fixture, token: str
) -> dict[str, dict[str, int]]:
    """Every scenario gives the same ``data`` on Rigbook and the baseline, and the same tuples on
    each peer that runs it; fail loudly otherwise."""
    sizes: dict[str, dict[str, int]] = {}
    for scenario in scenarios:
        answers: dict[str, Any] = {}
        for target in targets:
            if not target.runs(scenario):
                continue
            body, _marker = target.request(scenario, fixture)
            status, payload = post(target.server.url, body, token)
            if status != 200 or "errors" in payload or payload.get("data") is None:
                raise SystemExit(f"{scenario.name}: {target.name} answered {status}: {str(payload)[:1000]}")
            answers[target.name] = payload["data"]
            sizes.setdefault(scenario.name, {})[target.name] = len(orjson.dumps(payload))
        rigbook, baseline = (scenario.normalise(answers[name]) for name in ("rigbook", "baseline"))
        difference = first_difference(rigbook, baseline)
        if difference is not None:
            raise SystemExit(f"MISMATCH in {scenario.name} (rigbook vs baseline): {difference}")
        compared = ["rigbook", "baseline"]
        for target in targets[2:]:
            if target.documents is None or not target.runs(scenario):
                continue
            document = target.documents[scenario.name]
            expected = document.expected(answers["rigbook"])
            found = first_tuple_difference(expected, document.tuples(answers[target.name]))
            if found is not None:
                raise SystemExit(f"MISMATCH in {scenario.name} (rigbook vs {target.name}): {found}")
            compared.append(f"{target.name} ({len(expected):,} tuples)")
        shown = ", ".join(f"{name} {size:,} B" for name, size in sizes[scenario.name].items())
        print(f"  {scenario.name}: same data on {', '.join(compared)} ({shown})", flush=True)
    return sizes


def load(
    targets: list[Target],
    target: Target,
    scenario: Scenario,
    fixture: Fixture,
    token: str,
    options: RunOptions,
    seconds: float,
    work_dir: Path,
) -> dict[str, Any]:
    """One wrk run against ``target``, with the CPU it cost the server and PostgreSQL.

    Every server is idle when it starts. CPU is counted until the server is idle again,
    because it finishes the ``concurrency`` requests still in flight when wrk stops; so
    CPU per request = that CPU / (completed + concurrency).
    """
    for each in targets:
        each.server.wait_idle()
    server = target.server
    database = config.database_name(options.database_url)
    body, marker = target.request(scenario, fixture)
    script = lua_script(scenario, body, token, fixture.reserve_ids, marker)
    db_before = cpu_by_pid(database_backends(database))
    cpu_before = server.cpu_seconds()
    result: LoadResult = run_wrk(
        server.url,
        script,
        connections=options.concurrency,
        threads=options.threads,
        seconds=seconds,
        script_path=work_dir / f"{scenario.name}-{server.name}.lua",
    )
    drained = server.wait_idle()
    cpu_used = server.cpu_seconds() - cpu_before
    # Backends that ended during the run take their CPU time with them (pools keep theirs open).
    db_after = cpu_by_pid(database_backends(database))
    db_used = sum(after - db_before.get(pid, 0.0) for pid, after in db_after.items())
    served = result.requests + options.concurrency if result.requests else 0
    return result.to_json() | {
        "cpu_ms_per_request": 1000 * cpu_used / served if served else None,
        "db_cpu_ms_per_request": 1000 * db_used / served if served else None,
        "served": served,
        "cpu_seconds": cpu_used,
        "db_cpu_seconds": db_used,
        "drain_seconds": drained,
    }


def _role(url: str) -> str:
    netloc = urlsplit(url).netloc
    return netloc.rpartition("@")[0].partition(":")[0] if "@" in netloc else ""


def metadata(options: RunOptions) -> dict[str, Any]:
    def command(*args: str) -> str:
        completed = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=False)
        return completed.stdout.strip()

    commit = command("git", "rev-parse", "HEAD")
    return {
        "started_at": datetime.now(UTC).isoformat(),
        "label": options.label,
        # None when the code is not a git checkout (e.g. a copied snapshot).
        "git_commit": commit or None,
        "git_dirty": bool(command("git", "status", "--porcelain", "--untracked-files=no"))
        if commit
        else None,
        "python": sys.version.split()[0],
        "machine": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "wrk": wrk_version(),
        "database": config.database_name(options.database_url),
        "server_role": _role(options.server_url),
        "workers": options.workers,
        "concurrency": options.concurrency,
        "duration_s": options.duration,
        "rounds": options.rounds,
        "threads": options.threads,
        "warmup_s": options.warmup,
        "scenarios": [scenario.name for scenario in options.scenarios],
        "targets": ["rigbook", "baseline", *options.peers],
    }


RLS_APPLIES_SQL = """
SELECT NOT (r.rolsuper OR r.rolbypassrls)
       AND EXISTS (SELECT 1 FROM pg_class WHERE relname = 'reservation' AND relrowsecurity)
FROM pg_roles r WHERE r.rolname = current_user
"""


async def prepare_database(options: RunOptions) -> bool:
    """``rigbook migrate`` (serve does not migrate), the serving role and its grants; whether
    row-level security applies to the servers' role."""
    from alembic.util import CommandError

    from bench.seed import ensure_app_role
    from db.migrate import migrate

    admin = config.sqlalchemy_url(options.database_url)
    if not options.superuser and options.app_url is None:
        connection = await asyncpg.connect(config.asyncpg_url(options.database_url))
        try:
            if not await ensure_app_role(connection, options.database_url):
                raise SystemExit("--superuser, or --app-url with a non-superuser role of your own")
        finally:
            await connection.close()
    try:
        await migrate(config.sqlalchemy_url(options.server_url), None if options.superuser else admin)
    except CommandError as error:  # e.g. the database is at a revision this code does not know
        print(f"warning: could not migrate ({error}); benchmarking the schema as it is", flush=True)
    if "postgraphile" in options.peers:
        from bench import postgraphile

        await postgraphile.prepare_database(options.database_url)
    connection = await asyncpg.connect(config.asyncpg_url(options.server_url))
    try:
        return bool(await connection.fetchval(RLS_APPLIES_SQL))
    finally:
        await connection.close()


def execute(options: RunOptions) -> dict[str, Any]:
    """Start the servers, check their answers, count statements, load them; the results (no summary)."""
    require_wrk()
    load_now = os.getloadavg()[0]
    if load_now > 0.5 * (os.cpu_count() or 1):
        print(
            f"warning: load average {load_now:.1f} on {os.cpu_count()} CPUs: figures will be noisy",
            flush=True,
        )
    node = None
    if "postgraphile" in options.peers:
        from bench import postgraphile

        node = postgraphile.install()
    rls = asyncio.run(prepare_database(options))
    fixture = asyncio.run(load_fixture(options.database_url))
    meta = metadata(options) | {"row_level_security": rls}
    work_dir = Path(tempfile.mkdtemp(prefix="rigbook-bench-"))
    targets = [
        Target(rigbook_server(options.server_url, options.workers, work_dir)),
        Target(baseline_server(options.server_url, options.workers, work_dir)),
    ]
    if node is not None:
        from bench import postgraphile

        meta["peer_versions"] = {"postgraphile": postgraphile.version(node)}
        targets.append(
            Target(
                postgraphile.server(options.server_url, options.workers, work_dir, node),
                postgraphile.DOCUMENTS,
            )
        )
    results: dict[str, Any] = {"meta": meta, "window": [moment.isoformat() for moment in fixture.window]}
    loads: list[dict[str, Any]] = []
    failed = True
    try:
        for target in targets:
            target.server.start()
        for target in targets:
            target.server.wait_ready(options.workers)
        ports = ", ".join(f"{target.name} on :{target.server.port}" for target in targets)
        print(
            f"{ports}; {options.workers} worker(s) each, as {meta['server_role'] or 'the default role'} "
            f"(row-level security {'on' if rls else 'OFF'})",
            flush=True,
        )
        results["startup_peak_rss_mb"] = {target.name: target.server.memory_mb("VmHWM") for target in targets}
        token = sign_in(targets[0].server.url)
        print("pre-flight: comparing data")
        results["response_bytes"] = preflight(targets, options.scenarios, fixture, token)
        print("counting SQL statements per request (in-process, through a counting proxy)", flush=True)
        counts = asyncio.run(
            count_statements(options.server_url, options.scenarios, body_builder(fixture), token)
        )
        results["statements"] = {
            target: {name: count.to_json() for name, count in by_scenario.items()}
            for target, by_scenario in counts.items()
        }
        if options.warmup > 0:
            print(f"warming up ({options.warmup:g}s per scenario and server)", flush=True)
            for scenario in options.scenarios:
                for target in targets:
                    if target.runs(scenario):
                        load(targets, target, scenario, fixture, token, options, options.warmup, work_dir)
        for round_number in range(1, options.rounds + 1):
            for scenario in options.scenarios:
                for target in targets:
                    if not target.runs(scenario):
                        continue
                    measured = load(
                        targets, target, scenario, fixture, token, options, options.duration, work_dir
                    )
                    measured |= {"round": round_number, "scenario": scenario.name, "target": target.name}
                    loads.append(measured)
                    print(report.progress_line(measured), flush=True)
        results["loads"] = loads
        results["peak_rss_mb"] = {target.name: target.server.memory_mb("VmHWM") for target in targets}
        results["final_rss_mb"] = {target.name: target.server.memory_mb("VmRSS") for target in targets}
        failed = False
    finally:
        for target in targets:
            target.server.stop()
        if failed or options.keep_logs:
            print(f"server logs and wrk scripts kept in {work_dir}", file=sys.stderr)
        else:
            shutil.rmtree(work_dir, ignore_errors=True)
    results["summary"] = report.summarise(results, [scenario.name for scenario in options.scenarios])
    return results


def run(options: RunOptions) -> int:
    results = execute(options)
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
    print()
    for line in report.table(results):
        print(line)
    print(f"\nresults written to {options.output}")
    for line in report.ratio_lines(results):
        print(line)
    return 0
