"""Unexpected exceptions become "Unexpected error" with an id that is also logged."""

from __future__ import annotations

import logging
import uuid

import asyncpg
from graphql.error import GraphQLError
from sqlalchemy.exc import DBAPIError

log = logging.getLogger("rigbook.errors")

UNEXPECTED = "Unexpected error"


def is_unexpected(error: GraphQLError) -> bool:
    """Errors we raise on purpose are GraphQLErrors; anything else is a bug or an outage."""
    original = error.original_error
    return original is not None and not isinstance(original, GraphQLError)


def is_statement_timeout(error: BaseException | None) -> bool:
    """PostgreSQL cancelled a statement that ran past ``statement_timeout``.

    Reads raise asyncpg's error as it is (``db/reads.py``); SQLAlchemy wraps it.
    """
    if isinstance(error, DBAPIError):
        return type(error.orig).__name__ == "QueryCanceledError"
    return isinstance(error, asyncpg.exceptions.QueryCanceledError)


def masked(error: GraphQLError) -> GraphQLError:
    """``error`` as the client may see it: unexpected ones say nothing but an id, which the log has."""
    if not is_unexpected(error):
        return error
    where = ".".join(str(part) for part in error.path or [])
    if is_statement_timeout(error.original_error):
        log.warning("statement timeout at %s", where)
        return GraphQLError(
            "The request took too long.",
            nodes=error.nodes,
            path=error.path,
            extensions={"code": "TIMEOUT"},
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
