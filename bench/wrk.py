"""Load generation with ``wrk``: a Lua script per scenario, results as JSON.

The script POSTs the scenario's body (for ``reserve`` a different equipment and
far-future window on every request), counts responses that lack the scenario's
marker or carry GraphQL ``errors`` ("bad"), and prints one JSON line from ``done``.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import orjson

from bench.scenarios import RESERVE_EPOCH, RESERVE_HOURS, RESERVE_SLOTS, Scenario

MARK = "BENCH_RESULT "
INSTALL_HINT = "apt-get install -y wrk"


@dataclass
class LoadResult:
    requests: int
    seconds: float
    requests_per_second: float
    p50_ms: float | None  # None when no request completed
    p90_ms: float | None
    p99_ms: float | None
    mean_ms: float | None
    max_ms: float | None
    errors: dict[str, int]
    bad: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def require_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit(f"wrk is not installed; on Debian/Ubuntu: {INSTALL_HINT}")
    return path


def _lua_string(text: str) -> str:
    level = 0
    while f"]{'=' * level}]" in text:
        level += 1
    return f"[{'=' * level}[{text}]{'=' * level}]"


_COMMON = r"""
local threads = {}
bad = 0  -- a global, so that done() can read each thread's count with thread:get

function setup(thread)
  thread:set("index", #threads)
  table.insert(threads, thread)
end

function response(status, headers, body)
  if status ~= 200 or not string.find(body, marker, 1, true) or string.find(body, '"errors"', 1, true) then
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  local total_bad = 0
  for _, thread in ipairs(threads) do
    total_bad = total_bad + (thread:get("bad") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    '%s{"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"mean_us":%f,"max_us":%d,' ..
    '"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"bad":%d}\n',
    result_mark, summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.mean, latency.max, e.connect, e.read, e.write, e.status, e.timeout, total_bad))
end
"""


def lua_script(
    scenario: Scenario, body: bytes, token: str, reserve_ids: list[str], marker: str | None = None
) -> str:
    """The wrk script for ``scenario``: ``body`` (a peer's own document) and ``marker`` if given."""
    lines = [
        f"local marker = {_lua_string(marker or scenario.marker)}",
        f"local result_mark = {_lua_string(MARK)}",
        'wrk.method = "POST"',
        'wrk.headers["Content-Type"] = "application/json"',
        f'wrk.headers["Authorization"] = {_lua_string("Bearer " + token)}',
    ]
    if scenario.name != "reserve":
        lines.append(f"wrk.body = {_lua_string(body.decode())}")
        return "\n".join(lines) + _COMMON
    # A body template split at its three holes: start, end, equipment id.
    template = orjson.dumps(
        {
            "query": scenario.query,
            "variables": {
                "input": {
                    "title": "Bench booking",
                    "startsAt": "\x01",
                    "endsAt": "\x02",
                    "lines": [{"equipmentId": "\x03", "quantity": 1}],
                }
            },
        }
    ).decode()
    head, rest = template.split("\\u0001")
    middle, rest = rest.split("\\u0002")
    between, tail = rest.split("\\u0003")
    ids = ", ".join(_lua_string(value) for value in reserve_ids)
    lines += [
        f"local ids = {{{ids}}}",
        f"local head, middle, between, tail = {_lua_string(head)}, {_lua_string(middle)}, "
        f"{_lua_string(between)}, {_lua_string(tail)}",
        f"local salt = {random.randrange(1, 2**30)}",
        "function init(args)",
        "  math.randomseed(salt + 7919 * (index or 0))",
        "end",
        "function request()",
        f"  local start = {RESERVE_EPOCH} + 3600 * math.random(0, {RESERVE_SLOTS - 1})",
        f"  local finish = start + {RESERVE_HOURS * 3600}",
        '  local body = head .. os.date("!%Y-%m-%dT%H:%M:%S+00:00", start) .. middle ..',
        '    os.date("!%Y-%m-%dT%H:%M:%S+00:00", finish) .. between .. ids[math.random(1, #ids)] .. tail',
        "  return wrk.format(nil, nil, nil, body)",
        "end",
    ]
    return "\n".join(lines) + _COMMON


def run_wrk(
    url: str,
    script: str,
    *,
    connections: int,
    threads: int,
    seconds: float,
    script_path: Path,
) -> LoadResult:
    script_path.write_text(script)
    command = [
        require_wrk(),
        f"-t{max(1, min(threads, connections))}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "30s",
        "--latency",
        "-s",
        str(script_path),
        url,
    ]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    found = [line for line in completed.stdout.splitlines() if line.startswith(MARK)]
    if completed.returncode != 0 or not found:
        raise RuntimeError(f"wrk failed ({completed.returncode}): {completed.stderr or completed.stdout}")
    raw = json.loads(found[-1][len(MARK) :])
    duration = raw["duration_us"] / 1e6
    done = raw["requests"] > 0

    def ms(key: str) -> float | None:
        return raw[key] / 1000 if done else None

    return LoadResult(
        requests=raw["requests"],
        seconds=duration,
        requests_per_second=raw["requests"] / duration if duration else 0.0,
        p50_ms=ms("p50_us"),
        p90_ms=ms("p90_us"),
        p99_ms=ms("p99_us"),
        mean_ms=ms("mean_us"),
        max_ms=ms("max_us"),
        errors={key: raw[key] for key in ("connect", "read", "write", "status", "timeout")},
        bad=raw["bad"],
    )


def wrk_version() -> str:
    completed = subprocess.run([require_wrk(), "--version"], capture_output=True, text=True, check=False)
    lines = (completed.stdout + completed.stderr).strip().splitlines()
    return lines[0].strip() if lines else "unknown"
