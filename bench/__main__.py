"""``python -m bench seed|run``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _seed(args: argparse.Namespace) -> int:
    from bench.seed import SeedOptions, seed

    options = SeedOptions(
        tenants=args.tenants,
        equipment=args.equipment,
        reservations_per_item=args.reservations_per_item,
        months=args.months,
    )
    return seed(args.database_url, options, reset=args.reset)


def _run(args: argparse.Namespace) -> int:
    from bench.run import RunOptions, default_output, run
    from bench.scenarios import parse_scenarios
    from bench.wrk import require_wrk

    require_wrk()  # before anything starts: exit with the install hint
    if args.workers < 1 or args.concurrency < 1 or args.rounds < 1 or args.duration <= 0:
        raise SystemExit("--workers, --concurrency, --rounds and --duration must be positive")
    options = RunOptions(
        database_url=args.database_url,
        workers=args.workers,
        concurrency=args.concurrency,
        duration=args.duration,
        rounds=args.rounds,
        scenarios=parse_scenarios(args.scenarios),
        output=Path(args.output) if args.output else default_output(),
        threads=args.threads,
        warmup=args.warmup,
        keep_logs=args.keep_logs,
        label=args.label,
        app_url=args.app_url,
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
        for line in report.table(results):
            print(line)
        print(report.last_line(results))
    return 0


def _validation(args: argparse.Namespace) -> int:
    from bench.validation import run

    return run(args.runs)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m bench", description="Rigbook benchmark harness (issue #6)")
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

    run = commands.add_parser("run", help="load Rigbook and the baseline, interleaved, with wrk")
    run.add_argument("--database-url", required=True, help="a database filled by `python -m bench seed`")
    run.add_argument("--workers", type=int, default=1, help="worker processes per server (default 1)")
    run.add_argument("--concurrency", type=int, default=10, help="open connections (default 10)")
    run.add_argument("--duration", type=float, default=10, help="seconds per timed run (default 10)")
    run.add_argument("--rounds", type=int, default=2, help="interleaved rounds A B A B (default 2)")
    run.add_argument("--scenarios", default="nested,me,availability,reserve", help="comma-separated")
    run.add_argument("--output", help="JSON results file (default bench/results/<UTC timestamp>.json)")
    run.add_argument("--threads", type=int, default=1, help="wrk threads (default 1)")
    run.add_argument("--warmup", type=float, default=2, help="untimed seconds per scenario and server first")
    run.add_argument("--keep-logs", action="store_true", help="keep server logs and wrk scripts")
    run.add_argument("--label", default="", help="a note stored with the results (what was measured)")
    run.add_argument(
        "--app-url",
        help="the URL both servers connect with (default --database-url); a role without superuser "
        "or BYPASSRLS makes row-level security apply, e.g. the rigbook_bench_app role `seed` creates",
    )
    run.set_defaults(handler=_run)

    show = commands.add_parser("show", help="print the summary of earlier results files again")
    show.add_argument("files", nargs="+", help="JSON files written by `run`")
    show.set_defaults(handler=_show)

    validation = commands.add_parser(
        "validation", help="time the worst documents the GraphQL limits accept (no database needed)"
    )
    validation.add_argument("--runs", type=int, default=7, help="runs per document (the median is shown)")
    validation.set_defaults(handler=_validation)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
