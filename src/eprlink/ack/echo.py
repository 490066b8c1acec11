"""Carrying received header values into a standard-delimiter reply without changing their meaning.

A reply always uses ``|^~\\&`` (2.3), while the message it answers may declare any delimiters
(HD-1). Values echoed from it (MSH-3, MSH-4, MSH-10, MSH-11) must therefore be re-encoded when
the sender's delimiters would make the same text mean something else, and must never be able
to add a field or segment to the reply (HD-8).
"""

from __future__ import annotations

import re

from eprlink.hl7 import DEFAULT_DELIMITERS, NULL, Delimiters, Message, escape, unescape

__all__ = ["control_id_of", "echo_control_id", "echo_field", "salvaged_control_id"]

STANDARD = DEFAULT_DELIMITERS
# Anything that could end a field, a segment or an MLLP frame in the reply.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f|]")
_WHITESPACE = b" \t\r\n"
_BOM = b"\xef\xbb\xbf"
SALVAGE_LIMIT = 65_536


def _leaf(raw: str, d: Delimiters, charset: str) -> str:
    if raw == NULL:
        return raw
    return escape(unescape(raw, d, charset=charset), STANDARD)


def _reencode(raw: str, d: Delimiters, charset: str) -> str:
    """Structure kept, every leaf decoded with the sender's delimiters and encoded with ours."""
    repetitions = []
    for repetition in raw.split(d.repetition):
        components = []
        for component in repetition.split(d.component):
            if d.subcomponent is None:
                components.append(_leaf(component, d, charset))
            else:
                parts = component.split(d.subcomponent)
                components.append("&".join(_leaf(part, d, charset) for part in parts))
        repetitions.append("^".join(components))
    return "~".join(repetitions)


def echo_field(message: Message, path: str) -> str:
    """A field of ``message`` as it must appear in a standard-delimiter reply.

    With standard delimiters the text is copied exactly as received. Otherwise components,
    subcomponents and repetitions are mapped onto ours and each piece is decoded with the
    sender's escape character and encoded with ours, so ``APP$X`` under ``#$*/%`` becomes
    ``APP^X`` and a literal ``|`` becomes ``\\F\\``.
    """
    raw = message.raw(path)
    if raw is None:
        return ""
    d = message.delimiters
    if d == STANDARD and _UNSAFE.search(raw) is None:
        return raw
    return _reencode(raw, d, message.charset)


def echo_control_id(message: Message) -> str:
    """MSA-2 for ``message``: its MSH-10 exactly as received whenever that is possible (HD-8).

    The rule: when the sender used the standard delimiters, the received text is copied byte
    for byte, escape sequences and all, unless it holds a control character (which could end
    the frame). With other delimiters it is copied byte for byte when it already is the
    standard encoding of its value, which holds for any plain identifier. Otherwise the value
    is decoded with the sender's delimiters and encoded with ours (``A/F/B`` under ``#$*/%``
    becomes ``A#B``, ``A|B`` becomes ``A\\F\\B``), so ``parse(ack).get("MSA-2")`` always equals
    ``parse(message).get("MSH-10")``. MSH-10 is an ST, so it is treated as one leaf: its
    component characters are content, exactly as :meth:`Message.get` reads them.
    """
    raw = message.control_id
    if raw is None:
        return ""
    if raw == NULL:
        return raw
    d = message.delimiters
    charset = message.charset
    if d == STANDARD and _UNSAFE.search(raw) is None:
        return raw
    return escape(unescape(raw, d, charset=charset), STANDARD)


def salvaged_control_id(raw: str) -> str:
    """MSA-2 for a control id recovered from a message that could not be parsed.

    The sender's escape rules are unknown then, so the text is kept as it is except for the
    characters that would break the reply (``|``, control characters), which are escaped.
    """
    return _UNSAFE.sub(lambda m: escape(m.group(), STANDARD), raw)


def control_id_of(
    payload: bytes | bytearray | memoryview, *, limit: int = SALVAGE_LIMIT
) -> str | None:
    """MSH-10 of a payload whose header could not be parsed, found by splitting the first
    segment on the byte after ``MSH`` (HD-2), or ``None``.

    Looks at no more than ``limit`` bytes and never raises, whatever the input: it runs on
    exactly the payloads that broke the parser. A control id that may run past the window is
    not returned, since MSA-2 must never be truncated.
    """
    if not isinstance(payload, bytes | bytearray | memoryview):
        return None
    whole = len(payload)
    data = bytes(payload[:limit])
    start = 3 if data.startswith(_BOM) else 0
    while start < len(data) and data[start] in _WHITESPACE:
        start += 1
    if data[start : start + 3] != b"MSH" or len(data) < start + 4:
        return None
    separator = data[start + 3]
    if not 0x21 <= separator <= 0x7E or chr(separator).isalnum():
        return None
    ends = [i for i in (data.find(b"\r", start), data.find(b"\n", start)) if i >= 0]
    end = min(ends) if ends else len(data)
    fields = data[start:end].split(bytes([separator]), 10)
    if len(fields) < 10:
        return None
    if not ends and whole > limit and len(fields) == 10:
        return None  # MSH-10 runs to the edge of the window and may continue past it
    raw = fields[9]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    return text or None
