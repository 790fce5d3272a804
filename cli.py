"""The ``rigbook`` command: serve, worker, jobs, report, import, export, migrate, seed, export-schema, create-tenant, create-operator."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import secrets
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from settings import ConfigurationError, Settings

if TYPE_CHECKING:
    from db.migrate import Moved, Revision

SCHEMA_FILE = Path(__file__).parent / "schema.graphql"
log = logging.getLogger("rigbook")
ROLE_CHECK_TIMEOUT = 10.0  # seconds; the check must not hold up a start


def _configure_logging() -> None:
    from web.middleware import request_id_var

    class RequestIdFilter(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            record.request_id = request_id_var.get()
            return True

    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    logging.getLogger("alembic").setLevel(logging.WARNING)


def _services(settings: Settings):  # type: ignore[no-untyped-def]
    from auth.services import Services

    return Services.create(settings)


async def _migrate(settings: Settings, target: str = "head") -> Moved:
    from db.migrate import migrate

    return await migrate(settings.database_url, settings.migration_database_url, target)


def _development_secret(*, announce: bool) -> None:
    """Give this process (and the workers it starts) one random JWT secret, outside production."""
    settings = Settings()
    if settings.is_production or settings.jwt_secret is not None:
        return
    # Every worker must sign and verify with the same secret.
    os.environ["RIGBOOK_JWT_SECRET"] = secrets.token_urlsafe(48)
    if announce:
        log.warning("RIGBOOK_JWT_SECRET is not set: using a random secret until the server stops")


def _password(variable: str, prompt: str) -> str | None:
    """A password from ``variable`` or, on a terminal, asked for; ``None`` when neither can be."""
    password = os.environ.get(variable)
    if password:
        return password
    if not sys.stdin.isatty():
        return None
    try:
        return getpass.getpass(prompt)
    except (EOFError, KeyboardInterrupt):
        return None


def _port_refusal(host: str, port: int) -> str | None:
    """Why the server could not listen on ``host:port``, asked before migrating; ``None`` when it can."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        return f"cannot resolve host {host!r}: {error.strerror}"
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        # As uvicorn binds: a port left in TIME_WAIT is free, one with a listener is not.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            return f"cannot listen on {host}:{port}: {error.strerror or error}"
    return None


async def _warn_about_serving_role(settings: Settings) -> None:
    """Say so when the serving role could lower row-level security or the audit trail."""
    from db.roles import serving_role_warnings

    if settings.is_production and settings.migration_database_url is not None:
        log.warning("RIGBOOK_MIGRATION_DATABASE_URL is set: the server does not need the owner's credentials")
    try:
        warnings = await asyncio.wait_for(serving_role_warnings(settings.database_url), ROLE_CHECK_TIMEOUT)
    except Exception as error:  # unreachable now: readiness says so; start anyway
        log.warning("could not check the database role: %s", str(error)[:200] or type(error).__name__)
        return
    for warning in warnings:
        log.warning("%s", warning)


async def _seed(settings: Settings) -> list[str]:
    from resolvers.demo.seed import seed_demo

    services = _services(settings)
    try:
        return await seed_demo(services)
    finally:
        await services.database.dispose()


async def _prepare_development(settings: Settings) -> bool:
    """Migrate, and seed demo data into an empty database; True when it seeded."""
    from resolvers.demo.seed import is_empty

    await _migrate(settings)
    services = _services(settings)
    try:
        empty = await is_empty(services.database)
    finally:
        await services.database.dispose()
    if empty:
        await _seed(settings)
    return empty


def _print_banner(host: str, port: int) -> None:
    from resolvers.demo.seed import demo_sign_ins

    shown_host = "127.0.0.1" if host in {"0.0.0.0", "::"} else host
    print(f"\nRigbook GraphiQL: http://{shown_host}:{port}/graphql\n")
    print("Demo sign-ins (login(input: {tenant, email, password})):")
    for tenant, email, password, role in demo_sign_ins():
        print(f"  {tenant or '(operator)':<11} {email:<28} {password:<20} {role}")
    print()


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from web.server import uvicorn_options

    _development_secret(announce=True)
    settings = Settings()
    settings.validate_for_start()
    if args.reload and (settings.is_production or args.workers != 1):
        print("rigbook serve: --reload is for development, with one worker", file=sys.stderr)
        return 2
    refusal = _port_refusal(args.host, args.port)
    if refusal is not None:
        print(f"rigbook serve: {refusal}", file=sys.stderr)
        return 2
    if not settings.is_production:
        asyncio.run(_prepare_development(settings))
        _print_banner(args.host, args.port)
    asyncio.run(_warn_about_serving_role(settings))
    uvicorn.run(
        "app:serve_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        reload=args.reload,
        reload_dirs=[str(Path(__file__).parent)] if args.reload else None,
        log_level="info",
        proxy_headers=False,
        timeout_graceful_shutdown=30,
        **uvicorn_options(settings),
    )
    return 0


