"""Expected failures of an operation. The schema returns them as typed error data."""

from __future__ import annotations

import uuid
from collections.abc import Mapping


class DomainError(Exception):
    """Base of every failure a client is expected to handle."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(DomainError):
    """One or more input fields are wrong; ``fields`` maps input path → message."""

    def __init__(self, fields: Mapping[str, str], message: str = "The input is invalid.") -> None:
        super().__init__(message)
        self.fields = dict(fields)


class NotFound(DomainError):
    def __init__(self, what: str = "object", field: str | None = None) -> None:
        super().__init__(f"No such {what}.")
        self.field = field


class Conflict(DomainError):
    """The operation clashes with the current state (duplicate, stale version, ...)."""


class InvalidCredentials(DomainError):
    def __init__(self) -> None:
        super().__init__("The tenant, email or password is wrong.")


class InvalidToken(DomainError):
    def __init__(self, message: str = "The token is invalid, expired or already used.") -> None:
        super().__init__(message)


class Forbidden(DomainError):
    def __init__(self, message: str = "You may not do this.") -> None:
        super().__init__(message)


class EmailNotVerified(Forbidden):
    """The caller signed up and has not yet confirmed their address (``resolvers/self_service.py``)."""

    def __init__(self) -> None:
        super().__init__(
            "Confirm your email address first: follow the link mailed to you when you signed up "
            "(`verifyEmail`)."
        )


class RateLimited(DomainError):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Too many attempts; try again in {retry_after} seconds.")
        self.retry_after = retry_after


class Validator:
    """Collects per-field problems, then raises them together."""

    def __init__(self) -> None:
        self.problems: dict[str, str] = {}

    def check(self, condition: bool, field: str, message: str) -> None:
        if not condition:
            self.problems.setdefault(field, message)

    def add(self, field: str, message: str | None) -> None:
        if message is not None:
            self.problems.setdefault(field, message)

    def raise_if_any(self) -> None:
        if self.problems:
            raise InvalidInput(self.problems)


class Unavailable(Conflict):
    """Not enough stock (or a unit is taken) for the requested window."""

    def __init__(
        self, shortages: list[Shortage], message: str = "Not enough available for this window."
    ) -> None:
        super().__init__(message)
        self.shortages = shortages


class Shortage:
    """What is missing of one equipment (or unit), and which reservations hold it."""

    __slots__ = ("available", "equipment_id", "requested", "reservation_ids", "unit_id")

    def __init__(
        self,
        equipment_id: uuid.UUID,
        *,
        requested: int,
        available: int,
        reservation_ids: list[uuid.UUID],
        unit_id: uuid.UUID | None = None,
    ) -> None:
        self.equipment_id = equipment_id
        self.unit_id = unit_id
        self.requested = requested
        self.available = available
        self.reservation_ids = reservation_ids
