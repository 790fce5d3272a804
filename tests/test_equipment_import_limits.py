"""`importEquipment` under small limits: size, rows, header, dialect and encoding, each refused clearly."""

from __future__ import annotations

import pytest

from settings import Settings
from tests.api import Api, error_codes
from tests.conftest import settings_for
from tests.equipment_import import HEADER, IMPORT, catalogue, problems, run_import

MAX_ROWS = 3
MAX_SIZE = 2048


@pytest.fixture
def settings(database_url: str) -> Settings:
    return settings_for(database_url, max_import_rows=MAX_ROWS, max_import_size=MAX_SIZE)


KNOWN = (
    "known: code, name, category, tracking, quantity, buffer_before, buffer_after, tags, description, "
    "serial_numbers."
)


@pytest.mark.parametrize(
    ("csv", "expected"),
    [
        (
            HEADER + "".join(f"C-{index},Item,,BULK,1,,,,,\n" for index in range(MAX_ROWS + 1)),
            [(5, None, f"The file has more than {MAX_ROWS} rows; import it in parts.")],
        ),
        # Size is counted in UTF-8 bytes (more characters than bytes are refused before execution).
        (
            "code,name\nC-1," + "é" * (MAX_SIZE // 2) + "\n",
            [(None, None, f"The file has {MAX_SIZE + 15} bytes; at most {MAX_SIZE} are allowed.")],
        ),
        ("", [(1, None, "The file is empty: its first line must name the columns.")]),
        ("\n\nC-1,Item\n", [(1, None, "The file is empty: its first line must name the columns.")]),
        ("name,quantity\nItem,1\n", [(1, None, "Required column missing: code.")]),
        ("tags\nled\n", [(1, None, "Required columns missing: code, name.")]),
        ("code,name,colour\nC-1,Item,red\n", [(1, None, f"Unknown column 'colour'; {KNOWN}")]),
        ("code,name,Name\nC-1,Item,Item\n", [(1, "name", "Column name appears twice.")]),
        (
            "code;name\nC-1;Item\n",
            [(1, None, "The columns must be separated by commas (this file uses semicolons).")],
        ),
        (
            'code,name\nC-1,"Item\nC-2,Other\n',
            [(2, None, "The CSV cannot be read from here on: unexpected end of data.")],
        ),
        (
            'code,name\nC-1,"Item"x\n',
            [(2, None, "The CSV cannot be read from here on: ',' expected after '\"'.")],
        ),
        (
            "code,name," + ",".join(f"c{index}" for index in range(30)) + "\n",
            [(1, None, "The header has 32 columns; there are only 10 to name.")],
        ),
    ],
)
async def test_the_file_is_refused_with_one_clear_problem(
    api: Api, manager_token: str, csv: str, expected: list[tuple[int | None, str | None, str]]
) -> None:
    for dry_run in (True, False):
        assert problems(await run_import(api, manager_token, csv, dry_run=dry_run)) == expected
    assert await catalogue(api, manager_token) == {}


async def test_an_unknown_column_has_its_number(api: Api, manager_token: str) -> None:
    result = await run_import(api, manager_token, "code,name,colour\nC-1,Item,red\n")
    assert [problem["columnNumber"] for problem in result["problems"]] == [3]


async def test_text_no_column_can_store_is_refused_before_anything_runs(api: Api, manager_token: str) -> None:
    body = await api.post(IMPORT, {"input": {"csv": "code,name\nC-1,A\u0000B\n"}}, token=manager_token)
    assert error_codes(body) == ["BAD_USER_INPUT"]
    # More characters than the file may have bytes: refused before execution too.
    body = await api.post(IMPORT, {"input": {"csv": "x" * (MAX_SIZE + 1)}}, token=manager_token)
    assert error_codes(body) == ["BAD_USER_INPUT"]
