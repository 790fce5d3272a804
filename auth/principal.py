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

    @property
    def is_operator(self) -> bool:
        return self.tenant_id is None

    def has_role_at_least(self, role: Role) -> bool:
        return self.role is not None and ROLE_RANK[self.role] >= ROLE_RANK[role]
