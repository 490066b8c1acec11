"""HL7 primitive formats (NM, SI, DT, TM, TS/DTM) checked without backtracking patterns."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache

from eprlink.hl7 import Delimiters, HL7Date, HL7DateTime, ParseError

__all__ = ["NULL", "PRIMITIVES", "PrimitiveCheck", "null_repetition", "quote"]

NULL = '""'

PrimitiveCheck = Callable[[str], str | None]
"""A format check: ``None`` when the value is valid, else a reason naming the rule (no content)."""

# SZ-4: nothing longer than these reaches a parser or pattern; such a value is simply invalid.
_TS_MAX = 40
_DT_MAX = 8
_TM_MAX = 24


def _nm(value: str) -> str | None:
    """HL7 NM: an optional sign, ASCII digits and at most one point; no exponent, no spaces."""
    body = value[1:] if value[0] in "+-" else value
    digits = body.replace(".", "", 1)
    if digits.isascii() and digits.isdigit():
        return None
    return "not a number"


def _si(value: str) -> str | None:
    if value.isascii() and value.isdigit():
        return None
    return "not a non-negative whole number"


def _dt(value: str) -> str | None:
    if len(value) > _DT_MAX:
        return "too long for a date"
    try:
        HL7Date.parse(value)
    except ParseError as exc:
        return exc.reason
    return None


def _two(text: str, limit: int) -> bool:
    return len(text) == 2 and text.isascii() and text.isdigit() and int(text) <= limit


def _tm(value: str) -> str | None:
    """HL7 TM: ``HH[MM[SS[.S[S[S[S]]]]]][+/-ZZZZ]``, checked by hand (no pattern to backtrack)."""
    if len(value) > _TM_MAX:
        return "too long for a time"
    time, offset = value, ""
    for sign in "+-":
        cut = value.find(sign)
        if cut >= 0:
            time, offset = value[:cut], value[cut + 1 :]
            break
    if offset and not (len(offset) == 4 and _two(offset[:2], 23) and _two(offset[2:], 59)):
        return "UTC offset out of range"
    time, _, fraction = time.partition(".")
    if fraction and not (len(fraction) <= 4 and fraction.isascii() and fraction.isdigit()):
        return "not a TM value"
    if fraction and len(time) != 6:
        return "not a TM value"
    parts = [time[i : i + 2] for i in range(0, len(time), 2)]
    if len(time) % 2 or not 1 <= len(parts) <= 3:
        return "not a TM value"
    for part, limit in zip(parts, (23, 59, 59), strict=False):
        if not _two(part, limit):
            return "time out of range" if part.isdigit() else "not a TM value"
    return None


@lru_cache(maxsize=4096)
def _ts(value: str) -> str | None:
    """TS/DTM through the core's parser. Cached: a message repeats the same times many times,
    and the answer depends on the text alone."""
    if len(value) > _TS_MAX:
        return "too long for a timestamp"
    if "^" in value:  # the caller has cut at the real separator: anything left is not a time
        return "not a TS/DTM value"
    try:
        HL7DateTime.parse(value)
    except ParseError as exc:
        return exc.reason
    return None


PRIMITIVES: Mapping[str, tuple[PrimitiveCheck | None, str]] = {
    "NM": (_nm, "a number (NM: optional sign, digits, at most one decimal point)"),
    "SI": (_si, "a sequence number (SI: digits only)"),
    "DT": (_dt, "a date YYYY[MM[DD]] (DT)"),
    "TM": (_tm, "a time HH[MM[SS[.S]]][+/-ZZZZ] (TM)"),
    "TS": (_ts, "a timestamp YYYY[MM[DD[HH[MM[SS[.S]]]]]][+/-ZZZZ] (TS)"),
    "DTM": (_ts, "a timestamp YYYY[MM[DD[HH[MM[SS[.S]]]]]][+/-ZZZZ] (DTM)"),
    "ID": (None, "a coded value (ID)"),
    "IS": (None, "a coded value (IS)"),
}
"""Types checked as one value whatever components a layer gives them (v2.4's TS has two, but
only the first carries the time)."""


def quote(value: str, limit: int = 40) -> str:
    """A value for :attr:`Issue.found`: quoted, shortened, control characters made visible."""
    short = value if len(value) <= limit else value[:limit] + "…"
    return repr(short)


def null_repetition(text: str, d: Delimiters) -> bool:
    """A repetition made only of ``""`` and empty parts (the UK delete form of one repeat)."""
    if '"' not in text:
        return False
    parts = text.split(d.component)
    if d.subcomponent is not None:
        parts = [p for part in parts for p in part.split(d.subcomponent)]
    return all(p in ("", NULL) for p in parts)
