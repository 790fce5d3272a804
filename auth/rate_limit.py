"""Counting failed sign-ins in a sliding window (in-process)."""

from __future__ import annotations

import time
from collections import deque


class FailureLimiter:
    """Remembers failures per key; a key with ``limit`` failures in ``window`` s is blocked."""

    def __init__(self, *, limit: int, window: float, max_keys: int = 100_000) -> None:
        self.limit = limit
        self.window = window
        self._max_keys = max_keys
        self._failures: dict[str, deque[float]] = {}

    def retry_after(self, key: str) -> int:
        """Seconds until ``key`` may try again; 0 when it may now."""
        failures = self._recent(key)
        if len(failures) < self.limit:
            return 0
        return max(1, int(failures[0] + self.window - time.monotonic()) + 1)

    def record_failure(self, key: str) -> None:
        if len(self._failures) >= self._max_keys:
            self._evict_expired()
        self._failures.setdefault(key, deque()).append(time.monotonic())

    def reset(self, key: str) -> None:
        self._failures.pop(key, None)

    def _recent(self, key: str) -> deque[float]:
        failures = self._failures.get(key)
        if failures is None:
            return deque()
        horizon = time.monotonic() - self.window
        while failures and failures[0] <= horizon:
            failures.popleft()
        return failures

    def _evict_expired(self) -> None:
        for key in list(self._failures):
            if not self._recent(key):
                del self._failures[key]
