"""The consumer that turns domain events into lifecycle mail (the table is ``resolvers/notices.py``)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from db.tables import AuditEvent
from resolvers.jobs.dispatch import consumer
from resolvers.jobs.registry import JobRun
from resolvers.notices import RULES, facts_of, queue_notices, within_request_budget


@consumer
async def notify(run: JobRun, session: AsyncSession, entry: AuditEvent) -> None:
    """Queue the mails ``entry``'s event sends, in the dispatch transaction."""
    rule = RULES.get(entry.event or "")
    if rule is None or rule.queued_by_change or not rule.applies(entry):
        return
    facts = await facts_of(session, entry)
    if facts is None:
        return
    if rule.per_customer_budget and not await within_request_budget(session, facts):
        return
    await queue_notices(session, run.services.settings, facts, rule.notices)
