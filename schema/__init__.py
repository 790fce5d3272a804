"""The GraphQL schema. ``schema.schema`` is the one used for SDL export and for requests."""

from schema.schema import schema

__all__ = ["schema"]
