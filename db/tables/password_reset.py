"""Mailed one-time tokens of an account: single use, expiring, kept only as a SHA-256 of their secret.

The table began with password resets and keeps their name; ``purpose`` says what a
token proves (``resolvers/account_tokens.py``): a password reset, that the user's
address is theirs (after sign-up), or that a new address is (``changeEmail``).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKeyConstraint
from sqlmodel import Field, SQLModel

from db.tables.base import check_in, created_at_field, id_field, tenant_key_field, timestamp_field


class TokenPurpose(StrEnum):
    """What a mailed token proves once it is spent."""

    PASSWORD_RESET = "password_reset"
    VERIFY_EMAIL = "verify_email"
    CHANGE_EMAIL = "change_email"


class PasswordReset(SQLModel, table=True):
    """A single-use, expiring token mailed to a user; only a SHA-256 of its secret is kept.

    ``new_email``: the address a ``CHANGE_EMAIL`` token moves the account to (the audit
    trail does not copy it: it becomes the user's email only once verified).
    """

    __tablename__ = "password_reset"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "user_id"],
            ["app_user.tenant_id", "app_user.id"],
            name="fk_password_reset_user",
            ondelete="CASCADE",
        ),
        CheckConstraint(check_in("purpose", TokenPurpose), name="ck_password_reset_purpose"),
    )

    tenant_id: uuid.UUID = tenant_key_field()
    id: uuid.UUID = id_field()
    user_id: uuid.UUID = Field(nullable=False)
    token_hash: str = Field(max_length=64, nullable=False)
    purpose: str = Field(
        default=TokenPurpose.PASSWORD_RESET,
        max_length=16,
        nullable=False,
        sa_column_kwargs={"server_default": TokenPurpose.PASSWORD_RESET.value},
    )
    new_email: str | None = Field(default=None, max_length=254)
    expires_at: datetime = timestamp_field(nullable=False)
    used_at: datetime | None = timestamp_field()
    created_at: datetime = created_at_field()
