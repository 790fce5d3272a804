"""Signed, expiring links: a URL that opens one object of one tenant until a moment.

An ``<img>`` or a download cannot send a bearer header, so the link itself carries
the grant: ``<expiry>.<signature>``, where the signature is HMAC-SHA256 over the
purpose, the tenant, the object, its variant (a thumbnail size, say) and the expiry.
The key is derived with HKDF-SHA256 from the server secret and the purpose, like
``auth/sealing.py`` does, so a link made for one use never verifies for another and
the token signing key is never used directly. Changing any bound value (another
tenant's id, another object, a later expiry) breaks the signature; signatures are
compared in constant time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from db.caches import bounded

VERSION = b"rigbook-link-v1"
# "<unix seconds>.<43 base64url characters>": anything else is refused before any work.
_TOKEN = re.compile(r"(?P<expires>[0-9]{1,12})\.(?P<mac>[A-Za-z0-9_-]{43})")
MAX_FIELD_BYTES = 1024


class InvalidLink(ValueError):
    """The link was not signed by this server for this purpose and subject."""


class ExpiredLink(InvalidLink):
    """The link was genuine but its time is over."""


@dataclass(frozen=True)
class LinkSubject:
    """What a link opens: an object of a tenant, in one variant ("" for the original)."""

    tenant_id: UUID
    object_id: str
    variant: str = ""


# Keyed by the secret and purpose: a handful of entries, bounded like every cache.
@bounded(maxsize=8)
def _key(secret: str, purpose: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=f"rigbook signed link {purpose}".encode()
    ).derive(secret.encode())


def _field(value: str) -> bytes:
    raw = value.encode()
    if len(raw) > MAX_FIELD_BYTES:
        raise ValueError("a signed link field is at most 1024 bytes")
    # Length-prefixed: no choice of values can make two different subjects read alike.
    return len(raw).to_bytes(4, "big") + raw


def _mac(secret: str, purpose: str, subject: LinkSubject, expires: int) -> bytes:
    message = b"".join(
        (
            VERSION,
            _field(purpose),
            _field(str(subject.tenant_id)),
            _field(subject.object_id),
            _field(subject.variant),
            _field(str(expires)),
        )
    )
    return hmac.new(_key(secret, purpose), message, hashlib.sha256).digest()


def sign(secret: str, purpose: str, subject: LinkSubject, expires_at: datetime) -> str:
    """The token of a link to ``subject`` for ``purpose`` that verifies until ``expires_at``."""
    if expires_at.tzinfo is None:
        raise ValueError("expires_at must be timezone-aware")
    expires = int(expires_at.timestamp())
    mac = base64.urlsafe_b64encode(_mac(secret, purpose, subject, expires)).rstrip(b"=").decode()
    return f"{expires}.{mac}"


def verify(
    secret: str, purpose: str, subject: LinkSubject, token: str, *, now: datetime | None = None
) -> datetime:
    """The link's expiry if ``token`` was signed for exactly this purpose and subject and has
    not expired; ``ExpiredLink`` if it has, ``InvalidLink`` for anything else."""
    match = _TOKEN.fullmatch(token)
    if match is None:
        raise InvalidLink("malformed link signature")
    expires = int(match["expires"])
    try:
        given = base64.urlsafe_b64decode(match["mac"] + "=")
    except (binascii.Error, ValueError) as error:  # pragma: no cover - the pattern admits only base64url
        raise InvalidLink("malformed link signature") from error
    if not hmac.compare_digest(given, _mac(secret, purpose, subject, expires)):
        raise InvalidLink("the link signature does not match")
    expires_at = datetime.fromtimestamp(expires, UTC)
    # Checked after the signature, so an expiry reveals nothing about forged links.
    if (now or datetime.now(UTC)) >= expires_at:
        raise ExpiredLink("the link has expired")
    return expires_at
