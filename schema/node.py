"""The Relay ``Node`` interface and global ids (``base64("Type:uuid")``)."""

from __future__ import annotations

import base64
import binascii
import uuid

import strawberry


@strawberry.interface(description="An object with a globally unique ID, fetchable with `node(id:)`.")
class Node:
    id: strawberry.ID = strawberry.field(
        description="Globally unique, opaque ID of this object; pass it to `node(id:)` or to mutations."
    )


def to_global_id(type_name: str, pk: uuid.UUID) -> strawberry.ID:
    return strawberry.ID(base64.b64encode(f"{type_name}:{pk}".encode()).decode())


def from_global_id(global_id: str) -> tuple[str, uuid.UUID] | None:
    """``(type name, uuid)``, or ``None`` when the id is malformed."""
    try:
        decoded = base64.b64decode(global_id.encode(), validate=True).decode()
        type_name, _, raw = decoded.partition(":")
        return type_name, uuid.UUID(raw)
    except (ValueError, binascii.Error, UnicodeError):
        return None


def pk_of(global_id: str, type_name: str) -> uuid.UUID | None:
    """The uuid inside ``global_id`` if it names a ``type_name``; otherwise ``None``."""
    decoded = from_global_id(global_id)
    if decoded is None or decoded[0] != type_name:
        return None
    return decoded[1]
