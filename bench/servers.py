"""Server subprocesses, and what /proc says about them (CPU time, peak RSS)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from bench import config

ROOT = Path(__file__).resolve().parent.parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _children() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    return children


def process_tree(root: int) -> list[int]:
    """``root`` and all its descendants."""
    children = _children()
    found, pending = [], [root]
    while pending:
        pid = pending.pop()
        found.append(pid)
        pending.extend(children.get(pid, []))
    return found


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of the given processes (those that have exited count as 0)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # fields 14 and 15 of stat(5)
    return total / CLOCK_TICKS


def cpu_by_pid(pids: list[int]) -> dict[int, float]:
    return {pid: cpu_seconds([pid]) for pid in pids}


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def memory_mb(pid: int, field: str = "VmHWM") -> float | None:
    """``VmHWM`` (the highest resident set size the process has had) or ``VmRSS`` (now)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def database_backends(database: str) -> list[int]:
    """PostgreSQL backend processes connected to ``database`` (same machine only)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            line = cmdline(int(entry.name))
            if line.startswith("postgres: ") and f" {database} " in line:
                pids.append(int(entry.name))
    return pids


@dataclass
class Server:
    """One HTTP server process (and its workers), logging to a file."""

    name: str
    command: list[str]
    env: dict[str, str]
    port: int
    health_path: str
    log_path: Path
    cwd: Path = ROOT
    # True when the workers are the process's own children (node:cluster), not uvicorn's spawned ones.
    forks_workers: bool = False
    process: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/graphql"

    def start(self) -> None:
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            self.command,
            cwd=self.cwd,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, workers: int, timeout: float = 60.0) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        url = f"http://127.0.0.1:{self.port}{self.health_path}"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}; see {self.log_path}")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200 and len(self.worker_pids()) >= workers:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not become ready in {timeout:.0f}s; see {self.log_path}")

    def pids(self) -> list[int]:
        assert self.process is not None
        return process_tree(self.process.pid)

    def worker_pids(self) -> list[int]:
        """The processes serving requests: uvicorn's spawned or node's forked workers, or the process itself."""
        assert self.process is not None
        if self.forks_workers:
            return _children().get(self.process.pid, []) or [self.process.pid]
        spawned = [pid for pid in self.pids() if "spawn_main" in cmdline(pid)]
        return spawned or [self.process.pid]

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pids())

    def wait_idle(self, *, interval: float = 0.5, busy: float = 0.05, timeout: float = 600.0) -> float:
        """Wait until the server uses < ``busy`` of a core: requests abandoned by wrk are finished.

        Returns the seconds waited.
        """
        started = time.monotonic()
        previous = self.cpu_seconds()
        while time.monotonic() - started < timeout:
            time.sleep(interval)
            current = self.cpu_seconds()
            if current - previous <= busy * interval:
                break
            previous = current
        return time.monotonic() - started

    def memory_mb(self, field: str = "VmHWM") -> list[float]:
        """Per serving process: peak (``VmHWM``) or current (``VmRSS``) resident memory."""
        return [rss for rss in (memory_mb(pid, field) for pid in self.worker_pids()) if rss is not None]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            # The server runs in its own session: signal only its group, by its id.
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self._log is not None:
            self._log.close()


def base_env() -> dict[str, str]:
    # Drop RIGBOOK_* from the caller's environment: the benchmark sets what it needs.
    return {key: value for key, value in os.environ.items() if not key.startswith(("RIGBOOK_", "BENCH_"))}


def rigbook_server(database_url: str, workers: int, log_dir: Path) -> Server:
    """``rigbook serve`` in production mode, so it only serves (no migrate, no demo seed)."""
    port = free_port()
    script = Path(sys.executable).with_name("rigbook")
    program = [str(script)] if script.exists() else [sys.executable, "-m", "cli"]
    env = base_env() | {
        "RIGBOOK_ENV": "production",
        "RIGBOOK_DATABASE_URL": config.sqlalchemy_url(database_url),
        "RIGBOOK_JWT_SECRET": config.JWT_SECRET,
        "RIGBOOK_GRAPHIQL": "false",
        "RIGBOOK_INTROSPECTION": "false",
        # Long enough that one sign-in lasts however long the run takes.
        "RIGBOOK_ACCESS_TOKEN_TTL": str(7 * 86400),
    }
    command = [*program, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    return Server("rigbook", command, env, port, "/health/live", log_dir / "rigbook.log")


def baseline_server(database_url: str, workers: int, log_dir: Path) -> Server:
    """The baseline under uvicorn with the same worker count and uvicorn settings as ``rigbook serve``."""
    port = free_port()
    audience, issuer = config.rigbook_jwt_audience_issuer()
    env = base_env() | {
        "BENCH_DATABASE_URL": config.asyncpg_url(database_url),
        "BENCH_JWT_SECRET": config.JWT_SECRET,
        "BENCH_JWT_AUDIENCE": audience,
        "BENCH_JWT_ISSUER": issuer,
    }
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "bench.baseline:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "info",
        "--no-proxy-headers",
    ]
    return Server("baseline", command, env, port, "/health", log_dir / "baseline.log")
