"""Refresh tokens: opaque to clients, stored as a SHA-256 of their secret.

Tokens from one sign-in share a ``family_id``; each use marks the token used and
issues its successor, and a second use of a spent token revokes the family.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKeyConstraint, Index
from sqlmodel import Field, SQLModel

from db.tables.base import created_at_field, id_field, tenant_key_field, timestamp_field


class RefreshTokenColumns(SQLModel):
    family_id: uuid.UUID = Field(nullable=False)
    token_hash: str = Field(max_length=64, nullable=False)
    expires_at: datetime = timestamp_field(nullable=False)
    session_expires_at: datetime = timestamp_field(nullable=False)
    used_at: datetime | None = timestamp_field()
    revoked_at: datetime | None = timestamp_field()
    created_at: datetime = created_at_field()


class RefreshToken(RefreshTokenColumns, table=True):
    __tablename__ = "refresh_token"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "user_id"],
            ["app_user.tenant_id", "app_user.id"],
            name="fk_refresh_token_user",
            ondelete="CASCADE",
        ),
        Index("ix_refresh_token_family", "tenant_id", "family_id"),
        Index("ix_refresh_token_user", "tenant_id", "user_id"),
    )

    tenant_id: uuid.UUID = tenant_key_field()
    id: uuid.UUID = id_field()
    user_id: uuid.UUID = Field(nullable=False)


class OperatorRefreshToken(RefreshTokenColumns, table=True):
    __tablename__ = "operator_refresh_token"
    __table_args__ = (
        Index("ix_operator_refresh_token_family", "family_id"),
        Index("ix_operator_refresh_token_operator", "operator_id"),
    )

    id: uuid.UUID = id_field()
    operator_id: uuid.UUID = Field(foreign_key="operator.id", ondelete="CASCADE", nullable=False)