def _revision_line(revision: Revision) -> str:
    return f"{revision.id}  {revision.title}"


def cmd_migrate(args: argparse.Namespace) -> int:
    from db.migrate import UnknownRevision, current, head, history, plan

    settings = Settings()
    url = settings.migration_database_url or settings.database_url
    if args.action == "current":
        at = asyncio.run(current(url))
        print(
            f"{at or 'none (empty database)'}" + (" (head)" if at == head() else f" (code's head: {head()})")
        )
        return 0
    if args.action == "history":
        at = asyncio.run(current(url))
        for revision in history()[::-1]:
            marks = [
                mark for mark, yes in (("head", revision.id == head()), ("current", revision.id == at)) if yes
            ]
            print(_revision_line(revision) + (f"  ({', '.join(marks)})" if marks else ""))
        return 0
    target = args.to or "head"
    try:
        _, reverting = plan(asyncio.run(current(url)), target)
        if reverting and not args.yes:
            # Reverting a migration drops what it added, rows included.
            for revision in reverting:
                print(f"would revert  {_revision_line(revision)}", file=sys.stderr)
            print("rigbook migrate: reverting drops what those migrations added: pass --yes", file=sys.stderr)
            return 2
        moved = asyncio.run(_migrate(settings, target))
    except UnknownRevision as error:
        print(f"rigbook migrate: --to: {error}", file=sys.stderr)
        return 2
    for revision in moved.applied:
        print(f"applied   {_revision_line(revision)}")
    for revision in moved.reverted:
        print(f"reverted  {_revision_line(revision)}")
    if not moved.applied and not moved.reverted:
        print(f"database is already at {moved.after or 'base'}; nothing to do")
    else:
        print(f"database is at {moved.after or 'base'} (was {moved.before or 'empty'})")
    return 0


def cmd_seed(args: argparse.Namespace) -> int:
    # Seeding signs and seals nothing, so no secret is needed (and none is worth a warning).
    _development_secret(announce=False)
    settings = Settings()
    if not args.demo:
        print("nothing to seed: pass --demo", file=sys.stderr)
        return 2
    if settings.is_production:
        print("refusing to seed demo data in production", file=sys.stderr)
        return 2
    asyncio.run(_migrate(settings))
    added = asyncio.run(_seed(settings))
    print(f"added {len(added)} demo accounts" if added else "demo data already present")
    return 0


def cmd_export_schema(args: argparse.Namespace) -> int:
    from schema import schema

    sdl = schema.as_str() + "\n"
    if args.check:
        current = SCHEMA_FILE.read_text() if SCHEMA_FILE.exists() else ""
        if current != sdl:
            print(
                "schema.graphql differs from the code: run `rigbook export-schema --output schema.graphql`",
                file=sys.stderr,
            )
            return 1
        print("schema.graphql is up to date")
        return 0
    if args.output:
        Path(args.output).write_text(sdl)
    else:
        sys.stdout.write(sdl)
    return 0


async def _create_operator(settings: Settings, email: str, name: str, password: str) -> list[str]:
    """What is wrong with the input, one problem a line; none once the operator exists."""
    from resolvers.errors import InvalidInput
    from resolvers.operators import create_operator
    from resolvers.transactions import Standalone

    services = _services(settings)
    try:
        await create_operator(
            Standalone(services.database), services.passwords, email=email, name=name, password=password
        )
    except InvalidInput as error:
        return [f"{field}: {message}" for field, message in error.fields.items()]
    finally:
        await services.database.dispose()
    return []


