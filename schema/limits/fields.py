"""Schema look-ups for walking a document that may not have been validated yet."""

from __future__ import annotations

from graphql import (
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    NamedTypeNode,
    SchemaMetaFieldDef,
    TypeMetaFieldDef,
    TypeNameMetaFieldDef,
)


def field_definition(
    schema: GraphQLSchema, parent: GraphQLNamedType | None, name: str
) -> GraphQLField | None:
    """The field ``name`` of ``parent``, meta fields included; None when unknown (validation reports it)."""
    if parent is None:
        return None
    if name == "__typename":
        return TypeNameMetaFieldDef
    if parent is schema.query_type and name == "__schema":
        return SchemaMetaFieldDef
    if parent is schema.query_type and name == "__type":
        return TypeMetaFieldDef
    if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
        field: GraphQLField | None = parent.fields.get(name)
        return field
    return None


def named_type(
    schema: GraphQLSchema, condition: NamedTypeNode | None, default: GraphQLNamedType | None
) -> GraphQLNamedType | None:
    """The type a fragment's ``on X`` names, or ``default`` for an inline fragment without one."""
    if condition is None:
        return default
    return schema.get_type(condition.name.value)
