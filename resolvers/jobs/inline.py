"""The worker inside ``rigbook serve``: started with the app, stopped (gracefully) with it."""

from __future__ import annotations

import asyncio
import contextlib

import resolvers.jobs  # noqa: F401  (registers every job kind and schedule)
from auth.services import Services
from resolvers.jobs.worker import Worker


class InlineWorker:
    """A ``Worker`` running as a task of the server's event loop."""

    def __init__(self, services: Services) -> None:
        self._stop = asyncio.Event()
        self.worker = Worker(services)
        self._task = asyncio.get_running_loop().create_task(self.worker.run(self._stop))

    async def stop(self) -> None:
        self._stop.set()
        with contextlib.suppress(Exception):
            await self._task
