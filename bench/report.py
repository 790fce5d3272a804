"""Summaries of a run: per scenario and target, ratios, the issue's targets, the last line."""

from __future__ import annotations

from statistics import mean
from typing import Any

TARGETS = ("rigbook", "baseline")
# Issue #6: what Rigbook should reach relative to the baseline.
NESTED_RPS_RATIO = 0.6
NESTED_P99_RATIO = 2.0
NESTED_STATEMENTS = 5
ME_RPS_RATIO = 0.5
RSS_MB = 200.0


def progress_line(load: dict[str, Any]) -> str:
    return (
        f"  round {load['round']} {load['scenario']:<13} {load['target']:<9} "
        f"{load['requests_per_second']:8.1f} req/s  p50 {_number(load['p50_ms'], 1):>7} ms  "
        f"p99 {_number(load['p99_ms'], 1):>7} ms  cpu {_number(load['cpu_ms_per_request'])} ms/req  "
        f"{load['requests']} requests  bad {load['bad']}"
    )


def _mean(values: list[float | None]) -> float | None:
    known = [value for value in values if value is not None]
    return mean(known) if known and len(known) == len(values) else None


def _aggregate(loads: list[dict[str, Any]]) -> dict[str, Any]:
    requests = sum(load["requests"] for load in loads)
    served = sum(load["served"] for load in loads)
    cpu = 1000 * sum(load["cpu_seconds"] for load in loads)
    db = 1000 * sum(load["db_cpu_seconds"] for load in loads)
    return {
        "requests_per_second": mean(load["requests_per_second"] for load in loads),
        "rounds_requests_per_second": [load["requests_per_second"] for load in loads],
        # Latency percentiles are averaged over rounds; a round without a single
        # completed request makes them unknown (None), not zero.
        "p50_ms": _mean([load["p50_ms"] for load in loads]),
        "p99_ms": _mean([load["p99_ms"] for load in loads]),
        "cpu_ms_per_request": cpu / served if served else None,
        "db_cpu_ms_per_request": db / served if served else None,
        "requests": requests,
        "bad": sum(load["bad"] for load in loads),
        "errors": sum(sum(load["errors"].values()) for load in loads),
    }


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    return numerator / denominator if numerator is not None and denominator else None


def summarise(results: dict[str, Any], names: list[str]) -> dict[str, Any]:
    scenarios: dict[str, Any] = {}
    for name in names:
        entry: dict[str, Any] = {}
        for target in TARGETS:
            loads = [
                load for load in results["loads"] if load["scenario"] == name and load["target"] == target
            ]
            entry[target] = _aggregate(loads) | {"statements": results["statements"][target][name]}
        rigbook, baseline = entry["rigbook"], entry["baseline"]
        entry["ratios"] = {
            "requests_per_second": _ratio(rigbook["requests_per_second"], baseline["requests_per_second"]),
            "p50": _ratio(rigbook["p50_ms"], baseline["p50_ms"]),
            "p99": _ratio(rigbook["p99_ms"], baseline["p99_ms"]),
            "cpu_per_request": _ratio(rigbook["cpu_ms_per_request"], baseline["cpu_ms_per_request"]),
        }
        scenarios[name] = entry
    rss = {target: max(results["peak_rss_mb"][target], default=0.0) for target in TARGETS}
    return {"scenarios": scenarios, "peak_rss_mb": rss, "targets": _targets(scenarios, rss)}


