"""Field validators shared by operations. Each returns a message or ``None``."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from auth.passwords import password_problem
from resolvers.errors import Validator

SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,38}[a-z0-9])$")
EMAIL_PATTERN = re.compile(
    r"^[^@\s\x00-\x1f]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)
MAX_EMAIL_LENGTH = 254
MAX_NAME_LENGTH = 200
RESERVED_SLUGS = frozenset({"admin", "api", "www", "rigbook", "operator", "graphql", "health"})


def unstorable(text: str) -> bool:
    """Text no column can store or be compared with: NUL (PostgreSQL refuses it) or not UTF-8."""
    if "\x00" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def normalize_email(email: str) -> str:
    return email.strip().lower()


def email_problem(email: str) -> str | None:
    if len(email) > MAX_EMAIL_LENGTH:
        return f"Must be at most {MAX_EMAIL_LENGTH} characters long."
    if not EMAIL_PATTERN.match(email):
        return "Is not a valid email address."
    return None


MAX_PHONE_LENGTH = 40
PHONE_PATTERN = re.compile(r"^\+?[0-9 ()./-]{3,40}$")


def phone_problem(phone: str) -> str | None:
    """A phone number as people write it (digits, spaces, ``+ ( ) . / -``); empty is none."""
    if not phone:
        return None
    if len(phone) > MAX_PHONE_LENGTH:
        return f"Must be at most {MAX_PHONE_LENGTH} characters long."
    if not PHONE_PATTERN.match(phone) or sum(char.isdigit() for char in phone) < 3:
        return "Is not a phone number (digits, spaces and + ( ) . / - only)."
    return None


def slug_problem(slug: str) -> str | None:
    if not SLUG_PATTERN.match(slug):
        return (
            "Must be 3 to 40 characters of lowercase letters, digits and hyphens, "
            "starting and ending with a letter or digit."
        )
    if slug in RESERVED_SLUGS:
        return "Is reserved; choose another."
    return None


def name_problem(name: str, *, required: bool = True) -> str | None:
    if required and not name.strip():
        return "Must not be empty."
    if len(name) > MAX_NAME_LENGTH:
        return f"Must be at most {MAX_NAME_LENGTH} characters long."
    return None


def timezone_problem(timezone: str) -> str | None:
    if timezone not in available_timezones():
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            return "Is not a known IANA time zone (for example Europe/Berlin)."
    return None


def new_account(email: str, name: str, password: str) -> str:
    """The normalized email of a new account (user or operator); ``InvalidInput`` naming every bad field."""
    email = normalize_email(email)
    problems = Validator()
    problems.add("email", email_problem(email))
    problems.add("name", name_problem(name, required=False))
    problems.add("password", password_problem(password, email=email))
    problems.raise_if_any()
    return email
