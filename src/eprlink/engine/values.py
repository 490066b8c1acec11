"""Reading configuration values: durations, sizes, addresses, dotted paths and message patterns."""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from typing import Any

__all__ = [
    "DOTTED_PATH",
    "TYPE_PATTERN",
    "parse_address",
    "parse_duration",
    "parse_size",
    "resolve_callable",
]

_DURATION = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*(ms|s|m|h|d)\s*")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86_400.0}
_SIZE = re.compile(r"\s*([0-9]+)\s*(B|KiB|MiB|GiB|KB|MB|GB)?\s*")
_SIZE_UNITS = {
    None: 1,
    "B": 1,
    "KiB": 1 << 10,
    "MiB": 1 << 20,
    "GiB": 1 << 30,
    "KB": 1000,
    "MB": 1000**2,
    "GB": 1000**3,
}
DOTTED_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][\w.]*")
"""``package.module:function`` (the attribute may be dotted: ``module:Class.method``)."""
TYPE_PATTERN = re.compile(r"[A-Z0-9*?]{1,3}(\^[A-Z0-9*?]{1,3})?|\*")
"""``ADT``, ``ADT^*``, ``ORU^R01``, ``ADT^A0?`` or ``*``."""


def parse_duration(text: str) -> float | None:
    """Seconds for ``"250ms"``, ``"30s"``, ``"5m"``, ``"2h"``, ``"7d"``; None if unreadable."""
    found = _DURATION.fullmatch(text)
    if found is None:
        return None
    return float(found.group(1)) * _DURATION_UNITS[found.group(2)]


def parse_size(value: object) -> int | None:
    """Bytes for an integer or ``"16MiB"``, ``"512KiB"``, ``"1MB"``; None if unreadable."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if not isinstance(value, str):
        return None
    found = _SIZE.fullmatch(value)
    if found is None:
        return None
    return int(found.group(1)) * _SIZE_UNITS[found.group(2)]


def parse_address(text: str) -> tuple[str, int] | None:
    """``"127.0.0.1:9464"`` or ``"[::1]:9464"`` as (host, port); None if unreadable."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not host:
        return None
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    number = int(port)
    return (host, number) if 0 <= number <= 65535 else None


def resolve_callable(path: str) -> Callable[..., Any]:
    """Import ``package.module:function`` and return the function.

    Raises ``ImportError`` or ``AttributeError`` (from the import machinery) or ``TypeError``
    when the target is not callable; the loader turns these into configuration errors.
    """
    module_name, _, attribute = path.partition(":")
    target: Any = importlib.import_module(module_name)
    for part in attribute.split("."):
        target = getattr(target, part)
    if not callable(target):
        raise TypeError(f"{path} is not callable")
    return target  # type: ignore[no-any-return]
