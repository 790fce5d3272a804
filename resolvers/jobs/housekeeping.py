"""The daily ``housekeeping`` job: deletes what is past its retention (``resolvers/housekeeping.py``)."""

from __future__ import annotations

import logging
from datetime import timedelta

from resolvers.housekeeping import Retention, housekeep
from resolvers.jobs.registry import JobRun, handler
from resolvers.jobs.schedules import every

KIND = "housekeeping"
SCHEDULE = every(KIND, timedelta(days=1))
log = logging.getLogger("rigbook.housekeeping")


@handler(KIND, max_attempts=3)
async def run_housekeeping(run: JobRun) -> None:
    # Deleting is idempotent: a retry after a failure deletes what is still left.
    totals = await housekeep(run.services.database, Retention.of(run.services.settings), run.now)
    deleted = {name: count for name, count in totals.items() if count}
    log.info("housekeeping deleted %s", ", ".join(f"{n} {name}" for name, n in deleted.items()) or "nothing")
