"""The worker inside ``rigbook serve``: started with the app, stopped (gracefully) with it."""

from __future__ import annotations

import asyncio
import logging

import resolvers.jobs  # noqa: F401  (registers every job kind and schedule)
from auth.services import Services
from resolvers.jobs.worker import Worker

log = logging.getLogger("rigbook.worker")


class InlineWorker:
    """A ``Worker`` running as a task of the server's event loop."""

    def __init__(self, services: Services) -> None:
        self._stop = asyncio.Event()
        self.worker = Worker(services)
        self._task = asyncio.get_running_loop().create_task(self.worker.run(self._stop))

    async def stop(self) -> None:
        """Stop claiming, let running jobs finish within the grace, give back the rest."""
        self._stop.set()
        try:
            await self._task
        except Exception:  # the server stops anyway; say why its worker did
            log.exception("the worker of this server failed")
