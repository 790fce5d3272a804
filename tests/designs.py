"""Operations and helpers for design tests."""

from __future__ import annotations

from typing import Any

from tests.api import Api
from tests.booking import CONFLICT_FIELDS, RESERVATION_FIELDS

VERSION_FIELDS = (
    "id number configuration note createdBy { email } items { quantity notes equipment { name } }"
)
DESIGN_FIELDS = (
    "id name description status owner { email } clonedFrom { name } clonedFromVersion { number } "
    f"currentVersion {{ {VERSION_FIELDS} }} versions {{ number }}"
)
ERROR_FIELDS = """
    ... on ConflictError { code message }
    ... on ValidationError { code fields { field message } }
    ... on NotFoundError { code field }
    ... on Error { code message }
"""


def _design_mutation(name: str, input_type: str) -> str:
    return f"""
mutation($input: {input_type}!) {{
  {name}(input: $input) {{
    __typename
    ... on DesignSuccess {{ design {{ {DESIGN_FIELDS} }} }}
    {ERROR_FIELDS}
  }}
}}
"""


CREATE_DESIGN = _design_mutation("createDesign", "CreateDesignInput")
UPDATE_DESIGN = _design_mutation("updateDesign", "UpdateDesignInput")
ARCHIVE_DESIGN = _design_mutation("archiveDesign", "ArchiveDesignInput")
CLONE_DESIGN = _design_mutation("cloneDesign", "CloneDesignInput")

SAVE_VERSION = f"""
mutation($input: SaveDesignVersionInput!) {{
  saveDesignVersion(input: $input) {{
    __typename
    ... on SaveDesignVersionSuccess {{ design {{ {DESIGN_FIELDS} }} version {{ {VERSION_FIELDS} }} }}
    {ERROR_FIELDS}
  }}
}}
"""

SHARE_FIELDS = "id expiresAt createdAt revokedAt active"
SHARE_DESIGN = f"""
mutation($input: ShareDesignInput!) {{
  shareDesign(input: $input) {{
    __typename
    ... on ShareDesignSuccess {{ token share {{ {SHARE_FIELDS} }} }}
    {ERROR_FIELDS}
  }}
}}
"""
REVOKE_SHARE = f"""
mutation($input: RevokeDesignShareInput!) {{
  revokeDesignShare(input: $input) {{
    __typename
    ... on DesignShareSuccess {{ share {{ {SHARE_FIELDS} }} }}
    ... on NotFoundError {{ code field }}
  }}
}}
"""
SHARED_DESIGN = """
query($token: String!) {
  sharedDesign(token: $token) {
    name description tenantName
    currentVersion { number configuration note savedAt }
    items { equipmentName category quantity notes }
  }
}
"""

RESERVE_DESIGN = f"""
mutation($input: ReserveDesignInput!) {{
  reserveDesign(input: $input) {{
    __typename
    ... on CreateReservationSuccess {{ reservation {{ {RESERVATION_FIELDS} notes designVersion {{ number design {{ name }} }} }} }}
    ... on ConflictError {{ {CONFLICT_FIELDS} }}
    ... on ValidationError {{ code fields {{ field message }} }}
    ... on NotFoundError {{ code field }}
    ... on Error {{ code message }}
  }}
}}
"""

DESIGNS = """
query($filter: DesignFilter, $orderBy: DesignOrder) {
  designs(first: 50, filter: $filter, orderBy: $orderBy) {
    totalCount edges { node { name status owner { email } } }
  }
}
"""
NODE = """
query($id: ID!) {
  node(id: $id) {
    __typename id
    ... on Design { name }
    ... on DesignVersion { number design { name } }
    ... on DesignShare { active }
  }
}
"""
RESERVATION_COUNT = "{ reservations { totalCount } }"

CONFIGURATION = {"stage": {"width": 6, "depth": 4}, "layout": "theatre", "seats": [120, 80]}


def not_found(result: dict[str, Any]) -> str | None:
    """The field a NotFoundError names (and fails unless ``result`` is one)."""
    assert result["__typename"] == "NotFoundError", result
    assert result["code"] == "NOT_FOUND"
    field: str | None = result["field"]
    return field


def item(equipment: dict[str, Any], quantity: int = 1, notes: str = "") -> dict[str, Any]:
    return {"equipmentId": equipment["id"], "quantity": quantity, "notes": notes}


async def mutate(api: Api, query: str, token: str | None, **values: Any) -> dict[str, Any]:
    """Run a one-field mutation with ``input: values``; returns that field's result."""
    data = await api.data(query, {"input": values}, token=token)
    [result] = data.values()
    assert isinstance(result, dict)
    return result


async def create_design(api: Api, token: str, name: str = "Outdoor stage", **fields: Any) -> dict[str, Any]:
    result = await mutate(api, CREATE_DESIGN, token, name=name, **fields)
    assert result["__typename"] == "DesignSuccess", result
    design: dict[str, Any] = result["design"]
    return design


async def save_version(
    api: Api,
    token: str,
    design_id: str,
    items: list[dict[str, Any]],
    expected: int | None,
    configuration: Any = None,
    note: str = "",
) -> dict[str, Any]:
    return await mutate(
        api,
        SAVE_VERSION,
        token,
        designId=design_id,
        configuration=CONFIGURATION if configuration is None else configuration,
        items=items,
        note=note,
        expectedVersion=expected,
    )


async def share(api: Api, token: str, design_id: str, **fields: Any) -> dict[str, Any]:
    result = await mutate(api, SHARE_DESIGN, token, designId=design_id, **fields)
    assert result["__typename"] == "ShareDesignSuccess", result
    return result


async def shared(api: Api, share_token: str) -> dict[str, Any] | None:
    """``sharedDesign`` as an anonymous visitor sees it."""
    found: dict[str, Any] | None = (await api.data(SHARED_DESIGN, {"token": share_token}))["sharedDesign"]
    return found


async def node(api: Api, token: str, global_id: str) -> dict[str, Any] | None:
    found: dict[str, Any] | None = (await api.data(NODE, {"id": global_id}, token=token))["node"]
    return found
