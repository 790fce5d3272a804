"""Hand-written deep queries over every relation, with their arguments as variables.

The schema-derived documents (``tests/schema_documents.py``) pass one set of
arguments; these pass the rest: filters and orders of every connection, pages
forwards and backwards from real cursors, windows, ``first`` on nested lists,
aliases of one field with different arguments, fragments on ``Node``, and
``@include``/``@skip``. ``cases(world)`` pairs each with the variable sets to run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from tests.booking import at
from tests.edge_world import World, past

FRAGMENTS = {
    "Page": "fragment Page on PageInfo { hasNextPage hasPreviousPage startCursor endCursor }",
    "Person": "fragment Person on User { __typename id email name role isActive createdAt updatedAt"
    " tenant { id slug name timezone createdAt } }",
    "Item": "fragment Item on Equipment { __typename id name code category description tags tracking quantity"
    " bufferBefore bufferAfter status createdAt updatedAt }",
    "Unit": "fragment Unit on EquipmentUnit { __typename id serialNumber status notes createdAt updatedAt }",
    "Booking": "fragment Booking on Reservation { __typename id number title status startsAt endsAt notes"
    " version createdAt updatedAt }",
    "Version": "fragment Version on DesignVersion { __typename id number configuration note createdAt"
    " createdBy { ...Person } }",
    "Plan": "fragment Plan on Design { __typename id name description status createdAt updatedAt"
    " owner { ...Person } }",
    "Link": "fragment Link on DesignShare { __typename id expiresAt createdAt revokedAt active }",
}


def with_fragments(operation: str) -> str:
    """``operation`` and the fragments it spreads, directly or through other fragments."""
    used: list[str] = []
    pending = [operation]
    while pending:
        for name in re.findall(r"\.\.\.(\w+)", pending.pop()):
            if name != "on" and name in FRAGMENTS and name not in used:
                used.append(name)
                pending.append(FRAGMENTS[name])
    return "\n".join([operation, *(FRAGMENTS[name] for name in sorted(used))])


EQUIPMENT = with_fragments(
    """
query Equipment($first: Int, $last: Int, $after: String, $before: String, $filter: EquipmentFilter,
                $orderBy: EquipmentOrder, $since: DateTime, $until: DateTime, $few: Int!,
                $from: DateTime!, $to: DateTime!, $withUnits: Boolean!, $rich: Boolean!) {
  equipment(first: $first, last: $last, after: $after, before: $before, filter: $filter, orderBy: $orderBy) {
    __typename totalCount pageInfo { ...Page }
    edges { cursor node {
      ...Item
      ... on Node { id }
      units @include(if: $withUnits) { ...Unit equipment { code units { serialNumber } } }
      serials: units @skip(if: $withUnits) { serialNumber }
      reservations(from: $since, to: $until, first: $few) {
        ...Booking
        lines { quantity equipment { ...Item } unit { ...Unit equipment { code } } }
        customer { ...Person }
        createdBy { ...Person }
        designVersion @include(if: $rich) { ...Version design { ...Plan } items { quantity notes equipment { code } } }
      }
      earliest: reservations(first: 1) { number lines { quantity } }
      availability(from: $from, to: $to) @include(if: $rich) {
        total held available equipment { code }
        reservations { ...Booking customer { email name } lines { quantity unit { serialNumber } } }
      }
    } }
  }
}
"""
)

RESERVATIONS = with_fragments(
    """
query Reservations($first: Int, $last: Int, $after: String, $before: String, $filter: ReservationFilter,
                   $orderBy: ReservationOrder, $few: Int!, $rich: Boolean!) {
  reservations(first: $first, last: $last, after: $after, before: $before, filter: $filter, orderBy: $orderBy) {
    totalCount pageInfo { ...Page }
    edges { cursor node {
      ...Booking
      lines {
        __typename quantity
        equipment { ...Item units { ...Unit } reservations(first: $few) { number status customer { email } } }
        unit { ...Unit equipment { ...Item } }
      }
      customer { ...Person }
      createdBy { ...Person }
      designVersion @include(if: $rich) {
        ...Version
        items { quantity notes equipment { ...Item } }
        design { ...Plan shares { ...Link design { name } } versions { number } clonedFrom { name } }
      }
    } }
  }
}
"""
)

DESIGNS = with_fragments(
    """
query Designs($first: Int, $last: Int, $after: String, $before: String, $filter: DesignFilter,
              $orderBy: DesignOrder, $few: Int!) {
  designs(first: $first, last: $last, after: $after, before: $before, filter: $filter, orderBy: $orderBy) {
    totalCount pageInfo { ...Page }
    edges { cursor node {
      ...Plan
      currentVersion {
        ...Version
        items { __typename quantity notes equipment { ...Item units { serialNumber status } } }
        design { name currentVersion { number } }
      }
      versions { ...Version items { quantity equipment { code reservations(first: $few) { number } } } }
      clonedFrom { ...Plan clonedFrom { name } versions { number } }
      clonedFromVersion { ...Version design { name } }
      shares { ...Link design { ...Plan } }
    } }
  }
}
"""
)

PEOPLE = with_fragments(
    """
