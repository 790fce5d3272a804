"""The `JSON` scalar, answering every stored value in a form the response can carry.

It stands in for Strawberry's own (``scalar_overrides`` in ``schema/schema.py``), so
every JSON field — configurations, audit changes, any added later — and both the
field-by-field and the list-at-once completion (which calls ``serialize``) go
through ``readable_json``.
"""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types.scalar import ScalarDefinition

from db.json_values import MAX_DEPTH, READ_DEPTH, readable_json

ECMA_404 = "https://ecma-international.org/wp-content/uploads/ECMA-404_2nd_edition_december_2017.pdf"


def _as_given(value: Any) -> Any:
    return value


JSON_SCALAR: ScalarDefinition = strawberry.scalar(
    name="JSON",
    description=(
        f"A JSON value ([ECMA-404]({ECMA_404})). Inputs must read back unchanged: integers within "
        f"64 bits, finite numbers, at most {MAX_DEPTH} levels of nesting. Values stored before "
        "these rules are answered in a safe form: integers beyond 64 bits as decimal strings, "
        f"nesting past {READ_DEPTH} levels as null."
    ),
    specified_by_url=ECMA_404,
    serialize=readable_json,
    parse_value=_as_given,
)
