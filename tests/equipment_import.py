"""Operations and helpers for the equipment import tests (``tests/test_equipment_import*.py``)."""

from __future__ import annotations

from typing import Any

from tests.api import Api
from tests.booking import CONFLICT_FIELDS

IMPORT = f"""
mutation Import($input: ImportEquipmentInput!) {{
  importEquipment(input: $input) {{
    __typename
    ... on ImportEquipmentSuccess {{ dryRun rows created updated unchanged }}
    ... on InvalidFileError {{ dryRun problemCount problems {{ line column columnNumber message }} }}
    ... on ConflictError {{ {CONFLICT_FIELDS} }}
    ... on Error {{ code message }}
  }}
}}
"""

CATALOGUE = """
query Catalogue {
  equipment(first: 100, orderBy: {field: CODE}) {
    edges { node {
      code name category description tags tracking quantity bufferBefore bufferAfter status
      units { serialNumber status }
    } }
  }
}
"""

HEADER = "code,name,category,tracking,quantity,buffer_before,buffer_after,tags,description,serial_numbers\n"


async def run_import(api: Api, token: str | None, csv: str, *, dry_run: bool = False) -> dict[str, Any]:
    result: dict[str, Any] = (
        await api.data(IMPORT, {"input": {"csv": csv, "dryRun": dry_run}}, token=token)
    )["importEquipment"]
    return result


async def catalogue(api: Api, token: str) -> dict[str, dict[str, Any]]:
    """The tenant's equipment by code."""
    data = await api.data(CATALOGUE, token=token)
    return {edge["node"]["code"]: edge["node"] for edge in data["equipment"]["edges"]}


def problems(result: dict[str, Any]) -> list[tuple[int | None, str | None, str]]:
    assert result["__typename"] == "InvalidFileError", result
    assert result["code"] == "INVALID_FILE"
    return [(problem["line"], problem["column"], problem["message"]) for problem in result["problems"]]


def serials(equipment: dict[str, Any]) -> dict[str, str]:
    return {unit["serialNumber"]: unit["status"] for unit in equipment["units"]}
