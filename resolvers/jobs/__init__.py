"""Work outside a request: the queue's handlers, the schedules and the worker.

Importing this package registers every job kind and schedule.
"""

from resolvers.jobs import dispatch, reports

__all__ = ["dispatch", "reports"]
