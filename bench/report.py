"""Summaries of a run: per scenario and target, ratios, the issues' targets, the closing lines."""

from __future__ import annotations

from statistics import mean
from typing import Any

REFERENCE = "baseline"  # every ratio is Rigbook's figure over another target's
DEFAULT_TARGETS = ("rigbook", "baseline")  # results files written before peers existed
# Issue #14 (row-level security on): Rigbook's requests/s relative to the baseline, per scenario.
RPS_RATIO_TARGETS = {
    "nested": 0.9,
    "me": 0.9,
    "availability": 0.8,
    "reserve": 0.6,
    "reservations": 0.8,
    "stats": 0.8,
}
NESTED_P99_RATIO = 1.5
# ... and relative to PostGraphile.
PEER_RPS_RATIO_TARGETS = {"postgraphile": {"nested": 1.5, "me": 1.0}}
# Issue #6, still standing.
NESTED_STATEMENTS = 5
RSS_MB = 200.0


def progress_line(load: dict[str, Any]) -> str:
    return (
        f"  round {load['round']} {load['scenario']:<13} {load['target']:<12} "
        f"{load['requests_per_second']:8.1f} req/s  p50 {number(load['p50_ms'], 1):>7} ms  "
        f"p99 {number(load['p99_ms'], 1):>7} ms  cpu {number(load['cpu_ms_per_request'])} ms/req  "
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


def _ratios(rigbook: dict[str, Any], other: dict[str, Any]) -> dict[str, float | None]:
    return {
        "requests_per_second": _ratio(rigbook["requests_per_second"], other["requests_per_second"]),
        "p50": _ratio(rigbook["p50_ms"], other["p50_ms"]),
        "p99": _ratio(rigbook["p99_ms"], other["p99_ms"]),
        "cpu_per_request": _ratio(rigbook["cpu_ms_per_request"], other["cpu_ms_per_request"]),
    }


def targets_of(results: dict[str, Any]) -> list[str]:
    return list(results["meta"].get("targets", DEFAULT_TARGETS))


def summarise(results: dict[str, Any], names: list[str]) -> dict[str, Any]:
    """Per scenario: each target that ran it, Rigbook's ratios to the baseline (``ratios``) and to
    each peer (``peer_ratios``); peak RSS; the targets with PASS/FAIL."""
    targets = targets_of(results)
    scenarios: dict[str, Any] = {}
    for name in names:
        entry: dict[str, Any] = {}
        for target in targets:
            loads = [
                load for load in results["loads"] if load["scenario"] == name and load["target"] == target
            ]
            if loads:
                statements = results["statements"].get(target, {}).get(name)
                entry[target] = _aggregate(loads) | {"statements": statements}
        entry["ratios"] = _ratios(entry["rigbook"], entry[REFERENCE])
        entry["peer_ratios"] = {
            peer: _ratios(entry["rigbook"], entry[peer])
            for peer in targets
            if peer not in DEFAULT_TARGETS and peer in entry
        }
        scenarios[name] = entry
    rss = {target: max(results["peak_rss_mb"].get(target, []), default=0.0) for target in targets}
    return {"scenarios": scenarios, "peak_rss_mb": rss, "targets": _targets(scenarios, rss)}


def _targets(scenarios: dict[str, Any], rss: dict[str, float]) -> list[dict[str, Any]]:
    checks: list[dict[str, Any]] = []

    def check(label: str, value: float | None, limit: float, at_least: bool) -> None:
        ok = value is not None and (value >= limit if at_least else value <= limit)
        checks.append({"target": label, "value": value, "limit": limit, "ok": ok})

    for name, limit in RPS_RATIO_TARGETS.items():
        if name in scenarios:
            value = scenarios[name]["ratios"]["requests_per_second"]
            check(f"{name} req/s >= {limit:g}x baseline", value, limit, True)
    if "nested" in scenarios:
        nested = scenarios["nested"]
        check(
            f"nested p99 <= {NESTED_P99_RATIO:g}x baseline", nested["ratios"]["p99"], NESTED_P99_RATIO, False
        )
        statements = (nested["rigbook"]["statements"] or {}).get("orm_statements")
        check("nested SQL statements/request <= 5 (tests' count)", statements, NESTED_STATEMENTS, False)
    for peer, limits in PEER_RPS_RATIO_TARGETS.items():
        for name, limit in limits.items():
            if peer in scenarios.get(name, {}).get("peer_ratios", {}):
                value = scenarios[name]["peer_ratios"][peer]["requests_per_second"]
                check(f"{name} req/s >= {limit:g}x {peer}", value, limit, True)
    check("peak RSS per Rigbook worker <= 200 MB", rss["rigbook"], RSS_MB, False)
    return checks


def number(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def table(results: dict[str, Any]) -> list[str]:
    meta, summary = results["meta"], results["summary"]
    targets = targets_of(results)
    role = meta.get("server_role") or "the URL's role"
    rls = meta.get("row_level_security")
    lines = [
        f"workers={meta['workers']} concurrency={meta['concurrency']} duration={meta['duration_s']:g}s "
        f"rounds={meta['rounds']} wrk threads={meta['threads']}  window {results['window'][0]} .. {results['window'][1]}",
        f"servers connected as {role}"
        + ("" if rls is None else f", row-level security {'on' if rls else 'OFF (bypassed)'}"),
        f"{'scenario':<13} {'target':<12} {'req/s':>8} {'(rounds)':<17} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'CPU ms/req':>10} {'DB ms/req':>9} {'SQL/req':>7} {'trips/req':>9} {'app SQL':>7} {'bad':>4}",
    ]
    for name, entry in summary["scenarios"].items():
        first = True
        for target in targets:
            if target not in entry:
                continue
            row = entry[target]
            rounds = " / ".join(f"{value:.0f}" for value in row["rounds_requests_per_second"])
            counts = row["statements"] or {}
            orm = counts.get("orm_statements")
            lines.append(
                f"{name if first else '':<13} {target:<12} {row['requests_per_second']:8.1f} "
                f"({rounds + ')':<16} {number(row['p50_ms'], 1):>8} {number(row['p99_ms'], 1):>8} "
                f"{number(row['cpu_ms_per_request']):>10} {number(row['db_cpu_ms_per_request']):>9} "
                f"{number(counts.get('statements'), 1):>7} {number(counts.get('round_trips'), 1):>9} "
                f"{'-' if orm is None else f'{orm:.1f}':>7} {row['bad'] + row['errors']:>4}"
            )
            first = False

    def per_worker(values: dict[str, list[float]]) -> str:
        return ", ".join(
            f"{target} {' / '.join(f'{value:.0f}' for value in values.get(target, []))}" for target in targets
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
        for target in targets
        if target in entry and entry[target]["requests"] < 100
    ]
    if few:
        lines.append("few completed requests, so latency percentiles are rough: " + ", ".join(few))
    for other in targets[1:]:
        lines.append(f"rigbook/{other}:")
        for name, entry in summary["scenarios"].items():
            ratios = entry["ratios"] if other == REFERENCE else entry.get("peer_ratios", {}).get(other)
            if ratios is None:
                continue
            lines.append(
                f"  {name:<13} req/s {number(ratios['requests_per_second'])}x   p50 {number(ratios['p50'])}x   "
                f"p99 {number(ratios['p99'])}x   CPU/req {number(ratios['cpu_per_request'])}x"
            )
    lines.append("targets (issues #6 and #14):")
    for check in summary["targets"]:
        lines.append(f"  {'PASS' if check['ok'] else 'FAIL'}  {check['target']}: {number(check['value'])}")
    return lines


def ratio_lines(results: dict[str, Any]) -> list[str]:
    """The closing lines: ``SCENARIO: rigbook/baseline = X.XX`` per scenario, then per scenario a
    peer shares ``SCENARIO: rigbook/PEER = X.XX``, and last the nested line again."""
    scenarios = results["summary"]["scenarios"]
    lines = [
        f"{name}: rigbook/{REFERENCE} = {number(entry['ratios']['requests_per_second'])}"
        for name, entry in scenarios.items()
    ]
    for peer in targets_of(results):
        for name, entry in scenarios.items():
            ratios = entry.get("peer_ratios", {}).get(peer)
            if ratios is not None:
                lines.append(f"{name}: rigbook/{peer} = {number(ratios['requests_per_second'])}")
    lines.append(last_line(results))
    return lines


def last_line(results: dict[str, Any]) -> str:
    nested = results["summary"]["scenarios"].get("nested")
    if nested is None:
        return "nested: rigbook/baseline = n/a (nested was not run)"
    return f"nested: rigbook/baseline = {number(nested['ratios']['requests_per_second'])}"
