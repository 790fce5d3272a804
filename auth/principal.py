"""Who is calling: built only from a verified access token."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from db.tables.user import Role

ROLE_RANK = {Role.CUSTOMER: 0, Role.STAFF: 1, Role.MANAGER: 2, Role.ADMIN: 3}


@dataclass(frozen=True, slots=True)
class Principal:
    """A signed-in user (with a tenant and role) or a platform operator (neither)."""

    subject_id: uuid.UUID
    session_id: uuid.UUID
    tenant_id: uuid.UUID | None
    role: Role | None
    # Set on tenant-scoped tokens an operator obtained with ``assumeTenant``.
    operator_id: uuid.UUID | None = None

    @property
    def is_operator(self) -> bool:
        """A platform operator outside any tenant."""
        return self.tenant_id is None

    @property
    def acting_operator(self) -> bool:
        """An operator (inside a tenant through an assumed token, or outside)."""
        return self.tenant_id is None or self.operator_id is not None

    @property
    def user_id(self) -> uuid.UUID | None:
        """The tenant user behind this principal; None for operators."""
        return None if self.acting_operator else self.subject_id

    def has_role_at_least(self, role: Role) -> bool:
        return self.role is not None and ROLE_RANK[self.role] >= ROLE_RANK[role]
