"""Work outside a request: the queue's handlers, the schedules and the worker.

Importing this package registers every job kind and schedule.
"""

from resolvers import mail_delivery
from resolvers.jobs import dispatch

__all__ = ["dispatch", "mail_delivery"]
