"""From the notices a subscription hears of to what its subscriber may be sent, one context each."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from db.live import Notice
from resolvers.caller import TenantCaller
from resolvers.context import Context
from resolvers.live.inbox import Inbox

# Notices one subscription may have waiting before they collapse into one refetch.
INBOX_LIMIT = 100

Admission = Callable[[Context, Notice | None], Awaitable[Sequence[Any]]]
"""What a notice (``None``: read everything again) comes to for one subscriber: the roots to send."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """Roots to render and send, and the subscriber's context they were read in (closed by the sender)."""

    context: Context
    roots: Sequence[Any]


class Deliveries:
    """A subscription's source stream: what each wanted notice of the caller's tenant admits.

    The tenant comes from the caller's verified token: a subscription never hears of
    another tenant's changes. Each notice is read in a new ``Context`` of the same
    principal, so that its session check runs again and nothing read for an earlier
    event (a loader's cache) is sent for a later one. ``open`` follows the tenant
    before the subscription counts as started; ``aclose`` stops following it.
    """

    def __init__(
        self, context: Context, caller: TenantCaller, wanted: Callable[[Notice], bool], admit: Admission
    ) -> None:
        self._context = context
        self._tenant_id = caller.tenant_id
        self._admit = admit
        self._inbox = Inbox(INBOX_LIMIT, wanted)
        self._following = False

    async def open(self) -> Deliveries:
        feed = self._context.services.live
        try:
            await feed.follow(self._tenant_id, self._inbox.put)
        except BaseException:
            await feed.unfollow(self._tenant_id, self._inbox.put)
            raise
        self._following = True
        return self

    def __aiter__(self) -> Deliveries:
        return self

    async def __anext__(self) -> Delivery:
        if not self._following:
            raise StopAsyncIteration
        while True:
            notice = await self._inbox.get()
            event_context = self._context.fresh()
            try:
                roots = await self._admit(event_context, notice)
            except BaseException:
                await event_context.close()
                raise
            if roots:
                return Delivery(event_context, roots)
            await event_context.close()

    async def aclose(self) -> None:
        if self._following:
            self._following = False
            await self._context.services.live.unfollow(self._tenant_id, self._inbox.put)
