"""The notices one subscription has heard of and not yet handled, bounded.

A subscriber that falls behind by more than the bound has missed nothing it cannot
recover: the waiting notices collapse into one ``None`` (read everything again),
which costs it one refetch instead of the process an unbounded queue.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

from db.live import Notice


class Inbox:
    """A ``db.live.Sink`` that keeps what ``wanted`` accepts, at most ``limit`` notices."""

    def __init__(self, limit: int, wanted: Callable[[Notice], bool]) -> None:
        self._limit = limit
        self._wanted = wanted
        self._items: deque[Notice | None] = deque()
        self._ready = asyncio.Event()

    def put(self, notice: Notice | None) -> None:
        if notice is not None and not self._wanted(notice):
            return
        items = self._items
        if notice is None or len(items) >= self._limit:
            # Everything still waiting is covered by reading everything again.
            items.clear()
            items.append(None)
        else:
            items.append(notice)
        self._ready.set()

    async def get(self) -> Notice | None:
        while not self._items:
            self._ready.clear()
            await self._ready.wait()
        return self._items.popleft()

    def __len__(self) -> int:
        return len(self._items)
