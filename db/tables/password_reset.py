"""Password-reset tokens: single use, expiring, kept only as a SHA-256 of their secret."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKeyConstraint
from sqlmodel import Field, SQLModel

from db.tables.base import created_at_field, id_field, tenant_key_field, timestamp_field


class PasswordReset(SQLModel, table=True):
    """A single-use, expiring password-reset token; only a SHA-256 of its secret is kept."""

    __tablename__ = "password_reset"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "user_id"],
            ["app_user.tenant_id", "app_user.id"],
            name="fk_password_reset_user",
            ondelete="CASCADE",
        ),
    )

    tenant_id: uuid.UUID = tenant_key_field()
    id: uuid.UUID = id_field()
    user_id: uuid.UUID = Field(nullable=False)
    token_hash: str = Field(max_length=64, nullable=False)
    expires_at: datetime = timestamp_field(nullable=False)
    used_at: datetime | None = timestamp_field()
    created_at: datetime = created_at_field()
