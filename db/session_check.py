"""The check an authenticated transaction opens with: is the caller's grant still live?

An access token is valid for minutes after it was signed, but the account behind it
may be deactivated and its sign-in session ended (sign-out, password change or reset,
a replayed refresh token) before then. So every transaction run for a signed-in
caller first checks, in the database every worker shares:

* a tenant user: the user is active and their sign-in session (``sign_in_session``,
  by primary key) is neither revoked nor past its absolute end;
* a platform operator: likewise, against ``operator`` and ``operator_sign_in_session``;
* an operator acting inside a tenant (``assumeTenant``; no session there): the
  operator is active.

On PostgreSQL the check is ``rigbook_begin(tenant, subject, session, assumed)``
(migration 0009), the statement that opens the transaction anyway: it sets
``app.tenant_id`` for row-level security first and then reads the rows under it
(no ``SECURITY DEFINER``), raising SQLSTATE ``RB401`` when the grant has ended. It
costs no round trip of its own. On SQLite, which has no network, it is one query on
the transaction's connection.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Boolean, Select, Uuid, and_, bindparam, select, text
from sqlalchemy.sql.elements import TextClause
from sqlmodel import col

from db.scoped import in_tenant, same_tenant
from db.tables import Operator, OperatorSignInSession, SignInSession, User

SESSION_ENDED_SQLSTATE = "RB401"
ENDED_MESSAGE = "The session has ended."


class SessionEnded(Exception):
    """The caller's account is inactive or its sign-in session has ended."""

    def __init__(self) -> None:
        super().__init__(ENDED_MESSAGE)


@dataclass(frozen=True, slots=True)
class SessionCheck:
    """Whose grant a transaction checks; the tenant is the transaction's own."""

    subject_id: uuid.UUID
    session_id: uuid.UUID
    # An operator acting inside a tenant: the account is checked, it has no session there.
    assumed: bool = False


def _literal(value: uuid.UUID | None) -> str:
    # Inlined into a simple-protocol query: the value is re-parsed as a UUID, not trusted.
    return f"'{uuid.UUID(str(value))}'::uuid" if value is not None else "NULL"


def postgres_begin_call(tenant_id: uuid.UUID | None, check: SessionCheck) -> str:
    """The check with its arguments inlined, to ride in a simple-protocol query."""
    return (
        f"SELECT rigbook_begin({_literal(tenant_id)}, {_literal(check.subject_id)}, "
        f"{_literal(check.session_id)}, {'true' if check.assumed else 'false'})"
    )


POSTGRES_BEGIN = text("SELECT rigbook_begin(:tenant, :subject, :session, :assumed)").bindparams(
    bindparam("tenant", type_=Uuid()),
    bindparam("subject", type_=Uuid()),
    bindparam("session", type_=Uuid()),
    bindparam("assumed", type_=Boolean()),
)


def postgres_begin(tenant_id: uuid.UUID | None, check: SessionCheck) -> tuple[TextClause, dict[str, object]]:
    """The check as a prepared statement and its parameters (write transactions)."""
    return POSTGRES_BEGIN, {
        "tenant": tenant_id,
        "subject": check.subject_id,
        "session": check.session_id,
        "assumed": check.assumed,
    }


def sqlite_check(tenant_id: uuid.UUID | None, check: SessionCheck, now: datetime) -> Select[tuple[int]]:
    """A query with a row while the grant is live (SQLite)."""
    if tenant_id is not None and not check.assumed:
        return (
            select(1)
            .select_from(SignInSession)
            .join(
                User,
                and_(
                    same_tenant(User, SignInSession),
                    col(User.id) == col(SignInSession.user_id),
                ),
            )
            .where(
                in_tenant(SignInSession, tenant_id),
                col(SignInSession.id) == check.session_id,
                col(SignInSession.user_id) == check.subject_id,
                col(SignInSession.revoked_at).is_(None),
                col(SignInSession.expires_at) > now,
                col(User.is_active).is_(True),
            )
        )
    operator = (
        select(1)
        .select_from(Operator)
        .where(col(Operator.id) == check.subject_id, col(Operator.is_active).is_(True))
    )
    if check.assumed:
        return operator
    return operator.join(
        OperatorSignInSession, col(OperatorSignInSession.operator_id) == col(Operator.id)
    ).where(
        col(OperatorSignInSession.id) == check.session_id,
        col(OperatorSignInSession.revoked_at).is_(None),
        col(OperatorSignInSession.expires_at) > now,
    )


def is_session_ended(error: BaseException) -> bool:
    """The PostgreSQL check refused: asyncpg's error as it is, or wrapped by SQLAlchemy."""
    original = getattr(error, "orig", error)
    return getattr(original, "sqlstate", None) == SESSION_ENDED_SQLSTATE


def live_user_sessions(
    tenant_id: uuid.UUID, session_ids: list[uuid.UUID], now: datetime
) -> Select[uuid.UUID]:
    """Which of these sign-in sessions of a tenant are still live, their users active (many grants at once)."""
    return (
        select(col(SignInSession.id))
        .join(User, and_(same_tenant(User, SignInSession), col(User.id) == col(SignInSession.user_id)))
        .where(
            in_tenant(SignInSession, tenant_id),
            col(SignInSession.id).in_(session_ids),
            col(SignInSession.revoked_at).is_(None),
            col(SignInSession.expires_at) > now,
            col(User.is_active).is_(True),
        )
    )


def active_operators(operator_ids: list[uuid.UUID]) -> Select[uuid.UUID]:
    """Which of these operators are still active (operators acting in a tenant have no session there)."""
    return select(col(Operator.id)).where(
        col(Operator.id).in_(operator_ids), col(Operator.is_active).is_(True)
    )
