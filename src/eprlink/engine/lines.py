"""Where each key of a TOML file is written, so configuration errors can name the line.

``tomllib`` returns values without positions. This scanner reads the text once and records the
line of every table header and ``key =`` assignment under its full path, with array-of-tables
elements numbered as ``tomllib`` numbers them (``("channels", 0, "destinations", 1, "kind")``).
Keys inside inline tables and multi-line values map to the line of the key that holds them.
"""

from __future__ import annotations

import re

__all__ = ["KeyPath", "LineIndex"]

KeyPath = tuple[str | int, ...]

_TOML_ERROR_LINE = re.compile(r"at line (\d+)")


def _split_key(text: str) -> list[str]:
    """``a."b.c".d`` as ``["a", "b.c", "d"]``."""
    parts: list[str] = []
    current: list[str] = []
    quote: str | None = None
    for ch in text:
        if quote is not None:
            if ch == quote:
                quote = None
            else:
                current.append(ch)
        elif ch in "\"'":
            quote = ch
        elif ch == ".":
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    parts.append("".join(current).strip())
    return parts


def _key_part(line: str) -> str | None:
    """The text before the ``=`` of an assignment (outside quotes), or None."""
    quote: str | None = None
    for index, ch in enumerate(line):
        if quote is not None:
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "=":
            return line[:index]
    return None


def _value_state(value: str) -> tuple[int, str | None]:
    """Bracket depth change of a value and an unclosed multi-line string delimiter, if any."""
    depth = 0
    index = 0
    length = len(value)
    while index < length:
        if value.startswith(('"""', "'''"), index):
            delimiter = value[index : index + 3]
            end = value.find(delimiter, index + 3)
            if end < 0:
                return depth, delimiter
            index = end + 3
            continue
        ch = value[index]
        if ch in "\"'":
            end = index + 1
            while end < length and value[end] != ch:
                end += 2 if ch == '"' and value[end] == "\\" else 1
            index = end + 1
            continue
        if ch == "#":
            break
        if ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        index += 1
    return depth, None


class LineIndex:
    """Line numbers (1-based) of the keys and tables of one TOML text."""

    def __init__(self, text: str) -> None:
        self._lines: dict[KeyPath, int] = {}
        self._counts: dict[KeyPath, int] = {}
        self._scan(text)

    @staticmethod
    def of_decode_error(message: str) -> int | None:
        """The line ``tomllib`` names in a syntax error message."""
        found = _TOML_ERROR_LINE.search(message)
        return int(found.group(1)) if found else None

    def line(self, path: KeyPath) -> int | None:
        """The line of ``path``, else of its nearest ancestor that has one."""
        for cut in range(len(path), 0, -1):
            found = self._lines.get(path[:cut])
            if found is not None:
                return found
        return None

    def _resolve(self, names: list[str]) -> KeyPath:
        path: KeyPath = ()
        for name in names:
            path = (*path, name)
            count = self._counts.get(path)
            if count is not None:
                path = (*path, count - 1)
        return path

    def _scan(self, text: str) -> None:
        table: KeyPath = ()
        depth = 0
        multiline: str | None = None
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            if multiline is not None:
                if multiline in line:
                    rest = line.split(multiline, 1)[1]
                    change, multiline = _value_state(rest)
                    depth += change
                continue
            if depth > 0:
                change, multiline = _value_state(line)
                depth += change
                continue
            if not line or line.startswith("#"):
                continue
            if line.startswith("[["):
                names = _split_key(line[2 : line.find("]]")])
                key = (*self._resolve(names[:-1]), names[-1])
                self._counts[key] = self._counts.get(key, 0) + 1
                table = (*key, self._counts[key] - 1)
                self._lines.setdefault(key, number)
                self._lines[table] = number
                continue
            if line.startswith("["):
                table = self._resolve(_split_key(line[1 : line.find("]")]))
                self._lines.setdefault(table, number)
                continue
            key_text = _key_part(line)
            if key_text is None:
                continue
            path = table
            for name in _split_key(key_text):
                path = (*path, name)
                self._lines.setdefault(path, number)
            change, multiline = _value_state(line[len(key_text) + 1 :])
            depth += change