def cmd_create_operator(args: argparse.Namespace) -> int:
    _development_secret(announce=False)  # hashes a password; signs and seals nothing
    settings = Settings()
    password = _password("RIGBOOK_OPERATOR_PASSWORD", "Password: ")
    if password is None:
        print(
            "rigbook create-operator: no password: set RIGBOOK_OPERATOR_PASSWORD or run it on a terminal",
            file=sys.stderr,
        )
        return 2
    asyncio.run(_migrate(settings))
    problems = asyncio.run(_create_operator(settings, args.email, args.name, password))
    for problem in problems:
        print(f"cannot create operator: {problem}", file=sys.stderr)
    if problems:
        return 1
    print(f"operator {args.email} created")
    return 0


async def _create_tenant(settings: Settings, args: argparse.Namespace, password: str) -> list[str]:
    """What is wrong with the input, one problem a line; none once the tenant and its admin exist."""
    from resolvers.errors import InvalidInput
    from resolvers.tenants import NewTenant, create_tenant
    from resolvers.transactions import Standalone

    new = NewTenant(
        slug=args.slug,
        name=args.name,
        timezone=args.timezone,
        admin_email=args.admin_email,
        admin_password=password,
        admin_name=args.admin_name,
    )
    services = _services(settings)
    try:
        await create_tenant(Standalone(services.database), services.passwords, new)
    except InvalidInput as error:
        return [f"{TENANT_OPTIONS.get(field, field)}: {message}" for field, message in error.fields.items()]
    finally:
        await services.database.dispose()
    return []


# Where each of ``createTenant``'s input fields comes from on the command line.
TENANT_OPTIONS = {
    "slug": "--slug",
    "name": "--name",
    "timezone": "--timezone",
    "adminEmail": "--admin-email",
    "adminName": "--admin-name",
    "adminPassword": "RIGBOOK_ADMIN_PASSWORD",
}


def cmd_create_tenant(args: argparse.Namespace) -> int:
    _development_secret(announce=False)  # hashes a password; signs and seals nothing
    settings = Settings()
    password = _password("RIGBOOK_ADMIN_PASSWORD", "Admin password: ")
    if password is None:
        print(
            "rigbook create-tenant: no password: set RIGBOOK_ADMIN_PASSWORD or run it on a terminal",
            file=sys.stderr,
        )
        return 2
    asyncio.run(_migrate(settings))
    problems = asyncio.run(_create_tenant(settings, args, password))
    for problem in problems:
        print(f"cannot create tenant: {problem}", file=sys.stderr)
    if problems:
        return 1
    print(f"tenant {args.slug.strip().lower()} created; its admin {args.admin_email.strip()} can sign in")
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    import resolvers.jobs  # noqa: F401  (registers every job kind and schedule)
    from resolvers.jobs.worker import run_until_signalled

    settings = Settings()
    settings.validate_for_start()
    if settings.migration_database_url is not None:
        log.warning("RIGBOOK_MIGRATION_DATABASE_URL is set: the worker does not need the owner's credentials")

    async def work() -> None:
        services = _services(settings)
        try:
            await run_until_signalled(services, args.concurrency, settings.worker_heartbeat_file)
        finally:
            await services.close()

    asyncio.run(work())
    return 0


def _bounded(kind: type[int] | type[float], low: float, high: float) -> Callable[[str], float]:
    """An argparse type: a number of ``kind`` from ``low`` to ``high``."""

    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be {low:g} to {high:g}")
        return value

    return parse


async def _jobs_list(database: Any, args: argparse.Namespace) -> int:
    from db import queue
    from db.tables.job import JobStatus
    from resolvers.jobs.worker import describe

    status = JobStatus(args.status.upper()) if args.status else None
    for job in await queue.listing(database, status, args.kind, args.limit):
        print(describe(job))
    totals = await queue.counts(database)
    print("  ".join(f"{name}: {count}" for name, count in sorted(totals.items())) or "no jobs")
    return 0


async def _jobs_retry(database: Any, args: argparse.Namespace) -> int:
    import uuid

    from db import queue
    from db.clock import utcnow

    ids = None if args.dead else [uuid.UUID(value) for value in args.ids]
    if ids is not None and not ids:
        print("name the jobs to retry, or pass --dead for every dead job", file=sys.stderr)
        return 2
    print(f"{await queue.retry(database, ids, utcnow())} jobs queued again")
    return 0


async def _jobs_purge(database: Any, args: argparse.Namespace) -> int:
    from datetime import timedelta

    from db import queue
    from db.clock import utcnow
    from db.tables.job import JobStatus

    statuses = [JobStatus(value.strip().upper()) for value in args.status.split(",") if value.strip()]
    if not statuses or any(status not in (JobStatus.DONE, JobStatus.DEAD) for status in statuses):
        print("only finished jobs are purged: --status done, dead or done,dead", file=sys.stderr)
        return 2
    before = utcnow() - timedelta(days=args.older_than_days)
    print(f"{await queue.purge(database, statuses, before)} jobs purged")
    return 0


