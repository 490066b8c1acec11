"""Named SQL statements: ``-- name: x`` sections of a query file shipped with the package."""

from __future__ import annotations

import re
from importlib.resources.abc import Traversable

from eprlink.store.errors import StoreError

__all__ = ["named_statements"]

_NAME = re.compile(r"^--\s*name:\s*(\w+)\s*$")


def named_statements(path: Traversable) -> dict[str, str]:
    """Each ``-- name:`` section of the file, without comments or blank lines.

    Both backends keep their SQL in such files so a reviewer reads SQL, not Python strings.
    """
    found: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        match = _NAME.match(line.strip())
        if match:
            if match.group(1) in found:
                raise StoreError(f"{path.name} names {match.group(1)!r} twice")
            current = found[match.group(1)] = []
        elif current is not None and line.strip() and not line.lstrip().startswith("--"):
            current.append(line)
    return {name: "\n".join(lines) for name, lines in found.items()}
