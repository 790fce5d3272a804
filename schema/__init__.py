"""The GraphQL schema. ``schema.schema`` is the one used for SDL export."""

from schema.schema import build_schema, schema

__all__ = ["build_schema", "schema"]
