"""The standard's message-structure notation (``MSH EVN PID [PD1] [{PROCEDURE: PR1 [{ROL}]}]``).

Layer files write structures the way the HL7 chapters print them, so a reviewer can compare a
line with the standard; this module turns that text into :class:`StructureNode` trees.
``[x]`` is optional, ``{x}`` repeats, ``[{x}]`` both; a bracket holding several items, or one
that starts with ``NAME:``, is a group (unnamed ones are named after their first segment).
"""

from __future__ import annotations

import re

from eprlink.profiles.errors import ProfileError
from eprlink.profiles.model import StructureNode

__all__ = ["parse_structure"]

_TOKEN = re.compile(r"\s*([\[\]{}]|[A-Z][A-Z0-9_]*:|[A-Z][A-Z0-9]{2}\b)")


def _tokens(text: str) -> list[str]:
    tokens: list[str] = []
    position = 0
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            snippet = text[position : position + 12]
            raise ProfileError(f"structure notation: unexpected text at {position}: {snippet!r}")
        tokens.append(match.group(1))
        position = match.end()
        while position < len(text) and text[position].isspace():
            position += 1
    return tokens


_CLOSE = {"[": "]", "{": "}"}
_CARDINALITY = {"[": (0, 1), "{": (1, None)}


class _Reader:
    def __init__(self, tokens: list[str], source: str) -> None:
        self.tokens = tokens
        self.position = 0
        self.source = source
        self.groups = 0

    def error(self, what: str) -> ProfileError:
        return ProfileError(f"structure notation {self.source!r}: {what}")

    def sequence(self, closing: str | None) -> tuple[str | None, list[StructureNode]]:
        name: str | None = None
        items: list[StructureNode] = []
        if self.position < len(self.tokens) and self.tokens[self.position].endswith(":"):
            name = self.tokens[self.position][:-1]
            self.position += 1
        while self.position < len(self.tokens):
            token = self.tokens[self.position]
            if token == closing:
                self.position += 1
                return name, items
            if token in ("]", "}"):
                raise self.error(f"unexpected {token!r}")
            self.position += 1
            if token in _CLOSE:
                inner_name, inner = self.sequence(_CLOSE[token])
                low, high = _CARDINALITY[token]
                if not inner:
                    raise self.error("empty brackets")
                if inner_name is None and len(inner) == 1:
                    # [x] and {x} change the cardinality of x itself, so [{x}] is 0..n.
                    only = inner[0]
                    items.append(
                        StructureNode(
                            only.name, low * only.min, _times(high, only.max), only.children
                        )
                    )
                else:
                    self.groups += 1
                    label = inner_name or f"{inner[0].name}_GROUP_{self.groups}"
                    items.append(StructureNode(label, low, high, tuple(inner)))
            elif token.endswith(":"):
                raise self.error("a group name must follow an opening bracket")
            else:
                items.append(StructureNode(token))
        if closing is not None:
            raise self.error(f"missing {closing!r}")
        return name, items


def _times(a: int | None, b: int | None) -> int | None:
    return None if a is None or b is None else a * b


def parse_structure(text: str) -> tuple[StructureNode, ...]:
    """Parse structure notation; raises :class:`ProfileError` naming what is wrong."""
    reader = _Reader(_tokens(text), text)
    name, items = reader.sequence(None)
    if name is not None:
        raise reader.error("a group name must follow an opening bracket")
    if not items:
        raise reader.error("no segments")
    return tuple(items)
