"""Query documents generated from the schema by hypothesis-graphql, aimed at seeded rows.

Two kinds. ``whole_queries`` are what the generator makes of ``Query`` itself, with
ids, strings, numbers and instants drawn from the seeded database instead of at
random (so ``node(id:)`` finds rows and cursors decode). The generator seldom goes
down a connection's ``edges`` or nests deep, so ``rooted_selections`` also draws a
selection on each object type alone (from a schema whose one root field returns
that type) and sets it where that type is read: under a connection's
``edges { node }``, under ``node(id:)`` with a seeded id of the type, or under the
relation that leads to it.

Everything is drawn from Hypothesis' choice sequence, so a derandomized run draws
the same documents every time (the ids in them are those of the run's seed).
"""

from __future__ import annotations

from typing import Any

import graphql
from graphql import (
    FieldNode,
    GraphQLField,
    GraphQLObjectType,
    GraphQLSchema,
    OperationDefinitionNode,
    print_ast,
)
from hypothesis import strategies as st
from hypothesis_graphql import nodes
from hypothesis_graphql import strategies as gql

from schema.node import from_global_id
from tests.booking import at
from tests.edge_world import World, past

# Where a selection on each type can stand; ``%s`` is the selection set, ``$id`` a
# seeded id of the type, ``$equipment`` and ``$reservations`` cursors of those connections,
# ``$webhook`` a seeded webhook's id.
ENTRIES: dict[str, tuple[str, ...]] = {
    "User": (
        "users(first: 20) { edges { node %s } }",
        "me { ... on User %s }",
        "reservations(first: 3) { edges { node { customer %s createdBy %s } } }",
        "node(id: $id) { ... on User %s }",
    ),
    "Tenant": ("tenant %s", "tenants(first: 3) { edges { node %s } }", "node(id: $id) { ... on Tenant %s }"),
    "Equipment": (
        "equipment(first: 3) { edges { node %s } }",
        "equipment(first: 2, filter: {tracking: SERIALIZED}) { edges { node %s } }",
        "equipment(last: 2, orderBy: {field: CODE, direction: DESC}) { edges { node %s } }",
        "node(id: $id) { ... on Equipment %s }",
    ),
    "EquipmentUnit": (
        "equipment(first: 5, filter: {tracking: SERIALIZED}) { edges { node { units %s } } }",
        "node(id: $id) { ... on EquipmentUnit %s }",
    ),
    "EquipmentAvailability": (
        f'availability(from: "{at(-1)}", to: "{at(8)}") %s',
        f'availability(from: "{past(-1)}", to: "{at(300)}", filter: {{tracking: BULK}}) %s',
    ),
    "Reservation": (
        "reservations(first: 3) { edges { node %s } }",
        "reservations(first: 4, orderBy: {field: NUMBER, direction: DESC}) { edges { node %s } }",
        "reservations(first: 3, filter: {status: [CONFIRMED, CHECKED_OUT, RETURNED]}) { edges { node %s } }",
        "reservations(first: 3, filter: {isOverdue: true}) { edges { node %s } }",
        "node(id: $id) { ... on Reservation %s }",
    ),
    "ReservationLine": ("reservations(first: 4) { edges { node { lines %s } } }",),
    "Design": (
        "designs(first: 3, filter: {status: [DRAFT, PUBLISHED, ARCHIVED]}) { edges { node %s } }",
        "designs(first: 2, orderBy: {field: CREATED_AT, direction: DESC}) { edges { node %s } }",
        "node(id: $id) { ... on Design %s }",
    ),
    "DesignVersion": (
        "designs(first: 3) { edges { node { versions %s } } }",
        "node(id: $id) { ... on DesignVersion %s }",
    ),
    "DesignItem": ("designs(first: 3) { edges { node { currentVersion { items %s } } } }",),
    "DesignShare": (
        "designs(first: 3) { edges { node { shares %s } } }",
        "node(id: $id) { ... on DesignShare %s }",
    ),
    "AuditEvent": ("auditEvents(first: 5) { edges { node %s } }", "node(id: $id) { ... on AuditEvent %s }"),
    "MonthlyReport": (
        "monthlyReports(first: 2) { edges { node %s } }",
        'monthlyReport(month: "2024-03") %s',
        "node(id: $id) { ... on MonthlyReport %s }",
    ),
    "Stats": (
        f'stats(from: "{past(-48)}", to: "{past(300)}") %s',
        f'stats(from: "{at(-1)}", to: "{at(300)}", top: 1) %s',
    ),
    "Attachment": (
        "gallery(first: 3) { edges { node %s } }",
        "equipment(first: 3) { edges { node { attachments %s } } }",
        "equipment(first: 5, filter: {tracking: SERIALIZED}) { edges { node { units { attachments %s } } } }",
        "designs(first: 3) { edges { node { attachments %s } } }",
        "node(id: $id) { ... on Attachment %s }",
    ),
    "AttachmentConnection": ("gallery(first: 2) %s",),
    "SharedDesignImage": ("sharedDesign(token: $token) { images %s }",),
    "Enquiry": (
        "enquiries(first: 3) { edges { node %s } }",
        "enquiries(first: 2, filter: {status: [QUOTED, WON]}, orderBy: {field: UPDATED_AT}) { edges { node %s } }",
        "node(id: $id) { ... on Enquiry %s }",
    ),
    "EnquiryItem": ("enquiries(first: 3) { edges { node { items %s } } }",),
    "EnquiryMessage": (
        "enquiries(first: 3) { edges { node { messages %s } } }",
        "node(id: $id) { ... on EnquiryMessage %s }",
    ),
    "EnquiryConnection": ("enquiries(first: 2) %s", 'enquiries(first: 3, filter: {search: "guest"}) %s'),
    "TenantConnection": ("tenants(first: 2) %s",),
    "UserConnection": ("users(first: 3) %s", "users(last: 2, filter: {role: CUSTOMER}) %s"),
    "EquipmentConnection": ("equipment(first: 2) %s", "equipment(first: 3, after: $equipment) %s"),
    "ReservationConnection": ("reservations(first: 3) %s", "reservations(last: 3, before: $reservations) %s"),
    "DesignConnection": ("designs(first: 3) %s",),
    "AuditEventConnection": ("auditEvents(first: 3) %s",),
    "MonthlyReportConnection": ("monthlyReports(first: 2) %s",),
    "SharedDesign": ("sharedDesign(token: $token) %s",),
    "Webhook": ("webhooks(first: 3) { edges { node %s } }", "node(id: $id) { ... on Webhook %s }"),
    "WebhookDelivery": (
        "webhookDeliveries(webhookId: $webhook, first: 3) { edges { node %s } }",
        "node(id: $id) { ... on WebhookDelivery %s }",
    ),
    "WebhookConnection": ("webhooks(first: 2) %s",),
    "TenantExport": (
        "tenantExports(first: 2) { edges { node %s } }",
        "node(id: $id) { ... on TenantExport %s }",
    ),
    "TenantExportConnection": ("tenantExports(first: 2) %s",),
    "WebhookDeliveryConnection": ("webhookDeliveries(webhookId: $webhook, last: 2) %s",),
}
WORDS = ("", "led", "Cam", "stage", "design.create", "reservation.confirm", "video", "Broadcast")
NAIVE = "2031-05-01T10:00:00"


