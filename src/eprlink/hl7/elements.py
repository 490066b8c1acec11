"""Read-only views of one field, repetition, component or subcomponent over its raw text."""

from __future__ import annotations

from eprlink.hl7.delimiters import Delimiters
from eprlink.hl7.escape import Formatting, unescape

__all__ = ["NULL", "Component", "Element", "Field", "Repetition", "Subcomponent", "value_of"]

NULL = '""'
"""The explicit HL7 null as written in a message: it deletes a stored value (UK rule)."""


def value_of(
    raw: str | None,
    delimiters: Delimiters,
    charset: str = "utf-8",
    *,
    strict: bool = False,
    formatting: Formatting = Formatting.KEEP,
) -> str | None:
    """Three-state reading of raw text: ``None`` absent, ``""`` explicit null, else unescaped."""
    if not raw:
        return None
    if raw == NULL:
        return ""
    if delimiters.escape not in raw:
        return raw
    return unescape(raw, delimiters, strict=strict, formatting=formatting, charset=charset)


class Element:
    """Common behaviour of the four element levels.

    Views are snapshots: they are made on demand from the segment's text and never hold more
    than the slice they describe. Edits go through :class:`~eprlink.hl7.message.Message` or
    :class:`~eprlink.hl7.segment.Segment`, which escape what they write.
    """

    __slots__ = ("_charset", "_delimiters", "_raw")

    def __init__(self, raw: str, delimiters: Delimiters, charset: str = "utf-8") -> None:
        self._raw = raw
        self._delimiters = delimiters
        self._charset = charset

    @property
    def raw(self) -> str:
        """The text exactly as it stands in the message, escape sequences included."""
        return self._raw

    @property
    def value(self) -> str | None:
        """``None`` when absent, ``""`` for the explicit null, otherwise the unescaped text."""
        return value_of(self._raw, self._delimiters, self._charset)

    @property
    def is_null(self) -> bool:
        return self._raw == NULL

    @property
    def is_absent(self) -> bool:
        return not self._raw

    def _parts(self, separator: str | None) -> list[str]:
        if separator is None:
            return [self._raw]
        return self._raw.split(separator)

    def __str__(self) -> str:
        return self.value or ""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {len(self._raw)} chars>"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Element):
            return type(self) is type(other) and self._raw == other._raw
        return NotImplemented

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._raw))


class Subcomponent(Element):
    """The leaf level."""

    __slots__ = ()


class Component(Element):
    __slots__ = ()

    @property
    def subcomponents(self) -> list[Subcomponent]:
        d = self._delimiters
        return [Subcomponent(p, d, self._charset) for p in self._parts(d.subcomponent)]

    def subcomponent(self, position: int) -> Subcomponent:
        """1-based; a position past the end is an absent subcomponent."""
        parts = self._parts(self._delimiters.subcomponent)
        raw = parts[position - 1] if 0 < position <= len(parts) else ""
        return Subcomponent(raw, self._delimiters, self._charset)


class Repetition(Element):
    __slots__ = ()

    @property
    def components(self) -> list[Component]:
        d = self._delimiters
        return [Component(p, d, self._charset) for p in self._raw.split(d.component)]

    def component(self, position: int) -> Component:
        """1-based; a position past the end is an absent component."""
        parts = self._raw.split(self._delimiters.component)
        raw = parts[position - 1] if 0 < position <= len(parts) else ""
        return Component(raw, self._delimiters, self._charset)


class Field(Element):
    __slots__ = ()

    @property
    def repetitions(self) -> list[Repetition]:
        """An absent field has no repetitions; a present one has at least one."""
        if not self._raw:
            return []
        d = self._delimiters
        return [Repetition(p, d, self._charset) for p in self._raw.split(d.repetition)]

    def repetition(self, position: int) -> Repetition:
        """1-based; a position past the end is an absent repetition."""
        parts = self._raw.split(self._delimiters.repetition)
        raw = parts[position - 1] if 0 < position <= len(parts) else ""
        return Repetition(raw, self._delimiters, self._charset)

    def component(self, position: int) -> Component:
        """Component of the first repetition, the common case for non-repeating fields."""
        return self.repetition(1).component(position)