def _targets(scenarios: dict[str, Any], rss: dict[str, float]) -> list[dict[str, Any]]:
    checks: list[dict[str, Any]] = []

    def check(label: str, value: float | None, limit: float, at_least: bool) -> None:
        ok = value is not None and (value >= limit if at_least else value <= limit)
        checks.append({"target": label, "value": value, "limit": limit, "ok": ok})

    if "nested" in scenarios:
        nested = scenarios["nested"]
        check(
            "nested req/s >= 0.6x baseline", nested["ratios"]["requests_per_second"], NESTED_RPS_RATIO, True
        )
        check("nested p99 <= 2x baseline", nested["ratios"]["p99"], NESTED_P99_RATIO, False)
        statements = nested["rigbook"]["statements"]["orm_statements"]
        check("nested SQL statements/request <= 5 (tests' count)", statements, NESTED_STATEMENTS, False)
    if "me" in scenarios:
        check(
            "me req/s >= 0.5x baseline", scenarios["me"]["ratios"]["requests_per_second"], ME_RPS_RATIO, True
        )
    check("peak RSS per Rigbook worker <= 200 MB", rss["rigbook"], RSS_MB, False)
    return checks


def _number(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def table(results: dict[str, Any]) -> list[str]:
    meta, summary = results["meta"], results["summary"]
    lines = [
        f"workers={meta['workers']} concurrency={meta['concurrency']} duration={meta['duration_s']:g}s "
        f"rounds={meta['rounds']} wrk threads={meta['threads']}  window {results['window'][0]} .. {results['window'][1]}",
        f"{'scenario':<13} {'target':<9} {'req/s':>8} {'(rounds)':<17} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'CPU ms/req':>10} {'DB ms/req':>9} {'SQL/req':>7} {'trips/req':>9} {'app SQL':>7} {'bad':>4}",
    ]
    for name, entry in summary["scenarios"].items():
        for target in TARGETS:
            row = entry[target]
            rounds = " / ".join(f"{value:.0f}" for value in row["rounds_requests_per_second"])
            counts = row["statements"]
            orm = counts["orm_statements"]
            lines.append(
                f"{name if target == 'rigbook' else '':<13} {target:<9} {row['requests_per_second']:8.1f} "
                f"({rounds + ')':<16} {_number(row['p50_ms'], 1):>8} {_number(row['p99_ms'], 1):>8} "
                f"{_number(row['cpu_ms_per_request']):>10} "
                f"{_number(row['db_cpu_ms_per_request']):>9} {counts['statements']:7.1f} {counts['round_trips']:9.1f} "
                f"{'-' if orm is None else f'{orm:.1f}':>7} {row['bad'] + row['errors']:>4}"
            )

    def per_worker(values: dict[str, list[float]]) -> str:
        return ", ".join(
            f"{target} {' / '.join(f'{value:.0f}' for value in values.get(target, []))}" for target in TARGETS
        )

    memory = [f"peak (VmHWM) {per_worker(results['peak_rss_mb'])}"]
    if "startup_peak_rss_mb" in results:  # results files from later harness versions
        memory.append(f"peak before the first request {per_worker(results['startup_peak_rss_mb'])}")
    if "final_rss_mb" in results:
        memory.append(f"at the end (VmRSS) {per_worker(results['final_rss_mb'])}")
    lines.append("RSS per worker (MB): " + "; ".join(memory))
    few = [
        f"{name}/{target} ({entry[target]['requests']})"
        for name, entry in summary["scenarios"].items()
        for target in TARGETS
        if entry[target]["requests"] < 100
    ]
    if few:
        lines.append("few completed requests, so latency percentiles are rough: " + ", ".join(few))
    lines.append("rigbook/baseline:")
    for name, entry in summary["scenarios"].items():
        ratios = entry["ratios"]
        lines.append(
            f"  {name:<13} req/s {_number(ratios['requests_per_second'])}x   p50 {_number(ratios['p50'])}x   "
            f"p99 {_number(ratios['p99'])}x   CPU/req {_number(ratios['cpu_per_request'])}x"
        )
    lines.append("targets (issue #6):")
    for check in summary["targets"]:
        lines.append(f"  {'PASS' if check['ok'] else 'FAIL'}  {check['target']}: {_number(check['value'])}")
    return lines


def last_line(results: dict[str, Any]) -> str:
    nested = results["summary"]["scenarios"].get("nested")
    if nested is None:
        return "nested: rigbook/baseline = n/a (nested was not run)"
    return f"nested: rigbook/baseline = {_number(nested['ratios']['requests_per_second'])}"