query People($first: Int, $last: Int, $after: String, $before: String, $filter: UserFilter, $orderBy: UserOrder) {
  me { ...Person }
  tenant { __typename id slug name timezone createdAt }
  users(first: $first, last: $last, after: $after, before: $before, filter: $filter, orderBy: $orderBy) {
    totalCount pageInfo { ...Page } edges { cursor node { ...Person } }
  }
}
"""
)

OPERATORS = """
query Operators($first: Int, $last: Int, $after: String, $before: String) {
  currentOperator { __typename id email name }
  tenants(first: $first, last: $last, after: $after, before: $before) {
    totalCount pageInfo { startCursor endCursor hasNextPage hasPreviousPage }
    edges { cursor node { __typename id slug name timezone createdAt } }
  }
}
"""

AVAILABILITY = with_fragments(
    """
query Availability($from: DateTime!, $to: DateTime!, $ids: [ID!], $filter: EquipmentFilter, $few: Int!,
                   $rich: Boolean!) {
  availability(from: $from, to: $to, equipmentIds: $ids, filter: $filter) {
    __typename total held available
    equipment { ...Item reservations(first: $few) { number } }
    reservations {
      ...Booking
      customer { ...Person }
      createdBy { ...Person }
      designVersion @include(if: $rich) { number design { name } }
    }
  }
}
"""
)

AUDIT = with_fragments(
    """
query Audit($first: Int, $last: Int, $after: String, $before: String, $filter: AuditEventFilter) {
  auditEvents(first: $first, last: $last, after: $after, before: $before, filter: $filter) {
    totalCount pageInfo { ...Page }
    edges { cursor node {
      __typename id action targetType targetId actorKind changes requestId createdAt
      actor { ...Person }
    } }
  }
}
"""
)

SHARED_AND_NODES = with_fragments(
    """
query SharedAndNodes($token: String!, $a: ID!, $b: ID!, $few: Int!) {
  sharedDesign(token: $token) {
    __typename name description tenantName
    currentVersion { number configuration note savedAt }
    items { equipmentName category quantity notes }
  }
  a: node(id: $a) { __typename id ...Reachable }
  b: node(id: $b) { __typename ...Reachable }
}

