"""Every column of an exported table is a decision: listed to leave, or withheld with a reason."""

from __future__ import annotations

import re

import pytest

from resolvers.exports.tables import GROUPS, TABLES, WITHHELD, UnknownGroup, chosen

SECRET_NAME = re.compile(r"hash|secret|token|password|body|sealed")


def test_each_column_is_exported_or_withheld_and_no_secret_is_exported() -> None:
    for entry in TABLES:
        columns = {column.name for column in entry.model.__table__.columns}
        withheld = set(WITHHELD.get(entry.table, {})) | {"tenant_id"}
        undecided = columns - set(entry.columns) - withheld
        assert not undecided, f"{entry.table}: decide whether {sorted(undecided)} may be exported"
        assert set(entry.columns) <= columns, entry.table
        assert not set(entry.columns) & withheld, entry.table
        assert [name for name in entry.columns if SECRET_NAME.search(name)] == [], entry.table
        assert entry.columns[0] == "id"  # the key the pages follow


def test_only_names_groups_and_refuses_anything_else() -> None:
    assert GROUPS == ("users", "equipment", "reservations", "designs", "audit")
    assert [entry.name for entry in chosen([" Users", "audit"])] == ["users", "audit"]
    assert chosen(None) == chosen([]) == TABLES
    with pytest.raises(UnknownGroup, match="unknown: webhooks"):
        chosen(["users", "webhooks"])
