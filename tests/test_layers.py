"""Dependencies point one way: HTTP → schema → resolvers → auth → db → settings.

A request flows down that line (``web/`` reads it, ``schema/`` types it, ``resolvers/``
decide, ``auth/`` and ``db/`` serve them); ``app.py`` and ``cli.py`` sit above it all.
Every module of those packages is read as source, nothing is imported, and every
import statement counts: at the top, inside functions, under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
# Lowest first: a module may import its own layer and the ones before it.
LAYERS = ("settings", "db", "auth", "resolvers", "schema", "web")
TOP = ("app", "cli")
RANK = {name: rank for rank, name in enumerate(LAYERS)} | {name: len(LAYERS) for name in TOP}
# Migrations are scripts alembic loads by path, each frozen at the revision it was written for.
SKIPPED = ("db/migrations/versions",)


def modules(layer: str) -> list[Path]:
    if layer == "settings":
        return [ROOT / "settings.py"]
    return sorted(
        path
        for path in (ROOT / layer).rglob("*.py")
        if not any(path.relative_to(ROOT).as_posix().startswith(skipped) for skipped in SKIPPED)
    )


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path) -> Iterator[tuple[int, str]]:
    """``(line, dotted name)`` of every first-party module or name ``path`` imports."""
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            names = [f"{module}.{alias.name}" if module else alias.name for alias in node.names]
        else:
            continue
        for name in names:
            if name.split(".")[0] in RANK:
                yield node.lineno, name


def package_of(name: str) -> str:
    return name.split(".")[0]


def package_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {layer: set() for layer in LAYERS}
    for layer in LAYERS:
        for path in modules(layer):
            graph[layer] |= {package_of(name) for _, name in imported(path)} - {layer}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a path that ends where it starts, or ``None``."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return None
        for successor in sorted(graph.get(node, ())):
            cycle = visit(successor, [*path, node])
            if cycle is not None:
                return cycle
        done.add(node)
        return None

    for node in sorted(graph):
        cycle = visit(node, [])
        if cycle is not None:
            return cycle
    return None


@pytest.mark.parametrize("layer", LAYERS)
def test_no_module_imports_a_higher_layer(layer: str) -> None:
    found = modules(layer)
    assert found, f"no modules found for {layer}"
    upward = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in found
        for line, name in imported(path)
        if RANK[package_of(name)] > RANK[layer]
    ]
    assert upward == [], f"{layer} must not depend on the layers above it:\n" + "\n".join(upward)


def test_the_packages_import_graph_has_no_cycles() -> None:
    graph = package_graph()
    assert find_cycle(graph) is None, " → ".join(find_cycle(graph) or [])


def module_graph(layer: str) -> dict[str, set[str]]:
    """Which of the layer's own modules each of its modules imports."""
    own = {module_name(path) for path in modules(layer)}

    def containing(name: str) -> str:
        # ``from db.tables import User`` names ``db.tables.User``: count the module it is in.
        while name not in own and "." in name:
            name = name.rpartition(".")[0]
        return name

    return {
        module_name(path): {containing(name) for _, name in imported(path)} & own - {module_name(path)}
        for path in modules(layer)
    }


@pytest.mark.parametrize("layer", ["db", "auth"])
def test_the_lower_layers_have_no_import_cycles_between_their_modules(layer: str) -> None:
    """Below the business code, a cycle is a parameter missing: pass what is needed instead."""
    graph = module_graph(layer)
    assert find_cycle(graph) is None, " → ".join(find_cycle(graph) or [])


def test_the_cycle_finder_finds_cycles() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None
