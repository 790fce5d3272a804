"""How long the worst documents the limits accept take to parse, check and validate.

Each document is one of the shapes that make graphql-core's validation work hardest
(the same fields merging at many places, with arguments, through fragments, nested),
grown until one more selection would break a limit. It is prepared as the pipeline
prepares a document it has not seen (``Pipeline.prepare``: parse, structural rules,
limits, full validation) and must come out valid: only accepted documents count here.
For comparison, the document the field limit exists for (480 × `me { id }`) is timed
both as refused now and as graphql-core validates it without the limits.

    uv run python -m bench validation [--runs 7]
"""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Callable

from graphql import Source, TokenKind, get_introspection_query, parse, specified_rules, validate
from graphql.language import Lexer

from schema import schema
from schema.limits import QueryLimits
from schema.pipeline import Pipeline

LIMITS = QueryLimits()
REPEATS = LIMITS.max_repeated_fields
USER = "id email name role isActive createdAt updatedAt"
TENANT = "id slug name timezone createdAt"


def fill(block: Callable[[int], str], fields_per_block: int) -> str:
    """As many blocks as the field limit takes, each a different place of the result."""
    return " ".join(block(index) for index in range(LIMITS.max_fields // fields_per_block))


def repeated_objects() -> str:
    # `me` selected ten times, each with every User field: ten selections at every place.
    return "{" + " ".join(f"me {{ {USER} tenant {{ {TENANT} }} }}" for _ in range(REPEATS)) + "}"


def repeated_everywhere() -> str:
    # Ten selections at as many places as 500 fields allow (aliases make the places distinct).
    per_block = REPEATS * 9
    blocks = min(LIMITS.max_aliases // REPEATS, LIMITS.max_fields // per_block)
    aliased = [" ".join(f"m{block}: me {{ {USER} }}" for _ in range(REPEATS)) for block in range(blocks)]
    unaliased = " ".join(f"me {{ {USER} }}" for _ in range(REPEATS))
    return "{" + " ".join([*aliased, unaliased]) + "}"


def repeated_with_arguments() -> str:
    # Merging fields must have equal arguments: every pair compares them. Aliases make more places.
    page = (
        'users(first: 5, after: null, filter: {search: "a", role: ADMIN, isActive: true}, '
        "orderBy: {field: EMAIL, direction: DESC}) { totalCount }"
    )
    gear = 'equipment(first: 5, filter: {search: "a", category: "b", tags: ["x", "y"]}) { totalCount }'
    places = [page, gear]
    places += [f"a{index}: {page}" for index in range(LIMITS.max_aliases // REPEATS)]
    blocks = min(len(places), LIMITS.max_fields // (2 * REPEATS))
    return "{" + " ".join(place for place in places[:blocks] for _ in range(REPEATS)) + "}"


def fragments_beside_each_other() -> str:
    # Ten fragments on one object: every pair of them is compared, field by field.
    names = [f"F{index}" for index in range(REPEATS)]
    spreads = " ".join(f"...{name}" for name in names)
    definitions = " ".join(f"fragment {name} on User {{ {USER} tenant {{ {TENANT} }} }}" for name in names)
    return f"{{ me {{ {spreads} }} }} {definitions}"


def fragments_and_fields() -> str:
    # Fragments beside fields on an abstract type (`node` returns an interface): each pair compared.
    # `id` comes twice from each (User and Tenant): four spreads and the fields beside them make ten.
    half = REPEATS // 2 - 1
    inner = f"... on User {{ {USER} }} ... on Tenant {{ {TENANT} }}"
    spreads = " ".join(f"...N{index}" for index in range(half))
    definitions = " ".join(f"fragment N{index} on Node {{ {inner} }}" for index in range(half))
    return f'{{ node(id: "x") {{ {spreads} {inner} }} }} {definitions}'


def nested_repeats() -> str:
    # Ten selections at every level of a deep tree: each pair of parents compares their children.
    tree = (
        "reservations { edges { node { id title lines { quantity equipment { id name units { id serialNumber } } } "
        f"customer {{ {USER} tenant {{ {TENANT} }} }} }} }} }}"
    )
    return "{" + " ".join([tree] * REPEATS) + "}"


def distinct_arguments() -> str:
    # No repeats at all, as many arguments as the tokens allow: the linear part of validation.
    page = (
        'users(first: 5, after: null, filter: {search: "a", role: ADMIN, isActive: true}, '
        "orderBy: {field: EMAIL, direction: DESC}) { totalCount }"
    )
    return "{" + " ".join(f"a{index}: {page}" for index in range(LIMITS.max_aliases)) + "}"


SHAPES: dict[str, Callable[[], str]] = {
    "GraphiQL introspection": lambda: get_introspection_query(
        descriptions=True,
        specified_by_url=True,
        directive_is_repeatable=True,
        schema_description=True,
        input_value_deprecation=True,
    ),
    "ten selections of me, every field": repeated_objects,
    "ten selections at many places": repeated_everywhere,
    "repeats with arguments": repeated_with_arguments,
    "ten fragments side by side": fragments_beside_each_other,
    "fragments and fields on an interface": fragments_and_fields,
    "nested repeats": nested_repeats,
    "distinct fields with arguments": distinct_arguments,
}


def tokens(text: str) -> int:
    lexer = Lexer(Source(text))
    count = 0
    while lexer.advance().kind is not TokenKind.EOF:
        count += 1
    return count


def timed(prepare: Callable[[str], object], text: str, runs: int) -> float:
    """Median CPU milliseconds, each run on a text no cache has seen.

    CPU time of this process, not wall time: on a shared machine the wait for a core
    is not the document's doing.
    """
    samples = []
    for _ in range(runs):
        fresh = f"# {uuid.uuid4()}\n{text}"
        start = time.process_time()
        prepare(fresh)
        samples.append((time.process_time() - start) * 1000)
    return statistics.median(samples)


def run(runs: int = 7) -> int:
    pipeline = Pipeline(schema)
    print(
        f"limits: {LIMITS.max_fields} fields, {REPEATS} selections per place, "
        f"{LIMITS.max_tokens} tokens, {LIMITS.max_aliases} aliases, depth {LIMITS.max_depth}"
    )
    worst = 0.0
    for name, build in SHAPES.items():
        text = build()
        prepared = pipeline.prepare(text)
        if prepared.errors:
            print(f"{name}: REFUSED {[error.message for error in prepared.errors]}")
            return 1
        ms = timed(pipeline.prepare, text, runs)
        worst = max(worst, ms)
        print(f"{name} ({tokens(text)} tokens): {ms:.1f} ms")
    print(f"worst accepted: {worst:.1f} ms")

    attack = "{" + " me { id }" * 480 + " }"
    refused = timed(pipeline.prepare, attack, runs)
    unguarded = timed(
        lambda text: validate(schema._schema, parse(text), specified_rules), attack, min(runs, 3)
    )
    print(
        f"480 × me {{ id }}: refused in {refused:.2f} ms; graphql-core alone validates it in {unguarded:.0f} ms"
    )
    return 0
