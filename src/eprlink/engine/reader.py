"""A checked view of one TOML table: typed reads that report problems with file, line and key.

Every read records the key as known, so :meth:`Table.finish` can report misspelt keys with the
list of keys that table accepts. Reads never raise: a bad value is reported and the default is
returned, so one pass finds every problem in the file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

from eprlink.engine.errors import ConfigProblem
from eprlink.engine.lines import KeyPath, LineIndex
from eprlink.engine.values import parse_duration, parse_size

__all__ = ["Context", "Table", "show_path"]

E = TypeVar("E", bound=StrEnum)
_MISSING: Any = object()
_FOUND_LIMIT = 60


def show_path(path: KeyPath) -> str:
    """``("channels", 0, "source", "port")`` as ``channels[0].source.port``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def describe(value: object) -> str:
    """A short, quoted rendering of a found value for an error message."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
    elif isinstance(value, int | float):
        text = str(value)
    elif isinstance(value, list):
        text = "an array"
    elif isinstance(value, dict):
        text = "a table"
    else:
        text = type(value).__name__
    return text if len(text) <= _FOUND_LIMIT else text[: _FOUND_LIMIT - 1] + "…"


class Context:
    """What every table of one file shares: its name, line index, base directory, problems."""

    def __init__(
        self, file: str, lines: LineIndex, base_dir: Path, environ: Mapping[str, str]
    ) -> None:
        self.file = file
        self.lines = lines
        self.base_dir = base_dir
        self.environ = environ
        self.problems: list[ConfigProblem] = []

    def report(self, path: KeyPath, expected: str, found: str | None = None) -> None:
        self.problems.append(
            ConfigProblem(self.file, self.lines.line(path), show_path(path), expected, found)
        )


class Table:
    """One table of the file at ``path``."""

    def __init__(self, context: Context, data: Mapping[str, Any], path: KeyPath) -> None:
        self.context = context
        self.data = data
        self.path = path
        self._known: list[str] = []

    def has(self, key: str) -> bool:
        if key not in self._known:
            self._known.append(key)
        return key in self.data

    def _get(self, key: str) -> Any:
        self.has(key)
        return self.data.get(key, _MISSING)

    def report(self, key: str | None, expected: str, found: str | None = None) -> None:
        path = self.path if key is None else (*self.path, key)
        self.context.report(path, expected, found)

    def _bad(self, key: str, expected: str, value: object) -> None:
        self.report(key, expected, describe(value))

    def required(self, key: str, expected: str) -> Any:
        value = self._get(key)
        if value is _MISSING:
            self.report(key, expected, "nothing (the key is required)")
            return None
        return value

    def string(self, key: str, default: str, *, expected: str = "a string") -> str:
        value = self._get(key)
        if value is _MISSING:
            return default
        if not isinstance(value, str) or not value:
            self._bad(key, expected, value)
            return default
        return value

    def required_string(self, key: str, expected: str) -> str:
        value = self.required(key, expected)
        if value is None:
            return ""
        if not isinstance(value, str) or not value:
            self._bad(key, expected, value)
            return ""
        return value

    def optional_string(self, key: str, *, expected: str = "a string") -> str | None:
        value = self._get(key)
        if value is _MISSING:
            return None
        if not isinstance(value, str) or not value:
            self._bad(key, expected, value)
            return None
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self._get(key)
        if value is _MISSING:
            return default
        if not isinstance(value, bool):
            self._bad(key, "true or false", value)
            return default
        return value

    def integer(
        self, key: str, default: int, *, minimum: int = 0, maximum: int | None = None
    ) -> int:
        value = self._get(key)
        if value is _MISSING:
            return default
        return self._check_integer(key, value, default, minimum, maximum)

    def required_integer(self, key: str, *, minimum: int = 0, maximum: int | None = None) -> int:
        value = self.required(key, _integer_expectation(minimum, maximum))
        return 0 if value is None else self._check_integer(key, value, 0, minimum, maximum)

    def _check_integer(
        self, key: str, value: object, default: int, minimum: int, maximum: int | None
    ) -> int:
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or value < minimum
            or (maximum is not None and value > maximum)
        ):
            self._bad(key, _integer_expectation(minimum, maximum), value)
            return default
        return value

    def number(self, key: str, default: float, *, minimum: float, below: float) -> float:
        value = self._get(key)
        if value is _MISSING:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            self._bad(key, f"a number from {minimum:g} to below {below:g}", value)
            return default
        if not minimum <= value < below:
            self._bad(key, f"a number from {minimum:g} to below {below:g}", value)
            return default
        return float(value)

    def duration(self, key: str, default: float, *, allow_zero: bool = False) -> float:
        value = self._get(key)
        if value is _MISSING:
            return default
        seconds = parse_duration(value) if isinstance(value, str) else None
        if seconds is None or (seconds <= 0 and not allow_zero):
            self._bad(key, 'a duration such as "500ms", "30s", "5m", "2h" or "7d"', value)
            return default
        return seconds

    def optional_duration(self, key: str, default: float | None) -> float | None:
        """A duration, or ``"off"`` for none."""
        value = self._get(key)
        if value is _MISSING:
            return default
        if value == "off" or value is False:
            return None
        seconds = parse_duration(value) if isinstance(value, str) else None
        if seconds is None or seconds <= 0:
            self._bad(key, 'a duration such as "90d", or "off"', value)
            return default
        return seconds

    def size(self, key: str, default: int) -> int:
        value = self._get(key)
        if value is _MISSING:
            return default
        size = parse_size(value)
        if size is None or size < 1:
            self._bad(key, 'a size in bytes, such as 65536, "512KiB" or "16MiB"', value)
            return default
        return size

    def choice(self, key: str, kind: type[E], default: E, *, exclude: tuple[E, ...] = ()) -> E:
        allowed = [member for member in kind if member not in exclude]
        value = self._get(key)
        if value is _MISSING:
            return default
        if isinstance(value, str) and value in {m.value for m in allowed}:
            return kind(value)
        self._bad(key, "one of " + ", ".join(f'"{m.value}"' for m in allowed), value)
        return default

    def strings(self, key: str, default: tuple[str, ...], *, expected: str) -> tuple[str, ...]:
        value = self._get(key)
        if value is _MISSING:
            return default
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            self._bad(key, expected, value)
            return default
        return tuple(value)

    def path_value(self, key: str, *, must_exist: bool = False) -> Path | None:
        """A path; relative ones are relative to the configuration file's directory."""
        text = self.optional_string(key, expected="a path")
        if text is None:
            return None
        path = Path(text)
        if not path.is_absolute():
            path = self.context.base_dir / path
        if must_exist and not path.exists():
            self.report(key, "an existing file", describe(text) + " (not found)")
        return path

    def table(self, key: str) -> Table | None:
        value = self._get(key)
        if value is _MISSING:
            return None
        if not isinstance(value, dict):
            self._bad(key, "a table", value)
            return None
        return Table(self.context, value, (*self.path, key))

    def tables(self, key: str) -> list[Table]:
        value = self._get(key)
        if value is _MISSING:
            return []
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            self._bad(key, f"an array of tables ([[{show_path((*self.path, key))}]])", value)
            return []
        return [Table(self.context, v, (*self.path, key, i)) for i, v in enumerate(value)]

    def finish(self) -> None:
        """Report keys this table does not accept (usually misspellings)."""
        known = ", ".join(self._known)
        for key in self.data:
            if key not in self._known:
                self.report(key, f"one of the keys {known}", f'unknown key "{key}"')


def _integer_expectation(minimum: int, maximum: int | None) -> str:
    if maximum is None:
        return f"an integer of at least {minimum}"
    return f"an integer from {minimum} to {maximum}"
