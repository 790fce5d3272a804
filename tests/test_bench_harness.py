"""The benchmark harness's own logic: arguments, answer comparison, summaries and closing lines.

No database, no server, no network and no npm: PostGraphile's install is not part of the suite.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from bench import baseline, postgraphile, report, scenarios
from bench.__main__ import parser, run_options
from bench.config import APP_ROLE
from bench.run import RunOptions, first_difference, first_tuple_difference, parse_peers
from bench.scale import plan
from bench.seed import SeedOptions
from bench.wrk import lua_script
from resolvers.pagination import encode_cursor

URL = "postgresql://postgres@127.0.0.1:5432/rigbook_bench_x"
REFERENCE = Path(__file__).resolve().parent.parent / "bench" / "reference"


def options_for(*extra: str) -> RunOptions:
    return run_options(parser().parse_args(["run", "--database-url", URL, *extra]))


def test_run_connects_as_the_non_superuser_role_by_default() -> None:
    options = options_for()

    assert options.server_url == f"postgresql://{APP_ROLE}@127.0.0.1:5432/rigbook_bench_x"
    assert not options.superuser
    assert options.peers == ()
    assert [scenario.name for scenario in options.scenarios] == list(scenarios.SCENARIO_NAMES)


def test_superuser_keeps_the_database_urls_role() -> None:
    assert options_for("--superuser").server_url == URL


def test_an_app_url_is_used_as_given() -> None:
    app = "postgresql://someone@127.0.0.1:5432/rigbook_bench_x"

    assert options_for("--app-url", app).server_url == app


def test_superuser_and_app_url_exclude_each_other() -> None:
    with pytest.raises(SystemExit):
        options_for("--superuser", "--app-url", URL)


def test_peers_and_scenarios_are_checked() -> None:
    assert options_for("--peers", "postgraphile").peers == ("postgraphile",)
    assert parse_peers("") == ()
    for bad in ("hasura", "postgraphile,postgraphile"):
        with pytest.raises(SystemExit):
            parse_peers(bad)
    for bad in ("dashboard", "me,me", ""):
        with pytest.raises(SystemExit):
            scenarios.parse_scenarios(bad)


def test_the_default_nested_document_is_unchanged_by_its_page_size_variants() -> None:
    assert scenarios.nested_query(100) == scenarios.NESTED
    assert "equipment(first: 100)" in scenarios.NESTED
    assert scenarios.SCENARIOS["nested"].query == scenarios.NESTED
    assert scenarios.nested_scenario(10).name == "nested-first10"
    assert scenarios.availability_scenario(50).name == "availability"


def test_the_baseline_answers_every_document_the_harness_sends() -> None:
    documents = [scenario.query for scenario in scenarios.SCENARIOS.values()]
    documents += [scenarios.nested_query(first) for first in scenarios.NESTED_PAGES]

    assert all(document in baseline.HANDLERS for document in documents)


def test_the_baselines_page_cursor_is_rigbooks() -> None:
    starts = datetime(2027, 1, 3, 4, 0, tzinfo=UTC)
    pk = uuid.UUID("0190a0b0-0000-7000-8000-000000000001")

    assert baseline.cursor(starts, pk) == encode_cursor([starts, pk])


def test_first_difference_names_the_path() -> None:
    left = {"a": [{"b": 1}, {"b": 2}]}

    assert first_difference(left, {"a": [{"b": 1}, {"b": 2}]}) is None
    assert first_difference(left, {"a": [{"b": 1}, {"b": 3}]}) == "data.a[1].b: 2 != 3"
    assert first_difference(left, {"a": [{"b": 1}]}) == "data.a: 2 items != 1 items"


def test_tuples_are_compared_in_order_and_by_count() -> None:
    assert first_tuple_difference([(1, "a"), (2, "b")], [(1, "a"), (2, "b")]) is None
    assert (
        first_tuple_difference([(1, "a"), (2, "b")], [(2, "b"), (1, "a")]) == "tuple 0: (1, 'a') != (2, 'b')"
    )
    assert first_tuple_difference([(1, "a")], [(1, "a"), (2, "b")]) == "1 tuples != 2 tuples"


def test_postgraphiles_nested_answer_reads_as_the_same_tuples_as_rigbooks() -> None:
    rigbook = {
        "equipment": {
            "edges": [
                {
                    "node": {
                        "name": "Truss 3m 0001",
                        "reservations": [
                            {
                                "number": 7,
                                "lines": [{"quantity": 2, "equipment": {"name": "Truss 3m 0001"}}],
                                "customer": {"email": "customer01@bench0.example"},
                            },
                            {
                                "number": 9,
                                "lines": [{"quantity": 1, "equipment": {"name": "Truss 3m 0001"}}],
                                "customer": None,
                            },
                        ],
                    }
                },
                {"node": {"name": "Truss 3m 0002", "reservations": []}},
            ]
        }
    }
    peer = {
        "allEquipment": {
            "nodes": [
                {
                    "name": "Truss 3m 0001",
                    "reservationsIn": {
                        "nodes": [
                            {
                                "number": 7,
                                "reservationLinesByTenantIdAndReservationId": {
                                    "nodes": [
                                        {
                                            "quantity": 2,
                                            "equipmentByTenantIdAndEquipmentId": {"name": "Truss 3m 0001"},
                                        }
                                    ]
                                },
                                "appUserByTenantIdAndCustomerId": {"email": "customer01@bench0.example"},
                            },
                            {
                                "number": 9,
                                "reservationLinesByTenantIdAndReservationId": {
                                    "nodes": [
                                        {
                                            "quantity": 1,
                                            "equipmentByTenantIdAndEquipmentId": {"name": "Truss 3m 0001"},
                                        }
                                    ]
                                },
                                "appUserByTenantIdAndCustomerId": None,
                            },
                        ]
                    },
                },
                {"name": "Truss 3m 0002", "reservationsIn": {"nodes": []}},
            ]
        }
    }
    document = postgraphile.DOCUMENTS["nested"]

    expected = document.expected(rigbook)
    assert expected == [
        ("Truss 3m 0001", 7, 2, "Truss 3m 0001", "customer01@bench0.example"),
        ("Truss 3m 0001", 9, 1, "Truss 3m 0001", None),
    ]
    assert first_tuple_difference(expected, document.tuples(peer)) is None
    me = postgraphile.DOCUMENTS["me"]
    assert me.expected({"me": {"email": "a@b", "role": "ADMIN"}}) == me.tuples(
        {"appUserByTenantIdAndRowId": {"email": "a@b", "role": "ADMIN"}}
    )


def test_a_peers_wrk_script_carries_its_own_marker() -> None:
    script = lua_script(scenarios.SCENARIOS["nested"], b'{"query": "x"}', "token", [], '"nodes"')

    assert 'local marker = [["nodes"]]' in script
    assert '[[{"query": "x"}]]' in script


def _load(scenario: str, target: str, rps: float, round_number: int = 1) -> dict[str, Any]:
    return {
        "scenario": scenario,
        "target": target,
        "round": round_number,
        "requests": int(rps * 10),
        "served": int(rps * 10) + 10,
        "requests_per_second": rps,
        "p50_ms": 10.0,
        "p99_ms": 20.0,
        "cpu_seconds": rps / 100,
        "db_cpu_seconds": rps / 200,
        "bad": 0,
        "errors": {"connect": 0},
    }


def _results(targets: list[str], loads: list[dict[str, Any]], names: list[str]) -> dict[str, Any]:
    counts = {"statements": 3.0, "round_trips": 3.0, "parses": 0.0, "orm_statements": 2.0}
    results: dict[str, Any] = {
        "meta": {
            "targets": targets,
            "workers": 1,
            "concurrency": 10,
            "duration_s": 1,
            "rounds": 1,
            "threads": 1,
            "server_role": APP_ROLE,
            "row_level_security": True,
        },
        "window": ["2027-01-01", "2027-02-01"],
        "loads": loads,
        "statements": {target: dict.fromkeys(names, counts) for target in ("rigbook", "baseline")},
        "peak_rss_mb": {target: [100.0] for target in targets},
    }
    results["summary"] = report.summarise(results, names)
    return results


def test_the_run_ends_with_a_ratio_per_scenario_then_per_shared_scenario_then_nested() -> None:
    names = ["nested", "me", "reserve"]
    loads = [
        _load("nested", "rigbook", 45),
        _load("nested", "baseline", 60),
        _load("nested", "postgraphile", 30),
        _load("me", "rigbook", 1800),
        _load("me", "baseline", 2000),
        _load("me", "postgraphile", 2400),
        _load("reserve", "rigbook", 100),
        _load("reserve", "baseline", 400),
    ]
    results = _results(["rigbook", "baseline", "postgraphile"], loads, names)

    assert report.ratio_lines(results) == [
        "nested: rigbook/baseline = 0.75",
        "me: rigbook/baseline = 0.90",
        "reserve: rigbook/baseline = 0.25",
        "nested: rigbook/postgraphile = 1.50",
        "me: rigbook/postgraphile = 0.75",
        "nested: rigbook/baseline = 0.75",
    ]
    checks = {check["target"]: check["ok"] for check in results["summary"]["targets"]}
    assert checks["nested req/s >= 1.5x postgraphile"]
    assert not checks["me req/s >= 1x postgraphile"]
    assert checks["me req/s >= 0.9x baseline"]
    assert not checks["reserve req/s >= 0.6x baseline"]
    table = "\n".join(report.table(results))
    assert "postgraphile" in table
    assert "row-level security on" in table


def test_without_peers_the_nested_line_still_closes_the_run() -> None:
    names = ["me", "nested"]
    loads = [_load(name, target, 50) for name in names for target in ("rigbook", "baseline")]

    lines = report.ratio_lines(_results(["rigbook", "baseline"], loads, names))

    assert lines == [
        "me: rigbook/baseline = 1.00",
        "nested: rigbook/baseline = 1.00",
        "nested: rigbook/baseline = 1.00",
    ]


def test_results_written_before_peers_existed_still_show() -> None:
    results = orjson.loads((REFERENCE / "w1.json").read_bytes())

    assert report.table(results)
    assert report.ratio_lines(results)[-1] == report.last_line(results)


def test_seeded_stock_grows_with_the_bookings_per_item() -> None:
    assert (SeedOptions().units_per_serialized, SeedOptions().bulk_stock) == (15, 60)
    denser = SeedOptions(reservations_per_item=50)
    assert denser.units_per_serialized >= 50
    assert denser.bulk_stock >= 3 * 50


def test_scale_covers_every_point_of_the_table() -> None:
    labels = [point.label for _shape, _scenarios, points in plan("rigbook_bench", 200, 1) for point in points]

    for wanted in (
        "nested, first: 10",
        "nested, first: 50",
        "nested, first: 100",
        "nested, 10 reservations per item",
        "nested, 50 reservations per item",
        "availability, 10 items",
        "availability, 100 items",
        "reservations, 5 tenants",
        "reserve, 500 tenants",
    ):
        assert wanted in labels


def test_show_prints_run_and_scale_results_again(capsys: pytest.CaptureFixture[str]) -> None:
    from bench.__main__ import main

    assert main(["show", str(REFERENCE / "rls-w1.json"), str(REFERENCE / "scale.json")]) == 0

    printed = capsys.readouterr().out
    assert "nested: rigbook/postgraphile = " in printed
    assert "nested, 50 reservations per item" in printed
