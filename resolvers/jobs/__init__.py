"""Work outside a request: the queue's handlers, the schedules and the worker.

Importing this package registers every job kind, schedule and event consumer.
"""

from resolvers import mail_delivery, notifications
from resolvers.jobs import dispatch, expiry, reminders, upkeep, webhooks

__all__ = ["dispatch", "expiry", "mail_delivery", "notifications", "reminders", "upkeep", "webhooks"]
