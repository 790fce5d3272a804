"""Every statement on a tenant-owned table gets its tenant condition from ``db/scoped.py``.

These read the source (AST): a ``tenant_id`` condition written by hand in a
resolver is one a reader must check by eye, and one a change can drop unseen.
``scoped``/``scoped_records`` start a statement from one table, ``in_tenant``
scopes anything else (subqueries, ``exists()``, UPDATE, DELETE), ``same_tenant``
joins two tenant-owned tables and ``tenant_of`` joins a row to its tenant. The
isolation they give is tested elsewhere (``tests/test_isolation*.py``); these
keep the conditions in their one place.

A SQL comparison is told from a Python one by its side: a table model's class
attribute (``User.tenant_id``), ``col(x.tenant_id)``, ``column(x, "tenant_id")``
or a table's ``c.tenant_id`` is a column; ``principal.tenant_id`` is a value.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import BindParameter, ClauseElement, bindparam

import db.tables
from db.scoped import in_tenant, same_tenant, scoped, scoped_records, tenant_of
from db.tables import DesignItem, Equipment, User

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("resolvers", "schema", "auth", "db")
# The helpers themselves, and migrations (frozen at the revision they were written for).
EXEMPT = ("db/scoped.py", "db/migrations/")
TENANT = "tenant_id"
# Methods of a column that make a condition of it.
COMPARING = {
    "__eq__",
    "__ne__",
    "in_",
    "not_in",
    "notin_",
    "is_",
    "is_not",
    "isnot",
    "is_distinct_from",
    "is_not_distinct_from",
    "op",
    "operate",
}


def _tenant_owned_models() -> set[str]:
    found = set()
    for name in db.tables.__all__:
        table = getattr(getattr(db.tables, name), "__table__", None)
        if table is not None and TENANT in table.c:
            found.add(name)
    return found


MODELS = _tenant_owned_models()


def modules() -> Iterator[tuple[str, ast.Module]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            name = path.relative_to(ROOT).as_posix()
            if not name.startswith(EXEMPT):
                yield name, ast.parse(path.read_text(), filename=name)


def _is_model(node: ast.AST) -> bool:
    return isinstance(node, ast.Name) and node.id in MODELS


def _is_table_columns(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and node.attr in {"c", "columns"}


def _constant(node: ast.AST) -> object:
    return node.value if isinstance(node, ast.Constant) else None


def is_tenant_column(node: ast.AST) -> bool:
    """Whether ``node`` is a tenant-owned table's ``tenant_id`` column (not a row's value)."""
    if isinstance(node, ast.Attribute) and node.attr == TENANT:
        return _is_model(node.value) or _is_table_columns(node.value)
    if isinstance(node, ast.Subscript):
        return _is_table_columns(node.value) and _constant(node.slice) == TENANT
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.args):
        return False
    function, first = node.func.id, node.args[0]
    if function == "col":
        # ``col()`` takes a class attribute: whatever names the class, this is a column.
        return isinstance(first, ast.Attribute) and first.attr == TENANT
    if function in {"column", "getattr"} and len(node.args) >= 2 and _constant(node.args[1]) == TENANT:
        return function == "column" or _is_model(first)
    return False


def is_tenant_condition(node: ast.AST) -> bool:
    """``column == x`` (any comparison), ``column.in_(...)`` and the like, or ``filter_by(tenant_id=...)``."""
    if isinstance(node, ast.Compare):
        return any(is_tenant_column(side) for side in (node.left, *node.comparators))
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return False
    if node.func.attr == "filter_by":
        return any(keyword.arg == TENANT for keyword in node.keywords)
    return node.func.attr in COMPARING and is_tenant_column(node.func.value)


def tenant_conditions(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node of ``tree`` that writes a condition on a ``tenant_id`` column."""
    return (node for node in ast.walk(tree) if is_tenant_condition(node))


def test_the_check_knows_the_tenant_owned_tables() -> None:
    assert {"User", "Equipment", "Reservation", "ReservationLine", "SignInSession", "RefreshToken"} <= MODELS
    assert {"Tenant", "Operator", "OperatorRefreshToken", "LoginFailure"}.isdisjoint(MODELS)


@pytest.mark.parametrize(
    "source",
    [
        "select(User.id).where(User.tenant_id == tenant_id)",
        "select(User).where(col(User.tenant_id) == tenant_id)",
        "update(model).where(col(model.tenant_id) == tenant_id)",
        "join(Design, col(Design.tenant_id) == col(DesignVersion.tenant_id))",
        "exists().where(tenant_id == col(ReservationLine.tenant_id))",
        'select(column(parent, "id")).where(column(parent, "tenant_id") == tenant)',
        "RefreshToken.tenant_id.in_(tenants)",
        "col(Equipment.tenant_id).is_(None)",
        "table.c.tenant_id == tenant_id",
        'table.c["tenant_id"] != tenant_id',
        "select(User).filter_by(tenant_id=tenant_id)",
    ],
)
def test_a_hand_written_tenant_condition_is_found(source: str) -> None:
    assert list(tenant_conditions(ast.parse(source))) != []


@pytest.mark.parametrize(
    "source",
    [
        "principal.tenant_id == tenant_id",
        "row.tenant_id != self.tenant_id",
        "self.tenant_id is not None and tenant_id == self.tenant_id",
        "if tenant_id is None: pass",
        "scoped(User, tenant_id).where(col(User.email) == email)",
        "select(User.tenant_id).where(in_tenant(User, tenant_id))",
        'getattr(row, "tenant_id", None) == tenant_id',
        "User(tenant_id=tenant_id, email=email)",
    ],
)
def test_a_python_comparison_or_a_helper_is_not_a_hand_written_condition(source: str) -> None:
    assert list(tenant_conditions(ast.parse(source))) == []


def test_the_check_reads_the_application_packages() -> None:
    names = {name for name, _ in modules()}
    assert {"resolvers/users.py", "resolvers/sessions.py", "db/session_check.py"} <= names
    assert "db/scoped.py" not in names


def test_only_db_scoped_writes_a_tenant_condition() -> None:
    found = sorted(
        f"{name}:{getattr(node, 'lineno', '?')}: {ast.unparse(node)}"
        for name, tree in modules()
        for node in tenant_conditions(tree)
    )
    assert found == [], "take the tenant condition from db/scoped.py (scoped, in_tenant, ...):\n" + "\n".join(
        found
    )


def _sql(statement: ClauseElement) -> str:
    return " ".join(str(statement).split())


def test_the_helpers_write_the_conditions_they_name() -> None:
    tenant: BindParameter[Any] = bindparam(TENANT)
    by_tenant = "app_user.tenant_id = :tenant_id"
    assert _sql(in_tenant(User, tenant)) == by_tenant
    assert _sql(same_tenant(Equipment, DesignItem)) == "equipment.tenant_id = design_item.tenant_id"
    assert _sql(tenant_of(User)) == "tenant.id = app_user.tenant_id"
    assert _sql(scoped(User, tenant)).endswith(f"FROM app_user WHERE {by_tenant}")
    assert _sql(scoped_records(User, tenant, ["id"])) == f"SELECT app_user.id FROM app_user WHERE {by_tenant}"
