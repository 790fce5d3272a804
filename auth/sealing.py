"""Authenticated encryption for secrets that must wait at rest (queued mail bodies).

AES-256-GCM from ``cryptography`` (pyca). The key is derived with HKDF-SHA256 from
the server secret and a label naming its use, so it differs from the JWT signing
key although both come from ``RIGBOOK_JWT_SECRET``, and a database dump alone
reveals nothing. The associated data binds a sealed value to where it belongs (a
row, an address): moved or redirected, it no longer opens.
"""

from __future__ import annotations

import base64
import binascii
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from db.caches import bounded

PREFIX = "sealed:v1:"
NONCE_BYTES = 12  # random per value: 2^32 values per key keep GCM's collision bound negligible


class Unsealable(ValueError):
    """The value was not sealed with this secret for this purpose and associated data."""


# Keyed by the secret: a handful of entries (one per purpose), bounded like every cache.
@bounded(maxsize=8)
def _cipher(secret: str, purpose: str) -> AESGCM:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=f"rigbook {purpose}".encode()).derive(
        secret.encode()
    )
    return AESGCM(key)


def seal(secret: str, purpose: str, plaintext: str, associated: bytes) -> str:
    nonce = os.urandom(NONCE_BYTES)
    sealed = _cipher(secret, purpose).encrypt(nonce, plaintext.encode(), associated)
    return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()


def unseal(secret: str, purpose: str, value: str, associated: bytes) -> str:
    if not value.startswith(PREFIX):
        raise Unsealable("not a sealed value")
    try:
        raw = base64.urlsafe_b64decode(value.removeprefix(PREFIX))
        plaintext = _cipher(secret, purpose).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], associated)
    except (binascii.Error, InvalidTag, ValueError) as error:
        raise Unsealable("does not open with this secret here") from error
    return plaintext.decode()