fragment Reachable on Node {
  id
  ... on Equipment { ...Item units { ...Unit } reservations(first: $few) { ...Booking } }
  ... on Reservation { number lines { quantity equipment { code } unit { serialNumber } } customer { email } }
  ... on Design { name versions { number items { quantity } } shares { active } }
  ... on User { ...Person }
}
"""
)

WINDOW_NONE: dict[str, Any] = {"since": None, "until": None}


@dataclass(frozen=True)
class Case:
    document: str
    variables: dict[str, Any]
    reader: str = "admin"
    """The caller that may read all of it."""
    refused: bool = False
    """Whether the server refuses it even to ``reader``: then the refusals must read alike."""


def cases(world: World) -> list[Case]:
    """Each document with each variable set it runs with."""
    named = world.named
    cursors = {root: found[1] for root, found in world.cursors.items()}
    near = {"from": at(-1), "to": at(8)}
    everything = {"from": past(-48), "to": at(1000)}
    equipment: list[dict[str, Any]] = [
        {"first": 20, "few": 100, **near, **WINDOW_NONE, "withUnits": True},
        {"first": 2, "few": 1, **everything, "since": at(1), "until": at(130), "withUnits": False},
        {"first": 1, "after": cursors["equipment"], "few": 3, **near, **WINDOW_NONE, "withUnits": True},
        {"last": 2, "before": cursors["equipment"], "few": 2, **near, **WINDOW_NONE, "withUnits": True},
        {
            "filter": {"search": "wall"},
            "few": 100,
            **near,
            "since": past(-1),
            "until": past(40),
            "withUnits": True,
        },
        {
            "filter": {"category": ""},
            "orderBy": {"field": "CODE", "direction": "DESC"},
            "few": 0,
            **near,
            **WINDOW_NONE,
            "withUnits": False,
        },
        {
            "filter": {"tags": ["led", "video"]},
            "orderBy": {"field": "CATEGORY"},
            "few": 5,
            **everything,
            **WINDOW_NONE,
            "withUnits": True,
        },
        {
            "filter": {"tracking": "SERIALIZED", "status": "ACTIVE"},
            "orderBy": {"field": "CREATED_AT", "direction": "DESC"},
            "few": 100,
            **everything,
            **WINDOW_NONE,
            "withUnits": True,
        },
        {"filter": {"status": "RETIRED"}, "few": 100, **everything, **WINDOW_NONE, "withUnits": True},
    ]
    # Refused alike: a naive instant, a page past its cap.
    refused = [
        Case(
            EQUIPMENT,
            {"first": 2, "few": 1, **near, "since": "2031-05-01T10:00:00", "until": None, "withUnits": True},
            refused=True,
        ),
        Case(EQUIPMENT, {"first": 2, "few": 101, **near, **WINDOW_NONE, "withUnits": True}, refused=True),
        Case(AVAILABILITY, {"from": at(8), "to": at(-1), "few": 1}, refused=True),
    ]
    reservations: list[dict[str, Any]] = [
        {"first": 50, "few": 100},
        {"first": 3, "orderBy": {"field": "NUMBER", "direction": "DESC"}, "few": 2},
        {"last": 3, "orderBy": {"field": "CREATED_AT"}, "few": 1},
        {"first": 2, "after": cursors["reservations"], "few": 1},
        {"filter": {"status": ["REQUESTED", "DECLINED", "CANCELED"]}, "few": 100},
        {"filter": {"status": ["CHECKED_OUT", "RETURNED"], "from": past(-1), "to": past(40)}, "few": 100},
        {"filter": {"from": at(1), "to": at(100)}, "few": 100},
        {"filter": {"isOverdue": True}, "few": 100},
        {"filter": {"isOverdue": False, "status": ["CHECKED_OUT", "CONFIRMED"]}, "few": 100},
        {"filter": {"customerId": named["customer"]}, "few": 100},
        {
            "filter": {"equipmentId": named["camera"]},
            "orderBy": {"field": "STARTS_AT", "direction": "DESC"},
            "few": 100,
        },
        {"filter": {"equipmentId": named["marquee"]}, "few": 100},
    ]
    designs: list[dict[str, Any]] = [
        {"first": 20, "filter": {"status": ["DRAFT", "PUBLISHED", "ARCHIVED"]}, "few": 100},
        {"first": 2, "orderBy": {"field": "UPDATED_AT", "direction": "DESC"}, "few": 1},
        {"filter": {"search": "stage"}, "few": 2},
        {"filter": {"status": ["ARCHIVED"]}, "few": 2},
        {"filter": {"ownerId": named["staff"]}, "orderBy": {"field": "CREATED_AT"}, "few": 2},
        {"last": 2, "before": cursors["designs"], "few": 2},
    ]
    people: list[dict[str, Any]] = [
        {"first": 50},
        {"filter": {"role": "CUSTOMER"}, "orderBy": {"field": "NAME", "direction": "DESC"}},
        {"filter": {"isActive": False}},
        {"filter": {"search": "esr"}, "orderBy": {"field": "CREATED_AT"}, "last": 3},
        {"first": 2, "after": cursors["users"]},
    ]
    paging: list[dict[str, Any]] = [{"first": 10}, {"last": 1}, {"first": 1, "after": cursors["tenants"]}]
    availability: list[dict[str, Any]] = [
        {**near, "few": 100},
        {**everything, "few": 2, "filter": {"tracking": "SERIALIZED"}},
        {**near, "few": 100, "ids": [named["wall"], named["camera"], named["marquee"], "not-an-id"]},
    ]
    audit: list[dict[str, Any]] = [
        {"first": 100},
        {"last": 5, "filter": {"actorId": named["staff"]}},
        {"filter": {"targetId": named["confirmed"]}},
        {"filter": {"action": "design.create", "from": past(0), "to": at(2000)}},
        {"first": 3, "after": cursors["auditEvents"]},
    ]
    nodes: list[dict[str, Any]] = [
        {"token": token, "a": a, "b": b, "few": 2}
        for token, (a, b) in zip(
            world.share_tokens,
            [
                (named["wall"], named["confirmed"]),
                (named["stage"], named["customer"]),
                (named["camera"], named["gone"]),
                (named["marquee"], named["stage"]),
                (named["confirmed"], "not-an-id"),
            ],
            strict=False,
        )
    ]
    runs = [
        (EQUIPMENT, equipment),
        (RESERVATIONS, reservations),
        (DESIGNS, designs),
        (PEOPLE, people),
        (AVAILABILITY, availability),
        (AUDIT, audit),
        (SHARED_AND_NODES, nodes),
    ]
    return [
        *(
            Case(document, _rich(document, variables, index))
            for document, sets in runs
            for index, variables in enumerate(sets)
        ),
        *(Case(OPERATORS, variables, reader="operator") for variables in paging),
        *(Case(case.document, _rich(case.document, case.variables, 0), refused=True) for case in refused),
    ]


def _rich(document: str, variables: dict[str, Any], index: int) -> dict[str, Any]:
    """Every other set leaves out the relations under ``@include(if: $rich)`` (the design
    version, the availability), so that each level is also read without them."""
    return {**variables, "rich": index % 2 == 0} if "$rich" in document else variables
