"""Work outside a request: the queue's handlers, the schedules and the worker.

Importing this package registers every job kind and schedule.
"""

from resolvers.jobs import dispatch, housekeeping, reports

__all__ = ["dispatch", "housekeeping", "reports"]