def instants() -> list[str]:
    """Around the seeded bookings, past and future, and one without an offset (refused)."""
    return [at(hours) for hours in (-1, 0, 3, 6, 24, 100, 1000)] + [past(0), past(26), NAIVE]


def custom_scalars(world: World) -> dict[str, st.SearchStrategy[graphql.ValueNode]]:
    """Values the seeded rows answer to, with a few that must be refused or found missing."""
    ids = [*world.ids, "", "not-an-id", "VXNlcjoxMjM="]
    cursors = [cursor for found in world.cursors.values() for cursor in found]
    strings = [*WORDS, *cursors, *world.share_tokens]
    return {
        "ID": st.sampled_from(ids).map(nodes.String),
        "Int": st.one_of(st.integers(0, 3), st.sampled_from([-1, 20, 100, 101])).map(nodes.Int),
        "String": st.one_of(st.sampled_from(strings), st.text(max_size=3)).map(nodes.String),
        "DateTime": st.sampled_from(instants()).map(nodes.String),
        "JSON": st.just(nodes.Object([])),
        "Date": st.sampled_from(["2031-05-01", "not-a-day"]).map(nodes.String),
    }


def whole_queries(sdl: str, world: World) -> st.SearchStrategy[str]:
    return gql.queries(sdl, custom_scalars=custom_scalars(world))


def _standalone(schema: GraphQLSchema, type_name: str) -> GraphQLSchema:
    """A schema whose only root field returns ``type_name``, to draw selections on that type alone.

    Alone, so that the generator sizes its selections for this type (it aims at a
    number of fields per document, not per field of ``Query``).
    """
    target = schema.get_type(type_name)
    assert isinstance(target, GraphQLObjectType), type_name
    roots = (schema.query_type, schema.mutation_type, schema.subscription_type)
    types = [
        named for named in schema.type_map.values() if named not in roots and not named.name.startswith("__")
    ]
    root = GraphQLObjectType("Root", {"_": GraphQLField(target)})
    return GraphQLSchema(query=root, types=types, directives=schema.directives)


def _selection(document: graphql.DocumentNode) -> str:
    (operation,) = document.definitions
    assert isinstance(operation, OperationDefinitionNode)
    (field,) = operation.selection_set.selections
    assert isinstance(field, FieldNode) and field.selection_set is not None
    return print_ast(field.selection_set)


def rooted_selections(schema: GraphQLSchema, world: World) -> st.SearchStrategy[tuple[str, dict[str, Any]]]:
    """A selection drawn on one type, set at one of its ``ENTRIES``: the document and its variables."""
    scalars = custom_scalars(world)
    ids_of: dict[str, list[str]] = {}
    for global_id in world.ids:
        decoded = from_global_id(global_id)
        assert decoded is not None
        ids_of.setdefault(decoded[0], []).append(global_id)
    selections: dict[str, st.SearchStrategy[str]] = {
        name: gql.queries(_standalone(schema, name), custom_scalars=scalars, print_ast=_selection)
        for name in ENTRIES
    }

    @st.composite
    def documents(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
        type_name = draw(st.sampled_from(sorted(ENTRIES)))
        entry: str = draw(st.sampled_from(ENTRIES[type_name]))
        selection: str = draw(selections[type_name])
        body = entry.replace("%s", selection)
        variables: dict[str, Any] = {}
        declared: list[str] = []
        if "$id" in body:
            variables["id"] = draw(st.sampled_from(ids_of[type_name]))
            declared.append("$id: ID!")
        for connection in ("equipment", "reservations"):
            if f"${connection}" in body:
                variables[connection] = draw(st.sampled_from(world.cursors[connection]))
                declared.append(f"${connection}: String")
        if "$webhook" in body:
            variables["webhook"] = draw(st.sampled_from(ids_of["Webhook"]))
            declared.append("$webhook: ID!")
        if "$token" in body:
            variables["token"] = draw(st.sampled_from(world.share_tokens))
            declared.append("$token: String!")
        signature = f"({', '.join(declared)})" if declared else ""
        return f"query {type_name}{signature} {{ {body} }}", variables

    return documents()
