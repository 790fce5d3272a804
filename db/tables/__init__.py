"""SQLModel tables. Importing this package registers every table on ``SQLModel.metadata``."""

from db.tables.operator import Operator
from db.tables.refresh_token import OperatorRefreshToken, RefreshToken
from db.tables.tenant import Tenant
from db.tables.user import Role, User

__all__ = ["Operator", "OperatorRefreshToken", "RefreshToken", "Role", "Tenant", "User"]