async def _jobs_probe(database: Any, args: argparse.Namespace) -> int:
    """Queue a probe and wait for a worker to run it: 0 when one did, 1 when none did in time."""
    from db import queue
    from db.clock import utcnow
    from db.tables.job import JobStatus
    from resolvers.jobs.upkeep import send_probe

    sent = utcnow()
    job_id = await send_probe(database, args.seconds, sent)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + args.wait
    while loop.time() < deadline:
        found = await queue.find(database, job_id)
        if found is not None and found.status in (JobStatus.DONE, JobStatus.DEAD):
            took = ((found.finished_at or sent) - sent).total_seconds()
            if found.status == JobStatus.DEAD:
                print(f"probe {job_id} failed on {found.locked_by or 'a worker'}: {found.last_error}")
                return 1
            print(f"probe {job_id} ran on {found.locked_by} after {took:.2f} s")
            return 0
        await asyncio.sleep(0.2)
    withdrawn = await queue.cancel(database, [job_id])
    state = "withdrawn" if withdrawn else "still running"
    print(f"no worker ran probe {job_id} within {args.wait:g} s ({state})", file=sys.stderr)
    return 1


def cmd_jobs(args: argparse.Namespace) -> int:
    import resolvers.jobs  # noqa: F401  (the probe's kind)
    from db.database import Database

    settings = Settings()
    actions = {"list": _jobs_list, "retry": _jobs_retry, "purge": _jobs_purge, "probe": _jobs_probe}

    async def act() -> int:
        database = Database(settings.database_url, pool_size=2, max_overflow=0)
        try:
            return await actions[args.action](database, args)
        finally:
            await database.dispose()

    try:
        return asyncio.run(act())
    except ValueError as error:
        print(f"rigbook jobs: {error}", file=sys.stderr)
        return 2


def cmd_report(args: argparse.Namespace) -> int:
    from db.clock import utcnow
    from resolvers.reports.csv_export import report_csv
    from resolvers.reports.months import BadMonth, Month
    from resolvers.reports.on_demand import ReportRefused, month_report

    try:
        month = Month.parse(args.month)
    except BadMonth as error:
        print(f"rigbook report: --month: {error}", file=sys.stderr)
        return 2
    settings = Settings()

    async def make() -> str:
        services = _services(settings)
        try:
            report = await month_report(
                services.database, args.tenant, month, utcnow(), recompute=args.replace
            )
        finally:
            await services.database.dispose()
        return report_csv(report)

    try:
        text = asyncio.run(make())
    except ReportRefused as error:
        print(f"rigbook report: {error}", file=sys.stderr)
        return 1
    sys.stdout.write(text)
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from resolvers.equipment_import import ImportLimits, ImportRejected, NoSuchTenant, import_for_command
    from resolvers.errors import Conflict

    settings = Settings()
    limit = settings.max_import_file_size
    path = Path(args.file)
    try:
        size = path.stat().st_size
        if size > limit:
            message = f"{path} has {size} bytes; at most {limit} (RIGBOOK_MAX_IMPORT_FILE_SIZE)"
            print(f"rigbook import: {message}", file=sys.stderr)
            return 1
        with path.open("rb") as file:
            data = file.read(limit + 1)  # the file may have grown since
    except OSError as error:
        print(f"rigbook import: cannot read {path}: {error.strerror or error}", file=sys.stderr)
        return 2
    limits = ImportLimits(max_bytes=limit, max_rows=settings.max_import_rows)

    async def run() -> Any:
        services = _services(settings)
        try:
            return await import_for_command(
                services.database, args.tenant, data, dry_run=args.dry_run, limits=limits
            )
        finally:
            await services.database.dispose()

    try:
        outcome = asyncio.run(run())
    except ImportRejected as rejected:
        for problem in rejected.problems:
            where = f"{path}:{problem.line}" if problem.line is not None else str(path)
            column = f" {problem.column}:" if problem.column is not None else ""
            print(f"{where}:{column} {problem.message}", file=sys.stderr)
        print(f"rigbook import: {rejected.message}", file=sys.stderr)
        return 1
    except (NoSuchTenant, Conflict) as error:
        print(f"rigbook import: {error}", file=sys.stderr)
        return 1
    print(
        f"{outcome.rows} rows: {outcome.created} created, {outcome.updated} updated, "
        f"{outcome.unchanged} unchanged" + (" (dry run: nothing written)" if outcome.dry_run else "")
    )
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from db.clock import utcnow
    from resolvers.exports.command import ExportRefused, ProgressBar, export_to_file
    from resolvers.exports.formats import ExportFormat
    from resolvers.exports.tables import UnknownGroup, chosen
    from resolvers.exports.writer import ExportTooLarge

    try:
        tables = chosen(args.only.split(",") if args.only is not None else None)
    except UnknownGroup as error:
        print(f"rigbook export: --only: {error}", file=sys.stderr)
        return 2
    settings = Settings()
    bar = ProgressBar(sys.stderr)

    async def make() -> dict[str, Any]:
        services = _services(settings)
        try:
            return await export_to_file(
                services.database, args.tenant, Path(args.output), tables=tables,
                form=ExportFormat(args.format), now=utcnow(), max_bytes=settings.export_max_bytes, progress=bar,
            )  # fmt: skip
        finally:
            await services.database.dispose()

    try:
        manifest = asyncio.run(make())
    except (ExportRefused, ExportTooLarge) as error:
        bar.finish()
        print(f"rigbook export: {error}", file=sys.stderr)
        return 1
    bar.finish()
    rows = sum(entry["rows"] for entry in manifest["files"])
    print(f"exported {rows} rows in {len(manifest['files'])} files to {args.output}", file=sys.stderr)
    return 0


