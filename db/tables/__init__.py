"""SQLModel tables. Importing this package registers every table on ``SQLModel.metadata``."""

from db.tables.equipment import Equipment, EquipmentStatus, EquipmentUnit, Tracking, UnitStatus
from db.tables.operator import Operator
from db.tables.refresh_token import OperatorRefreshToken, RefreshToken
from db.tables.reservation import HOLDING_STATUSES, Reservation, ReservationLine, ReservationStatus
from db.tables.tenant import Tenant
from db.tables.user import Role, User

__all__ = [
    "HOLDING_STATUSES",
    "Equipment",
    "EquipmentStatus",
    "EquipmentUnit",
    "Operator",
    "OperatorRefreshToken",
    "RefreshToken",
    "Reservation",
    "ReservationLine",
    "ReservationStatus",
    "Role",
    "Tenant",
    "Tracking",
    "UnitStatus",
    "User",
]
