"""The Relay ``Node`` interface and global ids (``base64("Type:uuid")``, ``resolvers/global_ids.py``)."""

from __future__ import annotations

import uuid

import strawberry

from resolvers.global_ids import from_global_id
from resolvers.global_ids import to_global_id as _encoded

__all__ = ["Node", "from_global_id", "pk_of", "to_global_id"]


@strawberry.interface(description="An object with a globally unique ID, fetchable with `node(id:)`.")
class Node:
    id: strawberry.ID = strawberry.field(
        description="Globally unique, opaque ID of this object; pass it to `node(id:)` or to mutations."
    )


def to_global_id(type_name: str, pk: uuid.UUID) -> strawberry.ID:
    return strawberry.ID(_encoded(type_name, pk))


def pk_of(global_id: str, type_name: str) -> uuid.UUID | None:
    """The uuid inside ``global_id`` if it names a ``type_name``; otherwise ``None``."""
    decoded = from_global_id(global_id)
    if decoded is None or decoded[0] != type_name:
        return None
    return decoded[1]
