"""Access tokens (short-lived JWTs) and refresh tokens (opaque, stored hashed)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import jwt

from auth.principal import Principal
from db.caches import CacheSize, track
from db.tables.user import Role

ALGORITHM = "HS256"
ACCESS_TYPE = "access"
_REQUIRED_CLAIMS = ["exp", "iat", "sub", "aud", "iss", "typ", "sid"]
OPERATOR_PREFIX = "op"
# Verified tokens remembered per process; a client sends the same token for ~15 minutes.
VERIFIED_TOKENS_KEPT = 4096


class InvalidAccessToken(Exception):
    """The bearer token is missing a claim, expired, forged or of the wrong kind."""


@dataclass(frozen=True)
class AccessTokens:
    """Issues and verifies access tokens.

    A token that passed verification is remembered (up to ``VERIFIED_TOKENS_KEPT``)
    with its expiry, so the next request carrying it skips decoding and the HMAC:
    only verified tokens are kept, and a remembered one is refused once expired.
    Remembering skips the signature only: whether the token's account and sign-in
    session are still live is asked of the database on every request
    (``db/session_check.py``), so no revocation waits for this cache.
    """

    secret: str
    issuer: str
    audience: str
    ttl: timedelta
    clock: Callable[[], float] = time.time
    _verified: dict[str, tuple[Principal, int]] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        track(self)

    def cache_sizes(self) -> Iterator[CacheSize]:
        yield CacheSize("auth.tokens.verified", len(self._verified), VERIFIED_TOKENS_KEPT)

    def issue(self, principal: Principal, *, now: datetime, ttl: timedelta | None = None) -> str:
        lifetime = min(ttl, self.ttl) if ttl is not None else self.ttl
        claims: dict[str, object] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": str(principal.subject_id),
            "sid": str(principal.session_id),
            "typ": ACCESS_TYPE,
            "iat": int(now.timestamp()),
            "exp": int((now + lifetime).timestamp()),
        }
        if principal.tenant_id is not None:
            claims["tid"] = str(principal.tenant_id)
            claims["role"] = str(principal.role)
        if principal.operator_id is not None:
            # RFC 8693 "actor": the operator acting inside the tenant.
            claims["act"] = {"sub": str(principal.operator_id)}
        return jwt.encode(claims, self.secret, algorithm=ALGORITHM)

    def verify(self, token: str) -> Principal:
        return self.verify_expiring(token)[0]

    def verify_expiring(self, token: str) -> tuple[Principal, int]:
        """The principal, and when the token expires (seconds since the epoch, by ``clock``)."""
        remembered = self._verified.get(token)
        if remembered is not None:
            principal, expires = remembered
            if self.clock() < expires:
                return remembered
            del self._verified[token]
            raise InvalidAccessToken("Signature has expired")
        principal, expires = self._decode(token)
        if len(self._verified) >= VERIFIED_TOKENS_KEPT:
            del self._verified[next(iter(self._verified))]  # the oldest
        self._verified[token] = (principal, expires)
        return principal, expires

    def _decode(self, token: str) -> tuple[Principal, int]:
        try:
            claims = jwt.decode(
                token,
                self.secret,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                options={"require": _REQUIRED_CLAIMS},
            )
            if claims["typ"] != ACCESS_TYPE:
                raise InvalidAccessToken("not an access token")
            if self.clock() >= claims["exp"]:  # as for remembered tokens, by this service's clock
                raise InvalidAccessToken("Signature has expired")
            tenant = claims.get("tid")
            actor = claims.get("act")
            principal = Principal(
                subject_id=uuid.UUID(claims["sub"]),
                session_id=uuid.UUID(claims["sid"]),
                tenant_id=uuid.UUID(tenant) if tenant is not None else None,
                role=Role(claims["role"]) if tenant is not None else None,
                operator_id=uuid.UUID(actor["sub"]) if isinstance(actor, dict) else None,
            )
            return principal, int(claims["exp"])
        except (jwt.PyJWTError, KeyError, ValueError, TypeError) as error:
            raise InvalidAccessToken(str(error)) from error


@dataclass(frozen=True)
class RefreshTokenParts:
    """``<scope>.<token id>.<secret>``: scope is the tenant id, or ``op`` for operators."""

    tenant_id: uuid.UUID | None
    token_id: uuid.UUID
    secret: str

    def encode(self) -> str:
        scope = self.tenant_id.hex if self.tenant_id is not None else OPERATOR_PREFIX
        return f"{scope}.{self.token_id.hex}.{self.secret}"

    @staticmethod
    def decode(token: str) -> RefreshTokenParts | None:
        parts = token.split(".")
        if len(parts) != 3 or not parts[2] or len(token) > 200:
            return None
        try:
            tenant_id = None if parts[0] == OPERATOR_PREFIX else uuid.UUID(hex=parts[0])
            return RefreshTokenParts(tenant_id, uuid.UUID(hex=parts[1]), parts[2])
        except ValueError:
            return None


def new_refresh_secret() -> str:
    return secrets.token_urlsafe(32)  # 256 bits


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), stored_hash)
