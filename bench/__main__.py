"""``python -m bench seed|run|scale|live|show|validation|export``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bench.config import APP_ROLE
from bench.scenarios import DEFAULT_SCENARIOS

if TYPE_CHECKING:
    from bench.run import RunOptions


def _seed(args: argparse.Namespace) -> int:
    from bench.seed import SeedOptions, seed

    options = SeedOptions(
        tenants=args.tenants,
        equipment=args.equipment,
        reservations_per_item=args.reservations_per_item,
        months=args.months,
    )
    return seed(args.database_url, options, reset=args.reset)


def run_options(args: argparse.Namespace) -> RunOptions:
    """The options of ``run`` (and ``scale``), checked."""
    from bench.run import RunOptions, default_output, parse_peers
    from bench.scenarios import parse_scenarios

    if args.workers < 1 or args.concurrency < 1 or args.rounds < 1 or args.duration <= 0:
        raise SystemExit("--workers, --concurrency, --rounds and --duration must be positive")
    return RunOptions(
        database_url=args.database_url,
        workers=args.workers,
        concurrency=args.concurrency,
        duration=args.duration,
        rounds=args.rounds,
        scenarios=parse_scenarios(getattr(args, "scenarios", "nested")),
        output=Path(args.output) if args.output else default_output(),
        threads=args.threads,
        warmup=args.warmup,
        keep_logs=args.keep_logs,
        label=args.label,
        app_url=args.app_url,
        superuser=args.superuser,
        peers=parse_peers(getattr(args, "peers", "")),
    )


def _run(args: argparse.Namespace) -> int:
    from bench.run import run
    from bench.wrk import require_wrk

    options = run_options(args)
    require_wrk()  # before anything starts: exit with the install hint
    return run(options)


def _scale(args: argparse.Namespace) -> int:
    import dataclasses

    from bench.scale import default_output, scale
    from bench.wrk import require_wrk

    options = run_options(args)
    if not args.output:
        options = dataclasses.replace(options, output=default_output())
    if args.tenant_equipment < 100 or args.tenant_months < 1:
        raise SystemExit(
            "--tenant-equipment must be at least 100 (nested's page) and --tenant-months at least 1"
        )
    require_wrk()
    return scale(
        options, reseed=args.reseed, tenant_equipment=args.tenant_equipment, tenant_months=args.tenant_months
    )


def _live(args: argparse.Namespace) -> int:
    from bench.live import LiveOptions, default_output, parse_server_env, run

    positive = (args.workers, args.mutations, args.concurrency, args.client_processes)
    if min(positive) < 1 or args.connections_per_user < 1 or args.items < 1 or args.phase_timeout <= 0:
        raise SystemExit(
            "--workers, --mutations, --concurrency, --client-processes, --connections-per-user, "
            "--items and --phase-timeout must be positive"
        )
    if args.subscribers < 4:
        raise SystemExit("--subscribers must be at least 4 (one of each kind)")
    options = LiveOptions(
        database_url=args.database_url,
        output=Path(args.output) if args.output else default_output(),
        workers=args.workers,
        subscribers=args.subscribers,
        mutations=args.mutations,
        concurrency=args.concurrency,
        confirm=args.confirm,
        client_processes=args.client_processes,
        connections_per_user=args.connections_per_user,
        items=args.items,
        phase_timeout=args.phase_timeout,
        keep_logs=args.keep_logs,
        label=args.label,
        server_env=parse_server_env(args.server_env),
    )
    return run(options)


def _show(args: argparse.Namespace) -> int:
    import orjson

    from bench import report

    for index, name in enumerate(args.files):
        results = orjson.loads(Path(name).read_bytes())
        if index:
            print()
        print(f"== {name} ({results['meta']['started_at']}) {results['meta'].get('label', '')}")
        if "by_kind" in results:  # written by `live`
            from bench.live import summary_lines

            for line in summary_lines(results):
                print(line)
            continue
        if "rows" in results:  # written by `scale`
            from bench.scale import table

            for line in table(results["rows"]):
                print(line)
            continue
        for line in report.table(results):
            print(line)
        for line in report.ratio_lines(results):
            print(line)
    return 0


def _validation(args: argparse.Namespace) -> int:
    from bench.validation import run

    return run(args.runs)


def _export(args: argparse.Namespace) -> int:
    from bench.export import main as export_main

    return export_main(args.database_url, load=not args.no_load)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="python -m bench", description="Rigbook benchmark harness (issues #6 and #14)"
    )
    commands = root.add_subparsers(dest="command", required=True)

    seed = commands.add_parser("seed", help="migrate and bulk-load a PostgreSQL benchmark database")
    seed.add_argument("--database-url", required=True, help="postgresql://... or postgresql+asyncpg://...")
    seed.add_argument("--tenants", type=int, default=5, help="tenants bench0..bench<N-1> (default 5)")
    seed.add_argument("--equipment", type=int, default=1000, help="equipment per tenant (default 1000)")
    seed.add_argument(
        "--reservations-per-item",
        type=int,
        default=10,
        help="one-line reservations per equipment item in each seeded month (default 10)",
    )
    seed.add_argument(
        "--months", type=int, default=3, help="months of bookings from next month on (default 3)"
    )
    seed.add_argument("--reset", action="store_true", help="TRUNCATE all tenant data first")
    seed.set_defaults(handler=_seed)

    run = commands.add_parser("run", help="load Rigbook and the baseline (and peers), interleaved, with wrk")
    _load_arguments(run, duration=10, rounds=2, warmup=2)
    run.add_argument(
        "--scenarios", default=DEFAULT_SCENARIOS, help=f"comma-separated (default {DEFAULT_SCENARIOS})"
    )
    run.add_argument(
        "--peers",
        default="",
        help="other servers to load in the same rounds, on the scenarios they share: postgraphile "
        "(installed from npm into bench/.postgraphile/ on first use)",
    )
    run.set_defaults(handler=_run)

    scale = commands.add_parser(
        "scale", help="requests/s and CPU per request as pages, bookings and tenants grow (short runs)"
    )
    _load_arguments(scale, duration=5, rounds=1, warmup=1)
    scale.add_argument("--reseed", action="store_true", help="seed the databases `scale` made again")
    scale.add_argument(
        "--tenant-equipment", type=int, default=200, help="equipment per tenant for the 5/500-tenant suite"
    )
    scale.add_argument(
        "--tenant-months", type=int, default=1, help="months of bookings for the 5/500-tenant suite"
    )
    scale.set_defaults(handler=_scale)

    live = commands.add_parser(
        "live",
        help="live updates: delivery latency, correctness and cost of subscriptions under a booking burst",
    )
    live.add_argument("--database-url", required=True, help="a database filled by `python -m bench seed`")
    live.add_argument("--workers", type=int, default=2, help="rigbook serve worker processes (default 2)")
    live.add_argument("--subscribers", type=int, default=1000, help="WebSocket subscribers (default 1000)")
    live.add_argument("--mutations", type=int, default=100, help="bookings in the burst (default 100)")
    live.add_argument("--concurrency", type=int, default=10, help="mutations in flight (default 10)")
    live.add_argument(
        "--confirm",
        action="store_true",
        help="customers request each booking and staff confirm it (two events each) instead of staff booking",
    )
    live.add_argument(
        "--client-processes",
        type=int,
        default=2,
        help="processes the subscribers are spread over (default 2)",
    )
    live.add_argument(
        "--connections-per-user",
        type=int,
        default=5,
        help="sockets per bench user, which sets how many users are created and signed in (default 5)",
    )
    live.add_argument("--items", type=int, default=10, help="equipment items the burst books (default 10)")
    live.add_argument(
        "--phase-timeout", type=float, default=120.0, help="seconds any one phase may take (default 120)"
    )
    live.add_argument(
        "--output", help="JSON results file (default bench/results/live-<UTC timestamp>.json, gitignored)"
    )
    live.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="RIGBOOK_NAME=VALUE",
        help="another setting for the server (repeatable), e.g. RIGBOOK_POOL_TIMEOUT=30",
    )
    live.add_argument("--keep-logs", action="store_true", help="keep the server log")
    live.add_argument("--label", default="", help="a note stored with the results (what was measured)")
    live.set_defaults(handler=_live)

    show = commands.add_parser("show", help="print the summary of earlier results files again")
    show.add_argument("files", nargs="+", help="JSON files written by `run`")
    show.set_defaults(handler=_show)

    validation = commands.add_parser(
        "validation", help="time the worst documents the GraphQL limits accept (no database needed)"
    )
    validation.add_argument("--runs", type=int, default=7, help="runs per document (the median is shown)")
    validation.set_defaults(handler=_validation)

    export = commands.add_parser(
        "export", help="peak RSS of `rigbook export` for tenants of 3,000 and 30,000 reservations"
    )
    export.add_argument("--database-url", required=True, help="a migrated database (`seed` migrates)")
    export.add_argument("--no-load", action="store_true", help="export the tenants loaded by an earlier run")
    export.set_defaults(handler=_export)
    return root


def _load_arguments(command: argparse.ArgumentParser, *, duration: float, rounds: int, warmup: float) -> None:
    command.add_argument("--database-url", required=True, help="a database filled by `python -m bench seed`")
    command.add_argument("--workers", type=int, default=1, help="worker processes per server (default 1)")
    command.add_argument("--concurrency", type=int, default=10, help="open connections (default 10)")
    command.add_argument(
        "--duration", type=float, default=duration, help=f"seconds per timed run (default {duration:g})"
    )
    command.add_argument(
        "--rounds", type=int, default=rounds, help=f"interleaved rounds A B A B (default {rounds})"
    )
    command.add_argument("--output", help="JSON results file (default under bench/results/, gitignored)")
    command.add_argument("--threads", type=int, default=1, help="wrk threads (default 1)")
    command.add_argument(
        "--warmup",
        type=float,
        default=warmup,
        help=f"untimed seconds per scenario and server first (default {warmup:g})",
    )
    command.add_argument("--keep-logs", action="store_true", help="keep server logs and wrk scripts")
    command.add_argument("--label", default="", help="a note stored with the results (what was measured)")
    roles = command.add_mutually_exclusive_group()
    roles.add_argument(
        "--app-url",
        help="the URL the servers connect with (default: --database-url as the role "
        f"{APP_ROLE}, which `seed` and `run` create without superuser or BYPASSRLS, so row-level security applies)",
    )
    roles.add_argument(
        "--superuser",
        action="store_true",
        help="connect the servers as --database-url's own role (a superuser bypasses row-level security)",
    )


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
