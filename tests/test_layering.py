"""The import contract of docs/design.md, checked on the source tree (no imports executed)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "eprlink"
IO_MODULES = {"asyncio", "socket", "ssl", "selectors", "sqlite3", "psycopg", "uvloop"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _modules(package: str) -> list[Path]:
    base = SRC / package
    if base.is_file():
        return [base]
    return sorted(base.rglob("*.py")) if base.exists() else []


@pytest.mark.parametrize("package", ["hl7", "mllp/framing.py", "profiles", "fhir", "errors.py"])
def test_pure_layers_do_no_io(package: str) -> None:
    for module in _modules(package):
        for name in _imports(module):
            root = name.split(".")[0]
            assert root not in IO_MODULES, f"{module} imports {name}"
            assert not name.startswith(("eprlink.engine", "eprlink.store", "eprlink.cli")), (
                f"{module} imports {name}"
            )


def test_hl7_and_framing_are_independent() -> None:
    for module in _modules("hl7"):
        assert not any(n.startswith("eprlink.mllp") for n in _imports(module)), module
    for module in _modules("mllp"):
        assert not any(n.startswith("eprlink.hl7") for n in _imports(module)), module


def test_errors_module_imports_nothing_of_eprlink() -> None:
    assert not any(n.startswith("eprlink") for n in _imports(SRC / "errors.py"))


def test_only_cli_runs_asyncio_and_reads_argv() -> None:
    for module in SRC.rglob("*.py"):
        if "cli" in module.relative_to(SRC).parts:
            continue
        text = module.read_text(encoding="utf-8")
        assert "asyncio.run(" not in text, module
        assert "sys.argv" not in text, module
        assert "logging.basicConfig" not in text, module
