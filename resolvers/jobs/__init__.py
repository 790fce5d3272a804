"""Work outside a request: the queue's handlers, the schedules and the worker.

Importing this package registers every job kind, schedule and event consumer.
"""

from resolvers import mail_delivery, notifications
from resolvers.jobs import (
    attachments,
    dispatch,
    expiry,
    exports,
    housekeeping,
    reminders,
    reports,
    upkeep,
    webhooks,
)

__all__ = [
    "attachments",
    "dispatch",
    "expiry",
    "exports",
    "housekeeping",
    "mail_delivery",
    "notifications",
    "reminders",
    "reports",
    "upkeep",
    "webhooks",
]