def parser() -> argparse.ArgumentParser:
    from db.queue import MAX_LISTED

    # Every option's help shows its default.
    formatter = argparse.ArgumentDefaultsHelpFormatter
    root = argparse.ArgumentParser(
        prog="rigbook", description="Rigbook GraphQL API server", formatter_class=formatter
    )
    root.add_argument("--version", action="version", version=_version())
    commands = root.add_subparsers(dest="command", required=True, parser_class=_parser_class(formatter))

    serve = commands.add_parser("serve", help="serve the API (development: migrate and seed first)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0: every interface)")
    serve.add_argument("--port", type=_bounded(int, 1, 65535), default=8000, help="TCP port, 1 to 65535")
    serve.add_argument(
        "--workers",
        type=_bounded(int, 1, 64),
        default=1,
        help="worker processes, 1 to 64 (about one per core)",
    )
    serve.add_argument(
        "--reload", action="store_true", help="restart on code changes (development, one worker)"
    )
    serve.set_defaults(run=cmd_serve)

    migrate = commands.add_parser(
        "migrate", help="apply database migrations (idempotent), or show where the database stands"
    )
    migrate.add_argument(
        "action",
        nargs="?",
        choices=["current", "history"],
        help="current: the database's revision; history: every revision, newest first",
    )
    migrate.add_argument(
        "--to",
        metavar="REV",
        help="move to this revision, down as well as up (base: before the first); default: the newest",
    )
    migrate.add_argument(
        "--yes", action="store_true", help="confirm reverting migrations (--to an older one)"
    )
    migrate.set_defaults(run=cmd_migrate)

    seed = commands.add_parser("seed", help="insert demo data (development only)")
    seed.add_argument("--demo", action="store_true", help="the demo tenants and accounts")
    seed.set_defaults(run=cmd_seed)

    export = commands.add_parser("export-schema", help="print the GraphQL SDL")
    export.add_argument("--check", action="store_true", help="exit 1 when schema.graphql differs")
    export.add_argument("--output", help="write to this file instead of stdout")
    export.set_defaults(run=cmd_export_schema)

    worker = commands.add_parser("worker", help="run background jobs until SIGTERM")
    worker.add_argument(
        "--concurrency",
        type=_bounded(int, 1, 64),
        default=None,
        help="jobs at once, 1 to 64 (RIGBOOK_WORKER_CONCURRENCY)",
    )
    worker.set_defaults(run=cmd_worker)

    jobs = commands.add_parser("jobs", help="look at and repair the job queue")
    job_actions = jobs.add_subparsers(dest="action", required=True)
    listing = job_actions.add_parser("list", help="the newest jobs and the count in each status")
    listing.add_argument("--status", choices=["queued", "running", "done", "dead"])
    listing.add_argument("--kind")
    listing.add_argument(
        "--limit", type=_bounded(int, 1, MAX_LISTED), default=50, help=f"at most {MAX_LISTED}"
    )
    retry = job_actions.add_parser("retry", help="queue dead jobs again")
    retry.add_argument("ids", nargs="*", help="job ids")
    retry.add_argument("--dead", action="store_true", help="every dead job")
    purge = job_actions.add_parser("purge", help="delete finished jobs (each schedule's latest slot stays)")
    purge.add_argument("--status", default="done,dead", help="comma-separated: done, dead")
    purge.add_argument("--older-than-days", type=_bounded(float, 0, 36500), default=7.0)
    probe = job_actions.add_parser("probe", help="queue a probe job and wait until a worker runs it")
    probe.add_argument(
        "--seconds", type=_bounded(float, 0, 30), default=0.0, help="how long the probe keeps its worker busy"
    )
    probe.add_argument(
        "--wait", type=_bounded(float, 0.1, 600), default=30.0, help="seconds to wait for a worker to run it"
    )
    jobs.set_defaults(run=cmd_jobs)

    report = commands.add_parser(
        "report", help="print a tenant's monthly report as CSV (made now if the month has none)"
    )
    report.add_argument("--tenant", required=True, help="the tenant's slug")
    report.add_argument("--month", required=True, help="YYYY-MM, a month that has ended")
    report.add_argument("--replace", action="store_true", help="compute the report again and store that")
    report.set_defaults(run=cmd_report)

    tenant = commands.add_parser(
        "create-tenant",
        help="create a tenant and its first admin (password: RIGBOOK_ADMIN_PASSWORD or asked)",
    )
    tenant.add_argument("--slug", required=True, help="the tenant's short name, used to sign in")
    tenant.add_argument("--name", required=True, help="the company's name")
    tenant.add_argument("--admin-email", required=True, help="the first admin's email")
    tenant.add_argument("--admin-name", default="", help="the first admin's name")
    tenant.add_argument("--timezone", default="UTC", help="an IANA time zone, e.g. Europe/Berlin")
    tenant.set_defaults(run=cmd_create_tenant)

    imports = commands.add_parser("import", help="import data into a tenant")
    kinds = imports.add_subparsers(dest="kind", required=True)
    equipment = kinds.add_parser(
        "equipment", help="create and update a tenant's equipment from a CSV file (all rows or none)"
    )
    equipment.add_argument("--tenant", required=True, help="the tenant's slug")
    equipment.add_argument("file", help="the CSV file (UTF-8, comma-separated, a header line)")
    equipment.add_argument("--dry-run", action="store_true", help="check every row, write nothing")
    equipment.set_defaults(run=cmd_import)

    operator = commands.add_parser(
        "create-operator",
        help="create a platform operator account (password: RIGBOOK_OPERATOR_PASSWORD or asked)",
    )
    operator.add_argument("--email", required=True, help="the operator's email, used to sign in")
    operator.add_argument("--name", default="", help="the operator's name")
    operator.set_defaults(run=cmd_create_operator)

    tenant_export = commands.add_parser("export", help="write a tenant's data to a ZIP (one file per table)")
    tenant_export.add_argument("--tenant", required=True, help="the tenant's slug")
    tenant_export.add_argument(
        "--only", help="comma-separated: users, equipment, reservations, designs, audit (default: all)"
    )
    tenant_export.add_argument(
        "--format", choices=["ndjson", "csv", "json"], default="ndjson", help="how each table is written"
    )
    tenant_export.add_argument("--output", required=True, help="the ZIP file to write")
    tenant_export.set_defaults(run=cmd_export)
    return root


def _parser_class(formatter: type[argparse.HelpFormatter]) -> type[argparse.ArgumentParser]:
    """Subcommands' parsers, with the same help formatter as the root's."""

    class Parser(argparse.ArgumentParser):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("formatter_class", formatter)
            super().__init__(*args, **kwargs)

    return Parser


def _version() -> str:
    """The installed version and the newest migration this code carries."""
    from importlib.metadata import PackageNotFoundError, version

    from db.migrate import head

    try:
        installed = version("rigbook")
    except PackageNotFoundError:
        installed = "unknown"
    return f"rigbook {installed} (database revision {head()})"


def main(argv: list[str] | None = None) -> int:
    _configure_logging()
    args = parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except ConfigurationError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
