"""One process's fan-out of committed changes to its subscriptions, in bounded work per change.

For each tenant with subscriptions here, the fan-out follows the tenant in the live
feed (``db/live.py``) and keeps its notices in one bounded ``Inbox`` (falling behind
collapses them into one refetch). It handles them one at a time per tenant, and
at most ``CONCURRENT_TENANTS`` tenants at once, so a burst of changes costs a bounded
number of database connections however many subscribers there are.

Each notice is read in one snapshot of its tenant (one read transaction, row-level
security set to the tenant). In it, one query checks the grants of every
subscriber the notice may concern (``db/session_check.py``: session live, account
active); a subscriber whose grant has ended gets nothing and its connection is
closed. Every other subscriber reads the change through a ``Context`` of its own
principal (its own loaders, so the visibility policy applies to what it may see),
shared by that principal's subscriptions, and each admitted root is rendered with
the subscription's selection in that context and handed to the subscription's
connection to send.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Sequence
from typing import Any

from graphql import ExecutionResult, GraphQLError

from auth.principal import Principal
from auth.services import Services
from db.clock import utcnow
from db.live import Notice
from db.queue import error_text
from db.reads import Reads
from db.session_check import active_operators, live_user_sessions
from resolvers.context import Context
from resolvers.live.inbox import Inbox
from resolvers.live.subscription import LiveSubscription

log = logging.getLogger("rigbook.live")

# Notices one tenant may have waiting before they collapse into one refetch.
INBOX_LIMIT = 1000
# Tenants whose notices are read at once: each holds one pooled connection while it reads.
CONCURRENT_TENANTS = 4
# After a notice could not be read (the database away), this long before everyone is told to refetch.
RETRY_SECONDS = 1.0

PrincipalKey = tuple[uuid.UUID, uuid.UUID | None, Any, uuid.UUID | None]


def _key(principal: Principal) -> PrincipalKey:
    """Subscriptions of one principal (one user, one role, one grant) share a context per notice."""
    return (principal.subject_id, principal.session_id, principal.role, principal.operator_id)


class Fanout:
    """The subscriptions of one process, by tenant."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self._tenants: dict[uuid.UUID, _TenantFanout] = {}
        self._slots = asyncio.Semaphore(CONCURRENT_TENANTS)
        self._lock = asyncio.Lock()

    def __len__(self) -> int:
        return sum(len(tenant.subscriptions) for tenant in self._tenants.values())

    async def add(self, subscription: LiveSubscription) -> None:
        """Start sending ``subscription`` its tenant's changes (its tenant followed first)."""
        tenant_id = subscription.caller.tenant_id
        async with self._lock:
            tenant = self._tenants.get(tenant_id)
            if tenant is None:
                tenant = _TenantFanout(self, tenant_id)
                tenant.subscriptions.add(subscription)
                try:
                    await self.services.live.follow(tenant_id, tenant.inbox.put)
                except BaseException:
                    # Cut off while following (its connection closed): a tenant entry left here
                    # would have no task, and the next subscribers would join it and hear nothing.
                    await asyncio.shield(self.services.live.unfollow(tenant_id, tenant.inbox.put))
                    raise
                self._tenants[tenant_id] = tenant
                tenant.start()
            else:
                tenant.subscriptions.add(subscription)

    async def remove(self, subscription: LiveSubscription) -> None:
        tenant_id = subscription.caller.tenant_id
        async with self._lock:
            tenant = self._tenants.get(tenant_id)
            if tenant is None or subscription not in tenant.subscriptions:
                return
            tenant.subscriptions.discard(subscription)
            if tenant.subscriptions:
                return
            del self._tenants[tenant_id]
            await self.services.live.unfollow(tenant_id, tenant.inbox.put)
        await tenant.stop()

    async def close(self) -> None:
        async with self._lock:
            tenants, self._tenants = list(self._tenants.values()), {}
            for tenant in tenants:
                await self.services.live.unfollow(tenant.tenant_id, tenant.inbox.put)
        for tenant in tenants:
            await tenant.stop()


class _TenantFanout:
    def __init__(self, fanout: Fanout, tenant_id: uuid.UUID) -> None:
        self.fanout = fanout
        self.tenant_id = tenant_id
        self.subscriptions: set[LiveSubscription] = set()
        self.inbox = Inbox(INBOX_LIMIT, self._wanted)
        self._task: asyncio.Task[None] | None = None

    def _wanted(self, notice: Notice) -> bool:
        return any(subscription.wanted(notice) for subscription in self.subscriptions)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            notice = await self.inbox.get()
            try:
                async with self.fanout._slots:
                    await self._deliver(notice)
            except Exception as error:
                if not self.subscriptions:
                    return  # the last subscriber left while its notice was read
                # Some subscribers may have missed it: once the database answers, all read again.
                log.warning("could not read a live update for its subscribers: %s", error_text(error))
                await asyncio.sleep(RETRY_SECONDS)
                self.inbox.put(None)

    async def _deliver(self, notice: Notice | None) -> None:
        concerned = [each for each in self.subscriptions if notice is None or each.wanted(notice)]
        if not concerned:
            return
        services = self.fanout.services
        reads = services.database.reads(self.tenant_id, shared=True)
        try:
            ended = await _ended_grants(reads, self.tenant_id, [each.caller.principal for each in concerned])
            contexts: dict[PrincipalKey, Context] = {}
            # A principal's tabs and screens with the same subscription are sent one result.
            results: dict[tuple[PrincipalKey, Any], list[ExecutionResult]] = {}
            for subscription in concerned:
                principal = subscription.caller.principal
                key = _key(principal)
                if key in ended:
                    if subscription.grant_ended is not None:
                        await subscription.grant_ended()
                    continue
                shared = (key, subscription.same_as) if subscription.same_as is not None else None
                found = results.get(shared) if shared is not None else None
                if found is None:
                    context = contexts.get(key)
                    if context is None:
                        context = contexts[key] = Context.sharing(services, principal, reads)
                    found = await _results(subscription, context, notice)
                    if shared is not None:
                        results[shared] = found
                if subscription.send is not None:
                    for result in found:
                        subscription.send(result)
        finally:
            await reads.close()


async def _results(
    subscription: LiveSubscription, context: Context, notice: Notice | None
) -> list[ExecutionResult]:
    """What ``notice`` comes to for ``subscription``: each admitted root rendered in ``context``."""
    render = subscription.render
    if render is None:
        return []
    try:
        roots: Sequence[Any] = await subscription.admit(context, notice)
    except GraphQLError as error:
        return [ExecutionResult(None, [error])]
    return [await render(root, context) for root in roots]


async def _ended_grants(reads: Reads, tenant_id: uuid.UUID, principals: list[Principal]) -> set[PrincipalKey]:
    """The principals among these whose sign-in session ended or whose account is inactive (one query each kind)."""
    users = {principal.session_id: principal for principal in principals if principal.operator_id is None}
    operators = {
        principal.subject_id: principal for principal in principals if principal.operator_id is not None
    }
    ended: set[PrincipalKey] = set()
    if users:
        live = {row[0] for row in await reads.rows(live_user_sessions(tenant_id, list(users), utcnow()))}
        ended |= {_key(principal) for session, principal in users.items() if session not in live}
    if operators:
        active = {row[0] for row in await reads.rows(active_operators(list(operators)))}
        ended |= {_key(principal) for operator, principal in operators.items() if operator not in active}
    return ended
