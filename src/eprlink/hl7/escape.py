"""HL7 v2 escape sequences: decoding on read, encoding on write.

Values are stored and forwarded raw; escapes are decoded only when a value is read (ES-1), and
every delimiter or control character is escaped again when a value is written, so a decoded
value can never create a new field or segment in the output.
"""

from __future__ import annotations

import re
from enum import StrEnum
from functools import lru_cache

from eprlink.errors import ErrorCode
from eprlink.hl7.delimiters import DEFAULT_DELIMITERS, Delimiters
from eprlink.hl7.errors import Location, ParseError

__all__ = ["Formatting", "escape", "unescape"]


class Formatting(StrEnum):
    """What to do with formatting commands (``\\.br\\``, ``\\H\\`` …) when reading a value.

    KEEP leaves them in the text verbatim (ES-5: the engine never turns them into line breaks on
    its own); RENDER turns them into plain text for display (``\\.br\\`` becomes a newline).
    """

    KEEP = "keep"
    RENDER = "render"


_FORMAT_COMMAND = re.compile(r"\.(br|fi|nf|ce|sp|in|ti|sk)([+-]?\d{0,6})")
_HEX = re.compile(r"(?:[0-9A-Fa-f]{2})+")


def _render_format(command: str, argument: str) -> str:
    count = int(argument) if argument.lstrip("+-") else 1
    if command in {"br", "ce"}:
        return "\n"
    if command == "sp":
        return "\n" * max(count, 1)
    if command == "sk":
        return " " * max(count, 0)
    return ""


def _decode_name(name: str, d: Delimiters, formatting: Formatting, charset: str) -> str | None:
    """The text one escape sequence stands for, or ``None`` when it is malformed."""
    if not name:
        return None
    if len(name) == 1:
        simple = {
            "F": d.field,
            "S": d.component,
            "R": d.repetition,
            "E": d.escape,
            "T": d.subcomponent,
            "P": d.truncation,
        }.get(name)
        if simple is not None:
            return simple
        if name in "HN":
            return "" if formatting is Formatting.RENDER else None
        return None
    lead = name[0]
    if lead == "X":
        digits = name[1:]
        if not _HEX.fullmatch(digits):
            return None
        try:
            return bytes.fromhex(digits).decode(charset)
        except (UnicodeError, LookupError):
            return None
    if lead == ".":
        match = _FORMAT_COMMAND.fullmatch(name)
        if match is None:
            return None
        if formatting is Formatting.RENDER:
            return _render_format(match.group(1), match.group(2))
        return None
    return None


def _kept_verbatim(name: str, formatting: Formatting) -> bool:
    """Sequences that are valid but pass through untouched when read (ES-5, ES-7)."""
    if not name:
        return False
    if name in ("H", "N"):
        return formatting is Formatting.KEEP
    if name[0] in "ZCM" and len(name) > 1:
        return True
    return (
        name[0] == "." and formatting is Formatting.KEEP and bool(_FORMAT_COMMAND.fullmatch(name))
    )


def unescape(
    text: str,
    delimiters: Delimiters = DEFAULT_DELIMITERS,
    *,
    strict: bool = False,
    formatting: Formatting = Formatting.KEEP,
    charset: str = "utf-8",
) -> str:
    """Decode the escape sequences in one leaf value.

    Malformed sequences (unterminated, a lone escape character, an unknown name) are literal
    text in lenient mode (ES-4, because real senders produce them) and a
    :class:`~eprlink.hl7.errors.ParseError` with code 102 in strict mode. ``\\Zxx\\``,
    ``\\Cxxyy\\`` and ``\\Mxxyyzz\\`` are always kept verbatim; ``\\Xhh…\\`` is decoded as bytes in
    ``charset``.
    """
    esc = delimiters.escape
    if esc not in text:
        return text
    out: list[str] = []
    pos = 0
    while True:
        start = text.find(esc, pos)
        if start < 0:
            out.append(text[pos:])
            break
        out.append(text[pos:start])
        end = text.find(esc, start + 1)
        if end < 0:
            if strict:
                raise ParseError(
                    "unterminated escape sequence",
                    code=ErrorCode.DATA_TYPE_ERROR,
                    location=Location(offset=start),
                )
            out.append(text[start:])
            break
        name = text[start + 1 : end]
        decoded = _decode_name(name, delimiters, formatting, charset)
        if decoded is None:
            if not _kept_verbatim(name, formatting) and strict:
                raise ParseError(
                    "malformed escape sequence",
                    code=ErrorCode.DATA_TYPE_ERROR,
                    location=Location(offset=start),
                )
            decoded = text[start : end + 1]
        out.append(decoded)
        pos = end + 1
    return "".join(out)


@lru_cache(maxsize=64)
def _escaper(d: Delimiters) -> tuple[re.Pattern[str], dict[str, str]]:
    table = {
        d.escape: f"{d.escape}E{d.escape}",
        d.field: f"{d.escape}F{d.escape}",
        d.component: f"{d.escape}S{d.escape}",
        d.repetition: f"{d.escape}R{d.escape}",
    }
    if d.subcomponent is not None:
        table[d.subcomponent] = f"{d.escape}T{d.escape}"
    if d.truncation is not None:
        table[d.truncation] = f"{d.escape}P{d.escape}"
    for code in [*range(0x20), 0x7F]:
        table.setdefault(chr(code), f"{d.escape}X{code:02X}{d.escape}")
    pattern = re.compile("[" + "".join(re.escape(ch) for ch in table) + "]")
    return pattern, table


def escape(text: str, delimiters: Delimiters = DEFAULT_DELIMITERS) -> str:
    """Encode a value for writing: delimiters and control characters become escape sequences.

    ``unescape(escape(x)) == x`` for every string ``x``.
    """
    pattern, table = _escaper(delimiters)
    if pattern.search(text) is None:
        return text
    return pattern.sub(lambda match: table[match.group()], text)
