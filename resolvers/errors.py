"""Expected failures of an operation. The schema returns them as typed error data."""

from __future__ import annotations

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
