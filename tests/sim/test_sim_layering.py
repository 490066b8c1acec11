"""The simulator plays the other side of the wire: it never imports the engine or the store."""

from __future__ import annotations

import ast
from pathlib import Path

SIM = Path(__file__).resolve().parents[2] / "src" / "eprlink" / "sim"
FORBIDDEN = ("eprlink.engine", "eprlink.store", "eprlink.cli", "eprlink.web")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module if node.level == 0 else "." * node.level + node.module)
    return names


def test_sim_does_not_import_engine_or_store() -> None:
    modules = sorted(SIM.rglob("*.py"))
    assert len(modules) > 10
    for module in modules:
        for name in _imports(module):
            assert not name.startswith(FORBIDDEN), f"{module.relative_to(SIM)} imports {name}"
            assert not name.startswith("."), f"{module.relative_to(SIM)}: relative import {name}"


def test_sim_uses_public_names_of_eprlink_packages() -> None:
    """Only package-level names, or modules that declare a public API (no ``_private``)."""
    for module in sorted(SIM.rglob("*.py")):
        tree = ast.parse(module.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("eprlink."):
                assert all(not alias.name.startswith("_") for alias in node.names), module
                assert "._" not in (node.module or ""), module
