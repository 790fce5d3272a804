"""Nothing goes around the visibility policy or the caller accessor, and no ``assert`` decides.

These read the source (AST): a visibility rule written anywhere but
``resolvers/visibility.py`` drifts from it unseen; an ``assert`` vanishes under
``python -O``. The behaviour each rule guards is tested elsewhere; these keep
the rules in their one place.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("resolvers", "schema", "auth", "db")
POLICY = "resolvers/visibility.py"

OWNER_COLUMNS = {"customer_id", "owner_id"}
CALLER_IDS = {"subject_id", "user_id"}
# Comparisons of an owner with the caller that decide something other than visibility.
NOT_VISIBILITY = {
    # An idempotency key replays for the user who made the design (its owner), even for
    # staff, who see every design: a key someone else used is a conflict.
    ("resolvers/designs.py", "_by_idempotency_key"),
}


def modules() -> Iterator[tuple[str, ast.Module]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            name = path.relative_to(ROOT).as_posix()
            yield name, ast.parse(path.read_text(), filename=name)


def functions(tree: ast.AST) -> Iterator[tuple[str, ast.AST]]:
    """Every node with the name of the function it is in (``""`` at module level)."""

    def visit(node: ast.AST, function: str) -> Iterator[tuple[str, ast.AST]]:
        for child in ast.iter_child_nodes(node):
            inner = child.name if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else function
            yield inner, child
            yield from visit(child, inner)

    yield from visit(tree, "")


def attribute_names(node: ast.AST) -> set[str]:
    return {child.attr for child in ast.walk(node) if isinstance(child, ast.Attribute)}


def is_role_staff(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "STAFF"


def test_only_the_policy_asks_whether_a_caller_is_staff() -> None:
    found = []
    for name, tree in modules():
        if name == POLICY:
            continue
        for function, node in functions(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in {"has_role_at_least", "at_least"}
                and any(is_role_staff(argument) for argument in node.args)
            ):
                found.append(f"{name}:{node.lineno} in {function or 'module'}")
    assert found == [], "use resolvers.visibility (or TenantCaller.is_staff / .visibility):\n" + "\n".join(
        found
    )


def test_only_the_policy_compares_an_owner_with_the_caller() -> None:
    found = []
    for name, tree in modules():
        if name == POLICY:
            continue
        for function, node in functions(tree):
            if not isinstance(node, ast.Compare) or (name, function) in NOT_VISIBILITY:
                continue
            sides = [attribute_names(side) for side in (node.left, *node.comparators)]
            owners = any(side & OWNER_COLUMNS for side in sides)
            callers = any(side & CALLER_IDS for side in sides)
            if owners and callers:
                found.append(f"{name}:{node.lineno} in {function or 'module'}: {ast.unparse(node)}")
    assert found == [], "ask resolvers.visibility instead:\n" + "\n".join(found)


def test_one_accessor_gives_the_caller() -> None:
    retired = {"require_tenant", "tenant_user", "_principal", "design_visibility", "can_see"}
    found = []
    for name, tree in modules():
        for _, node in functions(tree):
            defined = node.name if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) else None
            used = node.attr if isinstance(node, ast.Attribute) else None
            called = node.id if isinstance(node, ast.Name) else None
            for word in (defined, used, called):
                if word in retired or (word == "is_staff" and defined and name != "resolvers/caller.py"):
                    found.append(f"{name}:{getattr(node, 'lineno', '?')}: {word}")
    assert found == [], "use Context.caller() / resolvers.caller:\n" + "\n".join(found)


def test_no_assert_statements_in_the_application_packages() -> None:
    found = [
        f"{name}:{node.lineno}: {ast.unparse(node)}"
        for name, tree in modules()
        for node in ast.walk(tree)
        if isinstance(node, ast.Assert)
    ]
    assert found == [], "python -O removes these; check explicitly:\n" + "\n".join(found)
