"""A parsed HL7 v2 message: segments split at once, everything below on demand."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, Self, TypeVar

from eprlink.hl7.charsets import DEFAULT_CHARSETS, codec_for
from eprlink.hl7.delimiters import Delimiters
from eprlink.hl7.elements import NULL
from eprlink.hl7.errors import PathError
from eprlink.hl7.escape import Formatting, unescape
from eprlink.hl7.path import Path, parse_path
from eprlink.hl7.scan import descend, field_text, find_segment
from eprlink.hl7.segment import HEADER_SEGMENTS, Segment, _encode

__all__ = ["Group", "Leniency", "Message"]

_T = TypeVar("_T", bound="_Typed")


class _Typed(Protocol):
    @classmethod
    def parse(cls, raw: str, delimiters: Delimiters, *, charset: str = ...) -> Self: ...


class Leniency(StrEnum):
    """Departures from the standard that lenient parsing accepted, recorded on the message."""

    LF_TERMINATORS = "lf_terminators"
    CRLF_TERMINATORS = "crlf_terminators"
    EMPTY_SEGMENTS = "empty_segments"
    BOM_STRIPPED = "bom_stripped"
    LEADING_WHITESPACE = "leading_whitespace"
    CHARSET_FALLBACK = "charset_fallback"
    CHARSET_UNSUPPORTED = "charset_unsupported"


@dataclass(frozen=True, slots=True)
class Group:
    """A head segment and the segments that belong to it (each OBR with its OBX and NTE …)."""

    head: Segment
    members: tuple[Segment, ...]

    def segments(self, segment_id: str | None = None) -> list[Segment]:
        return [s for s in self.members if segment_id is None or s.id == segment_id]

    def __iter__(self) -> Iterator[Segment]:
        yield self.head
        yield from self.members


def _segment_id(text: str, field_separator: str) -> str:
    if len(text) == 3 or (len(text) > 3 and text[3] == field_separator):
        return text[:3]
    cut = text.find(field_separator)
    return text if cut < 0 else text[:cut]


class Message:
    """An HL7 v2 message.

    The text is kept as received: unless the message is edited, :meth:`to_er7` returns it
    unchanged, so a message that is only routed round-trips byte for byte. Segments are split
    when the message is parsed; fields, repetitions and components only when they are read.
    Reading follows three states: ``None`` absent, ``""`` explicit null, otherwise the value.
    """

    __slots__ = (
        "_charset",
        "_charset_rule",
        "_delimiters",
        "_ids",
        "_leniencies",
        "_msh",
        "_objects",
        "_raw_segments",
        "_text",
        "_trailing",
    )

    def __init__(
        self,
        segments: list[str] | None,
        delimiters: Delimiters,
        *,
        text: str | None = None,
        trailing_terminator: bool = True,
        charset: str | None = "utf-8",
        charset_table: Mapping[str, str] | None = None,
        default_charset: str = "utf-8",
        leniencies: frozenset[Leniency] = frozenset(),
    ) -> None:
        self._raw_segments = segments
        self._objects: list[Segment | None] | None = None
        self._delimiters = delimiters
        self._text = text
        self._trailing = trailing_terminator
        self._charset = charset
        self._charset_rule = (charset_table, default_charset)
        self._ids: list[str] | None = None
        self._leniencies = leniencies
        self._msh: tuple[str, list[str]] | None = None  # (the text it was split from, fields)

    # -- structure -----------------------------------------------------------------------------
    @property
    def delimiters(self) -> Delimiters:
        return self._delimiters

    @property
    def leniencies(self) -> frozenset[Leniency]:
        """What lenient parsing accepted. Empty segments are noticed when segments are split,
        not during parsing: looking for them in a long text costs more than the parse itself."""
        self._lines()  # splitting records EMPTY_SEGMENTS
        return self._leniencies

    @property
    def charset(self) -> str:
        """The Python codec for this message's text and ``\\X…\\`` escapes.

        For text input it is worked out on first use from MSH-18 (else the configured default),
        so messages that never need it do not pay for it.
        """
        charset = self._charset
        if charset is None:
            table, default = self._charset_rule
            declared = self._declared_charset()
            found = codec_for(declared, table or DEFAULT_CHARSETS) if declared else None
            charset = self._charset = found or default
        return charset

    def _declared_charset(self) -> str | None:
        """MSH-18.1 of the first segment, read from its text when no segment object exists yet.

        Making a :class:`Segment` here would tie it to this message in a reference cycle (the
        segment points back to its owner), so a message that is only encoded would be left to
        the cyclic garbage collector instead of being freed at once.
        """
        objects = self._objects
        segment = objects[0] if objects else None
        if segment is not None:
            return segment.raw(18, 1, 1) or None
        line = self._first_line()
        if line is None:
            return None
        d = self._delimiters
        fs = d.field
        header = line[:3] in HEADER_SEGMENTS and (len(line) == 3 or line[3] == fs)
        found = field_text(line, 0, len(line), fs, 17 if header else 18)
        if not found:
            return None
        return descend(found, d, 1, 1, None)

    def _first_line(self) -> str | None:
        """The text of segment 0 as :meth:`_lines` would give it, without splitting the rest."""
        text = self._text
        if text is None or self._raw_segments is not None:
            lines = self._lines()
            return lines[0] if lines else None
        start = 0
        while text.startswith("\r", start):  # empty segments are dropped when splitting
            start += 1
        if start == len(text):
            return None
        end = text.find("\r", start)
        return text[start:] if end < 0 else text[start:end]

    def _lines(self) -> list[str]:
        """Segment texts, split from the message text on first need (parsing does not split)."""
        lines = self._raw_segments
        if lines is None:
            assert self._text is not None
            lines = self._text.split("\r")
            if lines[-1] == "":
                lines.pop()
            if "" in lines:
                lines = [line for line in lines if line]
                self._leniencies = self._leniencies | {Leniency.EMPTY_SEGMENTS}
            self._raw_segments = lines
        return lines

    def _objs(self) -> list[Segment | None]:
        objects = self._objects
        if objects is None:
            objects = self._objects = [None] * len(self._lines())
        return objects

    def _segment_ids(self) -> list[str]:
        """Segment ids position by position, exactly as the text reads, like the text search."""
        fs = self._delimiters.field
        ids = self._ids = [
            text[:3] if len(text) == 3 or text[3] == fs else _segment_id(text, fs)
            for text in self._lines()
        ]
        return ids

    def _segment(self, position: int) -> Segment:
        segment = self._objs()[position]
        if segment is None:
            segment = Segment(
                self._lines()[position], self._delimiters, charset=self._charset, owner=self
            )
            self._objs()[position] = segment
        return segment

    def _position(self, segment_id: str, repetition: int) -> int | None:
        ids = self._ids or self._segment_ids()
        try:
            if repetition == 1:
                return ids.index(segment_id)
            if repetition == -1:
                return len(ids) - 1 - ids[::-1].index(segment_id)
        except ValueError:
            return None
        positions = [i for i, sid in enumerate(ids) if sid == segment_id]
        if repetition < 0:
            repetition += len(positions) + 1
        if 0 < repetition <= len(positions):
            return positions[repetition - 1]
        return None

    def segment(self, segment_id: str, repetition: int = 1) -> Segment | None:
        """The n-th segment with this id (1-based; -1 is the last), or ``None``."""
        position = self._position(segment_id, repetition)
        return None if position is None else self._segment(position)

    def segments(self, segment_id: str | None = None) -> list[Segment]:
        """All segments in order, or those with one id."""
        if segment_id is None:
            return [self._segment(i) for i in range(len(self._lines()))]
        ids = self._ids or self._segment_ids()
        return [self._segment(i) for i, sid in enumerate(ids) if sid == segment_id]

    def __iter__(self) -> Iterator[Segment]:
        return iter(self.segments())

    def __len__(self) -> int:
        return len(self._lines())

    def groups(
        self,
        head: str,
        *,
        members: Iterable[str] | None = None,
        until: Iterable[str] = (),
    ) -> Iterator[Group]:
        """Each ``head`` segment with the segments after it, up to the next head.

        ``members`` keeps only those ids (others are skipped without ending the group);
        ``until`` ids end a group early. ``groups("OBR", members=("OBX", "NTE"))`` gives each
        order with its results and notes; ``groups("ORC", members=("OBR",))`` each ORC/OBR pair.
        """
        keep = None if members is None else frozenset(members)
        stop = frozenset(until) | {head}
        current: Segment | None = None
        collected: list[Segment] = []
        fs = self._delimiters.field
        for position, text in enumerate(self._lines()):
            sid = _segment_id(text, fs)
            if sid == head or (current is not None and sid in stop):
                if current is not None:
                    yield Group(current, tuple(collected))
                current, collected = None, []
                if sid == head:
                    current = self._segment(position)
                continue
            if current is not None and (keep is None or sid in keep):
                collected.append(self._segment(position))
        if current is not None:
            yield Group(current, tuple(collected))

    # -- reading -------------------------------------------------------------------------------
    def _locate(self, path: str | Path) -> tuple[Segment | None, Path]:
        p = parse_path(path) if isinstance(path, str) else path
        if p.field is None:
            raise PathError(f"path {p} names a segment; use segment() or name a field")
        position = self._position(p.segment, p.segment_repetition)
        if position is None:
            return None, p
        return self._segment(position), p

    def raw(self, path: str | Path) -> str | None:
        """The still-escaped text at ``path``; ``None`` when absent or empty."""
        p = parse_path(path) if isinstance(path, str) else path
        field = p.field
        if field is None:
            raise PathError(f"path {p} names a segment; use segment() or name a field")
        text = self._text
        if text is None:
            segment, _ = self._locate(p)
            if segment is None:
                return None
            return segment.raw(field, p.repetition, p.component, p.subcomponent)
        # Unedited message: search the text itself, no segment objects or splitting needed.
        d = self._delimiters
        fs = d.field
        sid = p.segment
        if sid == "MSH" and field > 2 and p.segment_repetition == 1 and text.startswith(sid):
            # The header is read many times per message (type, trigger, control id, version,
            # ACK mode ...): split it once per text and index it.
            fields = self._header_fields(text)
            found = fields[field] if field < len(fields) else ""
            if not found:
                return None
            return self._descend(found, d, p)
        start = -1
        # The common case, inline: a first occurrence found with one search and no call.
        if p.segment_repetition == 1 and not text.startswith(sid):
            start = text.find("\r" + sid + fs) + 1
            if start:
                end = text.find("\r", start)
                if end < 0:
                    end = len(text)
                # An earlier field-less "PID" segment would come first: rare, check it.
                if text.find("\r" + sid + "\r", 0, start) >= 0:
                    start = -1
            else:
                start = -1
        if start < 0:
            span = find_segment(text, sid, fs, p.segment_repetition)
            if span is None:
                return None
            start, end = span
        if p.segment in HEADER_SEGMENTS:
            if field <= 2:
                if p.repetition is not None or p.component is not None:
                    return None
                return fs if field == 1 else field_text(text, start, end, fs, 1)
            field -= 1
        for _ in range(field):
            start = text.find(fs, start, end) + 1
            if not start:
                return None
        stop = text.find(fs, start, end)
        found = text[start:end] if stop < 0 else text[start:stop]
        if not found:
            return None
        return self._descend(found, d, p)

    def _header_fields(self, text: str) -> list[str]:
        """The MSH of ``text`` (an unedited message's own text, starting with it) split into
        fields numbered as paths number them, split once per text."""
        cache = self._msh
        if cache is None or cache[0] is not text:
            fs = self._delimiters.field
            end = text.find("\r")
            cache = (text, ["MSH", fs, *(text if end < 0 else text[:end]).split(fs)[1:]])
            self._msh = cache
        return cache[1]

    @staticmethod
    def _descend(found: str, d: Delimiters, p: Path) -> str | None:
        """The part of a field's raw text that ``p`` names below field level."""
        component = p.component
        if p.repetition is None and component is None:
            return found
        if component is None or (p.repetition or 1) != 1 or p.subcomponent is not None:
            return descend(found, d, p.repetition, component, p.subcomponent)
        # The common case, a component of the first repetition, inline.
        cut = found.find(d.repetition)
        if cut >= 0:
            found = found[:cut]
        if component == 1:
            cut = found.find(d.component)
            return (found if cut < 0 else found[:cut]) or None
        pieces = found.split(d.component)
        return (pieces[component - 1] or None) if component <= len(pieces) else None

    def raw_fields(self, segment_id: str, repetition: int = 1) -> list[str] | None:
        """Every field of one segment as still-escaped text, split once; ``None`` when absent.

        Item ``n`` is field ``n`` as paths number it: item 0 is the segment id, and for MSH, BHS
        and FHS item 1 is the field separator and item 2 the encoding characters. Empty fields
        are ``""``. For code that reads several fields of one segment (an ACK reads most of
        MSH), this costs one search and one split instead of a search per field.
        """
        fs = self._delimiters.field
        text = self._text
        if text is not None:  # unedited: cut the segment out of the text, no objects made
            if segment_id == "MSH" and repetition == 1 and text.startswith("MSH"):
                return list(self._header_fields(text))  # a copy: callers may change theirs
            span = find_segment(text, segment_id, fs, repetition)
            if span is None:
                return None
            line = text[span[0] : span[1]]
        else:
            position = self._position(segment_id, repetition)
            if position is None:
                return None
            segment = self._objs()[position]
            line = segment.to_er7() if segment is not None else self._lines()[position]
        fields = line.split(fs)
        if segment_id in HEADER_SEGMENTS:
            fields.insert(1, fs)
        return fields

    def get(
        self,
        path: str | Path,
        *,
        strict: bool = False,
        formatting: Formatting = Formatting.KEEP,
    ) -> str | None:
        """``None`` when absent (not sent or empty), ``""`` for the explicit null, else the value.

        A path that names a composite element (``PID-5``) returns its whole text with escape
        sequences decoded, so read composites part by part (``PID-5.1``) or through typed values
        when an escaped delimiter could matter. MSH-1 and MSH-2 are returned literally.
        """
        p = parse_path(path) if isinstance(path, str) else path
        raw = self.raw(p)
        if p.segment in HEADER_SEGMENTS and p.field is not None and p.field <= 2:
            return raw
        if not raw:
            return None
        if raw == NULL:
            return ""
        if self._delimiters.escape not in raw:
            return raw
        return unescape(
            raw, self._delimiters, strict=strict, formatting=formatting, charset=self.charset
        )

    def typed(self, path: str | Path, kind: type[_T]) -> _T | None:
        """The element at ``path`` read as a typed value (``CX``, ``XPN``, ``HL7DateTime`` …).

        ``None`` when absent; the explicit null gives a value whose ``is_null`` is true. A path
        without a repetition reads the first one.
        """
        p = parse_path(path) if isinstance(path, str) else path
        if p.repetition is None and p.component is None and p.field is not None:
            p = Path(p.segment, p.segment_repetition, p.field, 1)
        raw = self.raw(p)
        if raw is None:
            return None
        return kind.parse(raw, self._delimiters, charset=self.charset)

    def __getitem__(self, path: str) -> str | None:
        return self.get(path)

    def __contains__(self, segment_id: object) -> bool:
        if not isinstance(segment_id, str):
            return False
        text = self._text
        if text is not None and self._ids is None:  # unedited: search the text, split nothing
            return find_segment(text, segment_id, self._delimiters.field, 1) is not None
        return segment_id in (self._ids or self._segment_ids())

    # -- header shortcuts ----------------------------------------------------------------------
    @property
    def message_type(self) -> str | None:
        return self.get("MSH-9.1")

    @property
    def trigger_event(self) -> str | None:
        return self.get("MSH-9.2")

    @property
    def structure(self) -> str | None:
        return self.get("MSH-9.3")

    @property
    def control_id(self) -> str | None:
        """MSH-10 exactly as received (escapes kept), the form MSA-2 must echo."""
        return self.raw("MSH-10")

    @property
    def version(self) -> str | None:
        return self.get("MSH-12.1")

    @property
    def processing_id(self) -> str | None:
        return self.get("MSH-11.1")

    # -- editing -------------------------------------------------------------------------------
    def _segment_changed(self) -> None:
        self._text = None

    def _writable(self, path: str | Path) -> tuple[Segment, Path]:
        segment, p = self._locate(path)
        if segment is None:
            raise PathError(f"no segment {p.segment}[{p.segment_repetition}] to write {p} into")
        return segment, p

    def set(self, path: str | Path, value: str | None) -> None:
        """Write a value: delimiters escaped; ``""`` writes the explicit null; ``None`` deletes."""
        self.set_raw(path, _encode(value, self._delimiters))

    def set_raw(self, path: str | Path, raw: str) -> None:
        """Write already-encoded text (for composite values built by the caller)."""
        segment, p = self._writable(path)
        assert p.field is not None
        segment.set_raw(p.field, raw, p.repetition, p.component, p.subcomponent)

    def delete(self, path: str | Path) -> None:
        """Make an element absent (empty). Trailing delimiters stay: nothing is tidied away."""
        self.set_raw(path, "")

    def add_segment(
        self, segment: str | Segment, *, index: int | None = None, after: str | None = None
    ) -> Segment:
        """Insert a segment (appended by default; ``after="PID"`` puts it after the last PID)."""
        text = segment.to_er7() if isinstance(segment, Segment) else segment
        if "\r" in text or "\n" in text or not text:
            raise PathError("a segment must be one non-empty line without terminators")
        new = Segment(text, self._delimiters, charset=self._charset, owner=self)
        if after is not None:
            position = self._position(after, -1)
            if position is None:
                raise PathError(f"no {after} segment to insert after")
            index = position + 1
        if index is None:
            index = len(self._lines())
        if not 0 <= index <= len(self._lines()):
            raise PathError(f"segment index {index} out of range")
        lines, objects = self._lines(), self._objs()
        lines.insert(index, text)
        objects.insert(index, new)
        self._ids = None
        self._text = None
        return new

    def remove_segment(self, segment_id: str, repetition: int = 1) -> None:
        """Remove the n-th segment with this id (the first MSH cannot be removed)."""
        position = self._position(segment_id, repetition)
        if position is None:
            raise PathError(f"no {segment_id}[{repetition}] segment to remove")
        if position == 0:
            raise PathError("the message header cannot be removed")
        lines, objects = self._lines(), self._objs()
        del lines[position]
        del objects[position]
        self._ids = None
        self._text = None

    # -- output --------------------------------------------------------------------------------
    def to_er7(self) -> str:
        """The message text with ``\\r`` terminators; unedited messages come back unchanged."""
        text = self._text
        if text is None:
            parts = [
                obj.to_er7() if obj is not None else raw
                for obj, raw in zip(self._objs(), self._lines(), strict=True)
            ]
            self._raw_segments = parts  # edits folded in
            text = "\r".join(parts) + ("\r" if self._trailing else "")
            self._text = text
        return text

    def to_bytes(self) -> bytes:
        """The text encoded in the message's charset (what would go on the wire)."""
        return self.to_er7().encode(self.charset)

    def __str__(self) -> str:
        return self.to_er7()

    def __repr__(self) -> str:
        kind = "^".join(x for x in (self.message_type, self.trigger_event) if x)
        return f"<Message {kind or '?'} control_id={self.control_id!r} segments={len(self)}>"

    def copy(self) -> Message:
        text = self.to_er7()  # also brings _raw_segments up to date with any edits
        return Message(
            list(self._lines()),
            self._delimiters,
            text=text,
            trailing_terminator=self._trailing,
            charset=self.charset,
            leniencies=self.leniencies,
        )
