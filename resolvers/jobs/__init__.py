"""Work outside a request: the queue's handlers, the schedules and the worker.

Importing this package registers every job kind and schedule.
"""

from resolvers.jobs import dispatch, upkeep

__all__ = ["dispatch", "upkeep"]
