"""One segment: its raw text, split into fields only when a field is first touched."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from eprlink.hl7.delimiters import Delimiters
from eprlink.hl7.elements import NULL, Field, value_of
from eprlink.hl7.errors import PathError
from eprlink.hl7.escape import escape
from eprlink.hl7.scan import descend, field_text, part

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["HEADER_SEGMENTS", "Segment"]

HEADER_SEGMENTS = frozenset({"MSH", "BHS", "FHS"})
"""Segments whose field 1 is the field separator itself and field 2 the encoding characters."""

_SCAN_LIMIT = 12


class _Owner(Protocol):
    @property
    def charset(self) -> str: ...

    def _segment_changed(self) -> None: ...


def _replace_part(text: str, separator: str | None, position: int, value: str) -> str:
    """Put ``value`` at 1-based ``position`` of ``text`` split on ``separator``, padding."""
    if separator is None:
        if position != 1:
            raise PathError("this message declares no subcomponent separator")
        return value
    parts = text.split(separator)
    if position > len(parts):
        parts.extend([""] * (position - len(parts)))
    parts[position - 1] = value
    return separator.join(parts)


class Segment:
    """A segment of a message.

    The text is kept as received; fields are split once, on first access, so a message that is
    only routed never pays for field splitting. Unknown and Z segments behave like any other.
    """

    __slots__ = ("_charset", "_delimiters", "_fields", "_owner", "_text")

    def __init__(
        self,
        text: str,
        delimiters: Delimiters,
        *,
        charset: str | None = None,
        owner: _Owner | None = None,
    ) -> None:
        if owner is None and ("\r" in text or "\n" in text):
            raise PathError("a segment cannot contain a segment terminator")
        self._text: str | None = text
        self._fields: list[str] | None = None
        self._delimiters = delimiters
        self._charset = charset
        self._owner = owner

    @classmethod
    def build(
        cls, segment_id: str, fields: Sequence[str | None], delimiters: Delimiters
    ) -> Segment:
        """A new segment from field values (escaped on write; ``""`` writes the explicit null)."""
        parts = [segment_id]
        for value in fields:
            parts.append(_encode(value, delimiters))
        return cls(delimiters.field.join(parts), delimiters)

    # -- reading -------------------------------------------------------------------------------
    def _split(self) -> list[str]:
        fields = self._fields
        if fields is None:
            assert self._text is not None
            fields = self._fields = self._text.split(self._delimiters.field)
        return fields

    @property
    def id(self) -> str:
        text = self._text
        if text is not None:
            cut = text.find(self._delimiters.field)
            return text if cut < 0 else text[:cut]
        return self._split()[0]

    @property
    def is_header(self) -> bool:
        return self._is_header()

    @property
    def delimiters(self) -> Delimiters:
        return self._delimiters

    @property
    def charset(self) -> str:
        """The codec for ``\\X…\\`` escapes: the owning message's, else UTF-8."""
        if self._charset is None:
            self._charset = self._owner.charset if self._owner is not None else "utf-8"
        return self._charset

    def _index(self, field: int) -> int:
        return field - 1 if self._is_header() else field

    def _field_text(self, index: int) -> str | None:
        """Raw text of the field at list index ``index`` (``None`` past the end).

        Low-numbered fields of an unsplit segment are found by scanning for separators, which
        is cheaper than splitting the whole segment when only a few fields are read once.
        """
        fields = self._fields
        if fields is None:
            text = self._text
            assert text is not None
            if index <= _SCAN_LIMIT:
                return field_text(text, 0, len(text), self._delimiters.field, index)
            fields = self._split()
        return fields[index] if index < len(fields) else None

    def raw(
        self,
        field: int,
        repetition: int | None = None,
        component: int | None = None,
        subcomponent: int | None = None,
    ) -> str | None:
        """The still-escaped text at a position, or ``None`` when absent or empty.

        Without ``repetition`` the whole field is meant, unless a component is named, in which
        case the first repetition is (``PID-3.1`` reads the first identifier).
        """
        if self._is_header():
            if field <= 2:
                if repetition is not None or component is not None:
                    return None
                if field == 1:
                    return self._delimiters.field
                return self._field_text(1) or None
            text = self._field_text(field - 1)
        else:
            text = self._field_text(field)
        if not text:
            return None
        if repetition is None and component is None:
            return text
        return descend(text, self._delimiters, repetition, component, subcomponent)

    def _is_header(self) -> bool:
        text = self._text
        if text is not None:
            return text[:3] in HEADER_SEGMENTS and (
                len(text) == 3 or text[3] == self._delimiters.field
            )
        return self._split()[0] in HEADER_SEGMENTS

    def get(
        self,
        field: int,
        repetition: int | None = None,
        component: int | None = None,
        subcomponent: int | None = None,
    ) -> str | None:
        """``None`` absent, ``""`` explicit null, otherwise the unescaped text."""
        if field <= 2 and self.is_header:
            return self.raw(field, repetition, component, subcomponent)
        raw = self.raw(field, repetition, component, subcomponent)
        if raw and self._delimiters.escape in raw:
            return value_of(raw, self._delimiters, self.charset)
        return value_of(raw, self._delimiters)

    def field(self, field: int) -> Field:
        """A view of one field (absent fields give an empty view)."""
        return Field(self.raw(field) or "", self._delimiters, self.charset)

    def __len__(self) -> int:
        """The number of the last field present (trailing empty fields count: they were sent)."""
        fields = self._split()
        return len(fields) if self._is_header() else len(fields) - 1

    def to_er7(self) -> str:
        text = self._text
        if text is None:
            text = self._text = self._delimiters.field.join(self._split())
        return text

    def __str__(self) -> str:
        return self.to_er7()

    def __repr__(self) -> str:
        return f"<Segment {self.id} {len(self)} fields>"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Segment):
            return self.to_er7() == other.to_er7()
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.to_er7())

    # -- editing -------------------------------------------------------------------------------
    def set(
        self,
        field: int,
        value: str | None,
        repetition: int | None = None,
        component: int | None = None,
        subcomponent: int | None = None,
    ) -> None:
        """Write a value, escaping delimiters; ``""`` writes the explicit null, ``None`` empties."""
        self.set_raw(field, _encode(value, self._delimiters), repetition, component, subcomponent)

    def set_raw(
        self,
        field: int,
        raw: str,
        repetition: int | None = None,
        component: int | None = None,
        subcomponent: int | None = None,
    ) -> None:
        """Write already-encoded text, which may carry lower-level delimiters but no higher ones."""
        d = self._delimiters
        fields = self._split()
        if field < 1:
            raise PathError("field positions are 1-based")
        if fields[0] in HEADER_SEGMENTS and field <= 2:
            raise PathError(f"{fields[0]}-{field} holds the delimiters and cannot be edited")
        forbidden = [d.field, "\r", "\n"]
        if repetition is not None or component is not None:
            forbidden.append(d.repetition)
        if component is not None:
            forbidden.append(d.component)
        if subcomponent is not None and d.subcomponent is not None:
            forbidden.append(d.subcomponent)
        if any(ch in raw for ch in forbidden):
            raise PathError("value carries a delimiter of its own level or above; escape it")
        index = self._index(field)
        if index >= len(fields):
            fields.extend([""] * (index + 1 - len(fields)))
        if repetition is None and component is None:
            fields[index] = raw
        else:
            rep_text = part(fields[index], d.repetition, repetition or 1) or ""
            if component is not None:
                comp_text = part(rep_text, d.component, component) or ""
                if subcomponent is not None:
                    comp_text = _replace_part(comp_text, d.subcomponent, subcomponent, raw)
                else:
                    comp_text = raw
                rep_text = _replace_part(rep_text, d.component, component, comp_text)
            else:
                rep_text = raw
            fields[index] = _replace_part(fields[index], d.repetition, repetition or 1, rep_text)
        self._text = None
        if self._owner is not None:
            self._owner._segment_changed()


def _encode(value: str | None, delimiters: Delimiters) -> str:
    if value is None:
        return ""
    if value in ("", NULL):
        return NULL
    return escape(value, delimiters)
