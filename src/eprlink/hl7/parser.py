"""Turning text or bytes into a :class:`Message`: header checks, charset, segment split.

For any input whatsoever :func:`parse` either returns a message or raises
:class:`~eprlink.hl7.errors.ParseError`; nothing else escapes it (the fuzz tests hold it to that).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache

from eprlink.errors import ErrorCode
from eprlink.hl7.charsets import DEFAULT_CHARSETS, codec_for
from eprlink.hl7.delimiters import Delimiters
from eprlink.hl7.errors import Location, ParseError
from eprlink.hl7.escape import unescape
from eprlink.hl7.message import Leniency, Message, _segment_id
from eprlink.hl7.segment import HEADER_SEGMENTS

__all__ = ["DEFAULT_MAX_SEGMENTS", "parse"]

DEFAULT_MAX_SEGMENTS = 100_000
_SEGMENT_ID = re.compile(r"[A-Z][A-Z0-9]{2}")
_CONTROL = re.compile(r"[\x00-\x0c\x0e-\x1f\x7f]")
_WHITESPACE = " \t\r\n"
_BOM = "\ufeff"
_NO_LENIENCY: frozenset[Leniency] = frozenset()
_UTF8_BOM = b"\xef\xbb\xbf"
_WHITESPACE_BYTES = _WHITESPACE.encode()


def _delimiter_ok(ch: str) -> bool:
    return "!" <= ch <= "~" and not ch.isalnum()


@lru_cache(maxsize=256)
def _delimiters(field_separator: str, msh2: str) -> Delimiters:
    """Checked delimiters (HD-1, HD-2), cached because feeds reuse one set for ever."""
    if not _delimiter_ok(field_separator):
        raise ParseError(
            "MSH-1 must be a printable, non-alphanumeric ASCII character",
            code=ErrorCode.DATA_TYPE_ERROR,
            location=Location(segment_index=1, segment_id="MSH", field=1, offset=3),
        )
    location = Location(segment_index=1, segment_id="MSH", field=2, offset=4)
    if not 3 <= len(msh2) <= 5:
        raise ParseError(
            f"MSH-2 must hold 3 to 5 encoding characters, found {len(msh2)}",
            code=ErrorCode.DATA_TYPE_ERROR,
            location=location,
        )
    if (
        not all(_delimiter_ok(ch) for ch in msh2)
        or len(set(msh2 + field_separator)) != len(msh2) + 1
    ):
        raise ParseError(
            "MSH-2 encoding characters must be printable, non-alphanumeric, distinct from each "
            "other and from MSH-1",
            code=ErrorCode.DATA_TYPE_ERROR,
            location=location,
        )
    return Delimiters.from_msh2(field_separator, msh2)


def _header(text: str, offset: int) -> tuple[Delimiters, str]:
    """Delimiters and the first segment of a text known to start with ``MSH``."""
    if len(text) < 4 or text[3] in "\r\n":
        raise ParseError(
            "MSH has no field separator",
            code=ErrorCode.DATA_TYPE_ERROR,
            location=Location(segment_index=1, segment_id="MSH", field=1, offset=offset + 3),
        )
    fs = text[3]
    end = text.find("\r", 4)
    if end < 0:
        end = len(text)
    newline = text.find("\n", 4, end)
    if newline >= 0:
        end = newline
    first = text[:end]
    cut = first.find(fs, 4)
    msh2 = first[4:] if cut < 0 else first[4:cut]
    return _delimiters(fs, msh2), first


def _declared_charset(first_segment: str, d: Delimiters) -> str | None:
    if first_segment.count(d.field) < 17:  # no MSH-18: most feeds; counting splits nothing
        return None
    fields = first_segment.split(d.field)
    if len(fields) < 18:
        return None
    value = fields[17].split(d.repetition, 1)[0].split(d.component, 1)[0]
    return value or None


def _location_of_byte(data: bytes, offset: int) -> Location:
    """Segment and field holding a byte, for decoding errors found before any text exists."""
    prefix = data[:offset].replace(b"\r\n", b"\r").replace(b"\n", b"\r")
    start = prefix.rfind(b"\r") + 1
    segment_prefix = prefix[start:]
    segment_id = segment_prefix[:3].decode("ascii", "replace")
    fs = data[3:4] or b"|"
    field = segment_prefix.count(fs)
    if segment_id in HEADER_SEGMENTS:
        field += 1
    return Location(
        segment_index=prefix.count(b"\r") + 1,
        segment_id=segment_id,
        field=field or None,
        offset=offset,
    )


def _location_of_char(text: str, offset: int, fs: str) -> Location:
    start = text.rfind("\r", 0, offset) + 1
    segment_id = _segment_id(text[start : start + 4], fs)
    field = text.count(fs, start, offset)
    if segment_id in HEADER_SEGMENTS:
        field += 1
    return Location(
        segment_index=text.count("\r", 0, start) + 1,
        segment_id=segment_id,
        field=field or None,
        offset=offset,
    )


def _not_er7(offset: int) -> ParseError:
    return ParseError(
        "payload does not start with an MSH segment (unsupported encoding or not ER7 text)",
        code=ErrorCode.SEGMENT_SEQUENCE_ERROR,
        location=Location(segment_index=1, offset=offset),
    )


def _decode(
    data: bytes,
    *,
    encoding: str | None,
    fallback: str | None,
    charsets: Mapping[str, str],
    leniencies: set[Leniency],
) -> tuple[str, str, tuple[Delimiters, str] | None]:
    """The text and its codec, and the header read on the way when the text's own header
    would read the same (an ASCII header line), so that :func:`parse` need not read it again."""
    if data.startswith(_UTF8_BOM):
        data = data[3:]
        leniencies.add(Leniency.BOM_STRIPPED)
    stripped = data.lstrip(_WHITESPACE_BYTES)
    if len(stripped) != len(data):
        leniencies.add(Leniency.LEADING_WHITESPACE)
        data = stripped
    if not data.startswith(b"MSH"):
        raise _not_er7(0)
    cut = data.find(b"\r", 0, 4096)  # the header is all that is read before decoding
    head = data[: 4096 if cut < 0 else cut]
    delimiters, first = _header(head.decode("latin-1"), 0)
    codec = encoding or "utf-8"
    declared = _declared_charset(first, delimiters)
    if declared is not None:
        found = codec_for(declared, charsets)
        if found is None:
            leniencies.add(Leniency.CHARSET_UNSUPPORTED)
        else:
            codec = found
    try:
        text = data.decode(codec)
    except UnicodeError as exc:
        if fallback is not None and fallback != codec:
            try:
                text = data.decode(fallback)
            except (UnicodeError, LookupError):
                pass
            else:
                leniencies.add(Leniency.CHARSET_FALLBACK)
                return text, fallback, None
        raise ParseError(
            f"bytes invalid in the message charset {codec}",
            code=ErrorCode.DATA_TYPE_ERROR,
            location=_location_of_byte(data, exc.start)
            if isinstance(exc, UnicodeDecodeError)
            else None,
        ) from None
    except LookupError:
        raise ParseError(
            f"unknown charset codec {codec!r}", code=ErrorCode.DATA_TYPE_ERROR
        ) from None
    # Every supported codec is ASCII-compatible, so an ASCII header decodes to the same text.
    # A header cut at 4096 bytes is not the whole line: then parse() reads it from the text.
    same = head.isascii() and (cut >= 0 or len(data) <= 4096)
    return text, codec, ((delimiters, first) if same else None)


def parse(
    data: str | bytes | bytearray | memoryview,
    *,
    strict: bool = False,
    encoding: str | None = None,
    fallback: str | None = None,
    charsets: Mapping[str, str] | None = None,
    max_segments: int = DEFAULT_MAX_SEGMENTS,
) -> Message:
    """Parse one HL7 v2 message in ER7 (pipe) encoding.

    Bytes are decoded with the charset MSH-18 names when it is supported, else with
    ``encoding`` (the partner's configured charset), else UTF-8. ``fallback`` is an explicit
    second charset to try when the first fails; without one, undecodable bytes raise. Lenient
    mode (the default for input) accepts ``\\n`` and ``\\r\\n`` terminators, a byte-order mark,
    leading whitespace and empty segments, and records each on ``message.leniencies``; strict
    mode refuses them, and also invalid segment ids, control characters, a second MSH and
    malformed escape sequences.
    """
    leniencies: set[Leniency] = set()
    table = (
        DEFAULT_CHARSETS
        if charsets is None
        else {k.strip().upper(): v for k, v in charsets.items()}
    )
    header: tuple[Delimiters, str] | None = None
    if isinstance(data, str):
        text = data
        codec: str | None = None
    elif isinstance(data, bytes | bytearray | memoryview):
        text, codec, header = _decode(
            bytes(data),
            encoding=encoding,
            fallback=fallback,
            charsets=table,
            leniencies=leniencies,
        )
    else:
        raise ParseError(
            f"cannot parse a {type(data).__name__}; expected str or bytes",
            code=ErrorCode.SEGMENT_SEQUENCE_ERROR,
        )
    if header is not None:
        delimiters, first = header
    elif not text.startswith("MSH"):
        if text.startswith(_BOM):
            text = text[1:]
            leniencies.add(Leniency.BOM_STRIPPED)
        stripped = text.lstrip(_WHITESPACE)
        if len(stripped) != len(text):
            leniencies.add(Leniency.LEADING_WHITESPACE)
            text = stripped
        if not text.startswith("MSH"):
            raise _not_er7(0)
        delimiters, first = _header(text, 0)
    else:
        delimiters, first = _header(text, 0)

    if "\n" in text:
        if "\r\n" in text:
            leniencies.add(Leniency.CRLF_TERMINATORS)
        if "\n" in text.replace("\r\n", ""):
            leniencies.add(Leniency.LF_TERMINATORS)
        text = text.replace("\r\n", "\r").replace("\n", "\r")  # output always uses \r
    # Every segment takes at least four characters, so shorter texts cannot exceed the limit
    # and need no count (counting terminators is a full scan).
    if len(text) >= 4 * max_segments and text.count("\r") >= max_segments:
        count = sum(1 for line in text.split("\r") if line)
        if count > max_segments:
            raise ParseError(
                f"more than {max_segments} segments",
                code=ErrorCode.DATA_TYPE_ERROR,
                location=Location(segment_index=max_segments + 1),
            )
    if strict:
        if codec is None:
            declared = _declared_charset(first, delimiters)
            codec = (codec_for(declared, table) if declared else None) or encoding or "utf-8"
        _check_strict(text, delimiters, leniencies, codec)
    # Segments are split from the text on first need: a message that is only routed, or read
    # through a few paths, never pays for it.
    return Message(
        None,
        delimiters,
        text=text,
        trailing_terminator=text.endswith("\r"),
        charset=codec,
        charset_table=table,
        default_charset=encoding or "utf-8",
        leniencies=frozenset(leniencies) if leniencies else _NO_LENIENCY,
    )


def _check_strict(
    text: str,
    d: Delimiters,
    leniencies: set[Leniency],
    codec: str,
) -> None:
    """Conformance checks that lenient mode leaves to validation (ST-1, EN-1, EN-7, ES-4)."""
    refused = leniencies - {Leniency.CHARSET_UNSUPPORTED}
    if refused:
        names = ", ".join(sorted(x.value for x in refused))
        raise ParseError(
            f"not accepted in strict mode: {names}", code=ErrorCode.SEGMENT_SEQUENCE_ERROR
        )
    control = _CONTROL.search(text)
    if control is not None:
        raise ParseError(
            "control character in message text",
            code=ErrorCode.DATA_TYPE_ERROR,
            location=_location_of_char(text, control.start(), d.field),
        )
    offset = 0
    for position, segment in enumerate(text.rstrip("\r").split("\r"), start=1):
        sid = _segment_id(segment, d.field)
        if not _SEGMENT_ID.fullmatch(sid):
            raise ParseError(
                "segment id must be an upper-case letter and two upper-case letters or digits",
                code=ErrorCode.SEGMENT_SEQUENCE_ERROR,
                location=Location(segment_index=position, offset=offset),
            )
        if sid == "MSH" and position > 1:
            raise ParseError(
                "a second MSH inside one message",
                code=ErrorCode.SEGMENT_SEQUENCE_ERROR,
                location=Location(segment_index=position, segment_id=sid, offset=offset),
            )
        body = segment
        skip = 0
        if sid in HEADER_SEGMENTS:  # MSH-2 holds the escape character literally
            skip = segment.find(d.field, 4)
            body = "" if skip < 0 else segment[skip:]
        if d.escape in body:
            try:
                unescape(body, d, strict=True, charset=codec)
            except ParseError as exc:
                where = offset + max(skip, 0) + (exc.location.offset or 0)
                raise ParseError(
                    exc.reason,
                    code=exc.code,
                    location=_location_of_char(text, where, d.field),
                ) from None
        offset += len(segment) + 1
