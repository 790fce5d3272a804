"""The container's health check: a ``rigbook worker`` by its heartbeat, a server by its readiness.

``python -m web.healthcheck`` exits 0 when healthy. In a container running
``rigbook worker`` the heartbeat file (``RIGBOOK_WORKER_HEARTBEAT_FILE``) exists, and
the worker is healthy while its loop keeps touching it; anywhere else
``/health/ready`` on port 8000 decides. Only the standard library, so that a check
every few seconds costs little.
"""

from __future__ import annotations

import os
import sys
import time
import urllib.request
from pathlib import Path

READY_URL = "http://127.0.0.1:8000/health/ready"
# A turn of the worker's loop waits at most a poll interval, then may wait on the
# database (a busy SQLite file: 30 s); a loop quiet for longer than this is stuck.
SLACK_SECONDS = 120.0


def heartbeat_fresh(path: Path, poll_interval: float, now: float) -> bool:
    return now - path.stat().st_mtime <= 2 * poll_interval + SLACK_SECONDS


def main() -> int:
    heartbeat = os.environ.get("RIGBOOK_WORKER_HEARTBEAT_FILE")
    if heartbeat and Path(heartbeat).exists():
        poll_interval = float(os.environ.get("RIGBOOK_WORKER_POLL_INTERVAL") or 5)
        return 0 if heartbeat_fresh(Path(heartbeat), poll_interval, time.time()) else 1
    try:
        with urllib.request.urlopen(READY_URL, timeout=2) as response:
            return 0 if response.status == 200 else 1
    except OSError:
        return 1


if __name__ == "__main__":
    sys.exit(main())
