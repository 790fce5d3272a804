"""Monthly reports: one per tenant and calendar month, computed once and kept."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from db.tables.base import created_at_field, id_field, tenant_key_field


class MonthlyReport(SQLModel, table=True):
    """A tenant's report on one month (``month`` is ``YYYY-MM``; ``data``: ``resolvers/reports/content.py``).

    Written once by the ``report.generate`` job (or ``rigbook report``); the
    ``report.created`` event its creation announces is what mails the admins.
    """

    __tablename__ = "monthly_report"
    __table_args__ = (UniqueConstraint("tenant_id", "month", name="uq_monthly_report_month"),)

    tenant_id: uuid.UUID = tenant_key_field()
    id: uuid.UUID = id_field()
    month: str = Field(max_length=7, nullable=False)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = created_at_field()
