"""Sending one query to both execution engines as every caller, and saying where they part."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
from graphql import parse

from app import create_app
from auth.services import Services
from tests.edge_world import World
from tests.schema_documents import is_query_only

Answer = tuple[int, bytes]
"""An HTTP status and body, exactly as sent."""


@dataclass
class Engines:
    """The app completing subtrees list-at-once, the app completing field by field, their rows."""

    projected: httpx.AsyncClient
    plain: httpx.AsyncClient
    world: World


@asynccontextmanager
async def engine_clients(services: Services) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """Clients of both apps over ``services``: with projection (as served), and without."""

    def client(projection: bool) -> httpx.AsyncClient:
        app = create_app(services=services, projection=projection)
        transport = httpx.ASGITransport(app=app, client=("127.0.0.10", 40000))
        return httpx.AsyncClient(transport=transport, base_url="http://rigbook.test")

    async with client(True) as projected, client(False) as plain:
        yield projected, plain


# What must read the same after a test as before it: every row's version and last change.
SNAPSHOT = (
    "{ users(first: 100) { totalCount edges { node { id email name role isActive updatedAt } } } }",
    "{ equipment(first: 100) { totalCount edges { node { id updatedAt status quantity"
    " units { id status notes updatedAt } } } } }",
    "{ reservations(first: 100) { totalCount edges { node { id status version updatedAt lines { quantity } } } } }",
    "{ designs(first: 100, filter: {status: [DRAFT, PUBLISHED, ARCHIVED]}) { totalCount"
    " edges { node { id status updatedAt versions { id } shares { id revokedAt } } } } }",
    "{ auditEvents(first: 100) { totalCount edges { node { id } } } }",
    "{ tenants(first: 100) { totalCount } }",
)


async def snapshot(engines: Engines) -> list[bytes]:
    """The rows of both tenants and the operator's tenant list, as their callers read them."""
    tokens = engines.world.tokens
    return [
        (await _post(engines.projected, query, None, tokens[caller]))[1]
        for caller in ("admin", "admin of cmh", "operator")
        for query in SNAPSHOT
    ]


@dataclass(frozen=True)
class Disagreement:
    caller: str
    document: str
    variables: dict[str, Any] | None
    projected: Answer
    plain: Answer

    def __str__(self) -> str:
        return (
            f"as {self.caller}, variables {self.variables}:\n{self.document}\n"
            f"{first_difference(self.projected, self.plain)}"
        )


def first_difference(projected: Answer, plain: Answer) -> str:
    """Where two answers part, for a readable failure (the bodies can be long)."""
    if projected[0] != plain[0]:
        return f"status {projected[0]} (projected) != {plain[0]} (plain)"
    try:
        left, right = orjson.loads(projected[1]), orjson.loads(plain[1])
    except orjson.JSONDecodeError:
        return f"projected {projected[1][:500]!r}\nplain     {plain[1][:500]!r}"
    if left == right:
        return f"same JSON, other bytes:\nprojected {projected[1][:500]!r}\nplain     {plain[1][:500]!r}"
    path: list[str] = []
    while True:
        if isinstance(left, dict) and isinstance(right, dict) and list(left) == list(right):
            key = next(key for key in left if left[key] != right[key])
            left, right = left[key], right[key]
            path.append(key)
        elif isinstance(left, list) and isinstance(right, list) and len(left) == len(right):
            index = next(index for index, item in enumerate(left) if item != right[index])
            left, right = left[index], right[index]
            path.append(str(index))
        else:
            break
    where = ".".join(path) or "the top"
    if isinstance(left, list) and isinstance(right, list):
        where += f" ({len(left)} items projected, {len(right)} plain)"
    return (
        f"at {where}:\n"
        f"  projected {orjson.dumps(left)[:700].decode(errors='replace')}\n"
        f"  plain     {orjson.dumps(right)[:700].decode(errors='replace')}"
    )


# A signed link's expiry is a whole minute from when it was made (``auth/signed_links.py``):
# the two engines answer at different moments, so its signature is not theirs to agree on.
# What it points at stays compared; tests/test_attachments.py checks the signatures open.
SIGNED_LINK = re.compile(rb"\b(sig|token)=\d+\.[A-Za-z0-9_-]+")


async def _post(
    client: httpx.AsyncClient, document: str, variables: dict[str, Any] | None, token: str | None
) -> Answer:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await client.post(
        "/graphql", json={"query": document, "variables": variables}, headers=headers
    )
    return response.status_code, SIGNED_LINK.sub(rb"\1=<signed>", response.content)


class Comparison:
    """Collects the disagreements of many queries, to report them all at once."""

    def __init__(self, engines: Engines) -> None:
        self.engines = engines
        self.disagreements: list[Disagreement] = []
        self.queries = 0

    async def run(self, document: str, variables: dict[str, Any] | None = None) -> dict[str, Answer]:
        """Send ``document`` to both engines as every caller; each caller's answer (the projected one)."""
        # The rows must stay as seeded: nothing but queries is ever sent.
        assert is_query_only(parse(document)), document
        self.queries += 1
        answers: dict[str, Answer] = {}
        for caller, token in self.engines.world.tokens.items():
            projected = await _post(self.engines.projected, document, variables, token)
            plain = await _post(self.engines.plain, document, variables, token)
            if projected != plain:
                self.disagreements.append(Disagreement(caller, document, variables, projected, plain))
            answers[caller] = projected
        return answers

    def assert_agreed(self) -> None:
        found = self.disagreements
        shown = "\n\n".join(str(item) for item in found[:3])
        assert not found, (
            f"{len(found)} of {self.queries * len(self.engines.world.tokens)} answers differ "
            f"between the engines; the first:\n\n{shown}"
        )


def errors_of(answer: Answer) -> list[Any]:
    status, body = answer
    assert status == 200, body
    errors: list[Any] = orjson.loads(body).get("errors", [])
    return errors


def fields_with_values(answers: Iterable[Answer]) -> set[str]:
    """``Type.field`` of every field that holds a value (not null, not an empty list) in the answers.

    Types are known from ``__typename``, which the documents select on every object;
    the top level is ``Query``.
    """
    found: set[str] = set()

    def walk(value: Any, type_name: str | None) -> None:
        if isinstance(value, list):
            for item in value:
                walk(item, type_name)
        elif isinstance(value, dict):
            owner = value.get("__typename", type_name)
            for key, inner in value.items():
                if key != "__typename" and inner not in (None, []) and owner is not None:
                    found.add(f"{owner}.{key}")
                walk(inner, None)

    for status, body in answers:
        if status == 200:
            walk(orjson.loads(body).get("data"), "Query")
    return found
