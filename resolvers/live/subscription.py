"""One started subscription, as the fan-out sees it: whose it is, what it hears of, what it admits."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from graphql import ExecutionResult

from db.live import Notice
from resolvers.caller import TenantCaller
from resolvers.context import Context

Admission = Callable[[Context, Notice | None], Awaitable[Sequence[Any]]]
"""What a notice (``None``: read everything again) comes to for one subscriber: the roots to send."""
Render = Callable[[Any, Context], Awaitable[ExecutionResult]]
"""The subscription's selection over one root, resolved in the subscriber's context."""


class LiveSubscription:
    """What a subscription field returns: its caller, the notices it wants, and how it admits them.

    ``wanted`` picks notices by their event name (no reads); ``admit`` reads, in a
    context of the subscriber's own, what the subscriber may be sent of one (nothing
    for a row they may not see). The transport gives it ``render`` and ``send`` and
    hands it to the process's fan-out (``resolvers/live/fanout.py``), which calls them
    for each change. It is also the source stream graphql-core asks a subscription
    field for; its events come through the fan-out, so iterating it yields nothing.
    """

    def __init__(self, caller: TenantCaller, wanted: Callable[[Notice], bool], admit: Admission) -> None:
        self.caller = caller
        self.wanted = wanted
        self.admit = admit
        self.render: Render | None = None
        self.send: Callable[[ExecutionResult], None] | None = None
        self.grant_ended: Callable[[], Awaitable[None]] | None = None

    def attach(
        self,
        render: Render,
        send: Callable[[ExecutionResult], None],
        grant_ended: Callable[[], Awaitable[None]],
    ) -> None:
        self.render, self.send, self.grant_ended = render, send, grant_ended

    def __aiter__(self) -> LiveSubscription:
        return self

    async def __anext__(self) -> Any:
        raise StopAsyncIteration
