"""Sign-in sessions: one row per sign-in, the family its refresh tokens share.

The row is what every authenticated request checks (``db/session_check.py``), by
primary key: a session is live while ``revoked_at`` is empty and ``expires_at``
(the absolute end of the sign-in) lies ahead. Its id is the refresh tokens'
``family_id`` and the access tokens' ``sid``.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKeyConstraint, Index
from sqlmodel import Field, SQLModel

from db.tables.base import created_at_field, tenant_key_field, timestamp_field


class SignInSessionColumns(SQLModel):
    expires_at: datetime = timestamp_field(nullable=False)
    revoked_at: datetime | None = timestamp_field()
    created_at: datetime = created_at_field()


class SignInSession(SignInSessionColumns, table=True):
    __tablename__ = "sign_in_session"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "user_id"],
            ["app_user.tenant_id", "app_user.id"],
            name="fk_sign_in_session_user",
            ondelete="CASCADE",
        ),
        Index("ix_sign_in_session_user", "tenant_id", "user_id"),
    )

    tenant_id: uuid.UUID = tenant_key_field()
    id: uuid.UUID = Field(primary_key=True)
    user_id: uuid.UUID = Field(nullable=False)


class OperatorSignInSession(SignInSessionColumns, table=True):
    __tablename__ = "operator_sign_in_session"
    __table_args__ = (Index("ix_operator_sign_in_session_operator", "operator_id"),)

    id: uuid.UUID = Field(primary_key=True)
    operator_id: uuid.UUID = Field(foreign_key="operator.id", ondelete="CASCADE", nullable=False)
