"""Unexpected exceptions become "Unexpected error" with an id that is also logged.

Two kinds of failure are not bugs and say so: a statement the database cancelled
(``TIMEOUT``) and a database or store that cannot be reached or has no connection
free (``SERVICE_UNAVAILABLE``). Both are worth a retry; ``web/graphql.py`` answers
them with HTTP 503.
"""

from __future__ import annotations

import errno
import logging
import socket
import uuid
from collections.abc import Iterator

import redis.exceptions
from graphql.error import GraphQLError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

log = logging.getLogger("rigbook.errors")

UNEXPECTED = "Unexpected error"
TIMEOUT = "TIMEOUT"
SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
# The error codes that mean "not now": the HTTP layer answers 503 for them.
RETRYABLE_CODES = frozenset({TIMEOUT, SERVICE_UNAVAILABLE})

QUERY_CANCELED = "57014"
# SQLSTATEs of a server that is going away, starting up, or out of connection slots.
_SERVER_UNAVAILABLE = frozenset({"57P01", "57P02", "57P03", "53300"})
_CONNECTION_EXCEPTION_CLASS = "08"
# OSErrors of a network path that is gone (others, such as a missing file, are bugs).
_NETWORK_ERRNOS = frozenset({errno.ENETDOWN, errno.ENETUNREACH, errno.EHOSTDOWN, errno.EHOSTUNREACH})
_UNREACHABLE = (
    PoolTimeout,
    ConnectionError,  # refused, reset, aborted
    TimeoutError,  # connecting took longer than the pool timeout
    socket.gaierror,  # the host name does not resolve
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)
# Exceptions wrap each other (SQLAlchemy's around the adapter's around asyncpg's).
_MOST_CAUSES = 8


def is_unexpected(error: GraphQLError) -> bool:
    """Errors we raise on purpose are GraphQLErrors; anything else is a bug or an outage."""
    original = error.original_error
    return original is not None and not isinstance(original, GraphQLError)


def _causes(error: BaseException) -> Iterator[BaseException]:
    """``error`` and what it wraps: SQLAlchemy's ``orig``, then each ``__cause__``."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen and len(seen) < _MOST_CAUSES:
        seen.add(id(current))
        yield current
        wrapped = current.orig if isinstance(current, DBAPIError) else None
        current = wrapped if isinstance(wrapped, BaseException) else current.__cause__


def failure_code(error: BaseException | None) -> str | None:
    """``TIMEOUT`` or ``SERVICE_UNAVAILABLE`` when ``error`` is one of those, else ``None``.

    Reads raise asyncpg's errors as they are (``db/reads.py``); writes raise them
    wrapped by SQLAlchemy, around its adapter's error, around asyncpg's.
    """
    if error is None:
        return None
    for cause in _causes(error):
        sqlstate = getattr(cause, "sqlstate", None)
        if sqlstate == QUERY_CANCELED:
            return TIMEOUT
        if isinstance(sqlstate, str) and (
            sqlstate in _SERVER_UNAVAILABLE or sqlstate.startswith(_CONNECTION_EXCEPTION_CLASS)
        ):
            return SERVICE_UNAVAILABLE
        # asyncpg raises the errors of connecting bare, not wrapped by SQLAlchemy.
        if isinstance(cause, _UNREACHABLE) or (isinstance(cause, OSError) and cause.errno in _NETWORK_ERRNOS):
            return SERVICE_UNAVAILABLE
        if isinstance(cause, DBAPIError) and cause.connection_invalidated:
            return SERVICE_UNAVAILABLE
    return None


def is_statement_timeout(error: BaseException | None) -> bool:
    """PostgreSQL cancelled a statement that ran past ``statement_timeout``."""
    return failure_code(error) == TIMEOUT


_MESSAGES = {
    TIMEOUT: "The request took too long.",
    SERVICE_UNAVAILABLE: "The service is unavailable right now; try again shortly.",
}


def masked(error: GraphQLError) -> GraphQLError:
    """``error`` as the client may see it: unexpected ones say nothing but an id, which the log has."""
    if not is_unexpected(error):
        return error
    where = ".".join(str(part) for part in error.path or [])
    code = failure_code(error.original_error)
    if code is not None:
        # Not a bug: the log names the cause (a class and the driver's text, no credentials).
        original = error.original_error
        log.warning("%s at %s: %s: %s", code, where, type(original).__name__, original)
        return GraphQLError(
            _MESSAGES[code],
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            extensions={"code": code},
        )
    error_id = uuid.uuid4().hex
    log.error("unexpected error %s at %s", error_id, where, exc_info=error.original_error)
    return GraphQLError(
        UNEXPECTED,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions={"code": "INTERNAL_SERVER_ERROR", "errorId": error_id},
    )
