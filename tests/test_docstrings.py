"""Every module of the project opens with a docstring saying what it is for."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def project_modules() -> list[Path]:
    # Hidden folders hold no project code: .venv, .git, and what bench/ installs from npm
    # (bench/.postgraphile/, whose Node package ships Python scripts of its own).
    return sorted(
        path
        for path in ROOT.rglob("*.py")
        if not any(part.startswith(".") for part in path.relative_to(ROOT).parts[:-1])
    )


def test_the_project_has_modules_to_check() -> None:
    found = {path.relative_to(ROOT).as_posix() for path in project_modules()}
    assert {"app.py", "db/reads.py", "schema/schema.py", "tests/conftest.py"} <= found


def test_every_module_opens_with_a_docstring() -> None:
    missing = [
        path.relative_to(ROOT).as_posix()
        for path in project_modules()
        if not (ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or "").strip()
    ]
    assert missing == [], f"modules without a docstring: {missing}"
