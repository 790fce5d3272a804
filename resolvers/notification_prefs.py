"""Which notification mail a user gets: categories they may turn off, and the essential ones.

Every lifecycle mail belongs to a category (``resolvers/notifications.py``). A
category is on unless the user turned it off; an essential one cannot be turned
off. Password reset mail belongs to none: it always goes, as the user asked for it; so
do replies to an enquiry, mailed to the address the enquirer gave (a guest has no
preferences to ask).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from db.clock import utcnow
from db.tables import User
from resolvers.caller import TenantCaller
from resolvers.errors import Forbidden, NotFound, Validator
from resolvers.transactions import Transactions


class Category(StrEnum):
    """A kind of notification mail, as stored in ``app_user.notification_preferences``."""

    REQUESTS = "REQUESTS"
    BOOKING_UPDATES = "BOOKING_UPDATES"
    PICKUP_REMINDERS = "PICKUP_REMINDERS"
    OVERDUE = "OVERDUE"
    DESIGN_SHARES = "DESIGN_SHARES"
    MONTHLY_REPORTS = "MONTHLY_REPORTS"
    WEBHOOK_ALERTS = "WEBHOOK_ALERTS"
    ENQUIRIES = "ENQUIRIES"


# An integration that stopped receiving events has no one else to tell an admin.
ESSENTIAL = frozenset({Category.WEBHOOK_ALERTS})
# How the mails' footers name each category ("… are on for you").
NAMES: dict[Category, str] = {
    Category.REQUESTS: "mails about reservation requests",
    Category.BOOKING_UPDATES: "mails about your reservations",
    Category.PICKUP_REMINDERS: "pickup reminders",
    Category.OVERDUE: "overdue notices",
    Category.DESIGN_SHARES: "mails about designs shared with you",
    Category.MONTHLY_REPORTS: "mails about monthly reports",
    Category.WEBHOOK_ALERTS: "webhook alerts",
    Category.ENQUIRIES: "mails about new enquiries",
}


@dataclass(frozen=True)
class Preference:
    category: Category
    enabled: bool

    @property
    def essential(self) -> bool:
        return self.category in ESSENTIAL


def wants(user: User, category: Category) -> bool:
    """Whether ``user`` gets mail of ``category``."""
    return category in ESSENTIAL or user.notification_preferences.get(category.value, True) is not False


def preferences_of(user: User) -> list[Preference]:
    """Every category, in declaration order, with whether ``user`` gets it."""
    return [Preference(category, wants(user, category)) for category in Category]


async def update_notification_preferences(
    transactions: Transactions, caller: TenantCaller, changes: Sequence[Preference]
) -> User:
    """Turn the caller's categories on or off; categories not named stay as they are."""
    problems = Validator()
    seen: set[Category] = set()
    for index, change in enumerate(changes):
        field = f"preferences.{index}.category"
        problems.check(change.category not in seen, field, "Is named twice.")
        problems.check(
            change.enabled or not change.essential, field, "Is essential and cannot be turned off."
        )
        seen.add(change.category)
    problems.raise_if_any()
    user_id = caller.user_id
    if user_id is None:
        raise Forbidden("Operators acting in a tenant get no notification mail.")
    async with transactions.transaction() as session:
        user = await session.get(User, (caller.tenant_id, user_id), with_for_update=True)
        if user is None:
            raise NotFound("user")
        chosen = dict(user.notification_preferences)
        for change in changes:
            if change.essential:
                chosen.pop(change.category.value, None)
            else:
                chosen[change.category.value] = change.enabled
        if chosen != user.notification_preferences:
            user.notification_preferences = chosen  # a new dict: the change is seen and audited
            user.updated_at = utcnow()
            await session.flush()
        return user
