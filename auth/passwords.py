"""argon2id password hashing: policy, hashing off the event loop, dummy verifies."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
from dataclasses import dataclass

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024
MAX_CONCURRENT_HASHES = 2
_COMMON_PASSWORDS = frozenset(
    {
        "password123",
        "password1234",
        "1234567890",
        "12345678910",
        "qwertyuiop",
        "iloveyou123",
        "letmein1234",
        "administrator",
        "changeme123",
        "welcome123",
        "passw0rd123",
    }
)


def password_problem(password: str, *, email: str | None = None) -> str | None:
    """Why a new password is unacceptable, or ``None`` when it is fine."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Must be at least {MIN_PASSWORD_LENGTH} characters long."
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"Must be at most {MAX_PASSWORD_LENGTH} characters long."
    lowered = password.lower()
    if lowered in _COMMON_PASSWORDS or len(set(password)) < 4:
        return "Is too easy to guess; choose a longer or less common password."
    if email is not None and lowered in {email.lower(), email.split("@")[0].lower()}:
        return "Must not be the same as the email address."
    return None


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    new_hash: str | None = None  # set when the stored hash used older parameters


class Passwords:
    """Hashes and verifies passwords with configured argon2id parameters."""

    def __init__(
        self,
        *,
        time_cost: int,
        memory_kib: int,
        parallelism: int,
        max_concurrent: int = MAX_CONCURRENT_HASHES,
    ) -> None:
        self._hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism, type=Type.ID
        )
        # Verified against when the account does not exist, so that unknown emails
        # cost the same time as wrong passwords. Built, not computed: hashing at
        # start-up would cost every worker the hash's memory before any request.
        salt, digest = (base64.b64encode(os.urandom(size)).decode().rstrip("=") for size in (16, 32))
        self._dummy_hash = f"$argon2id$v=19$m={memory_kib},t={time_cost},p={parallelism}${salt}${digest}"
        # Each hash holds ``memory_kib``; a burst of sign-ins must not multiply that without bound.
        self._slots = asyncio.Semaphore(max_concurrent)

    async def hash(self, password: str) -> str:
        async with self._slots:
            return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, stored_hash: str | None, password: str) -> VerifyResult:
        if len(password) > MAX_PASSWORD_LENGTH:
            return VerifyResult(ok=False)
        async with self._slots:
            return await asyncio.to_thread(self._verify_sync, stored_hash, password)

    def _verify_sync(self, stored_hash: str | None, password: str) -> VerifyResult:
        if stored_hash is None:
            with contextlib.suppress(VerificationError):
                self._hasher.verify(self._dummy_hash, password)
            return VerifyResult(ok=False)
        try:
            self._hasher.verify(stored_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return VerifyResult(ok=False)
        if self._hasher.check_needs_rehash(stored_hash):
            return VerifyResult(ok=True, new_hash=self._hasher.hash(password))
        return VerifyResult(ok=True)
