"""ER7 text for segment builders: escaped components, fields by number, the explicit null."""

# Builders write whole segment lines so a message is assembled once; every free-text value goes
# through :func:`eprlink.hl7.escape`, so names or report text holding ``^`` or ``&`` stay intact.

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime

from eprlink.hl7 import DEFAULT_DELIMITERS, escape, format_timestamp

__all__ = ["NULL", "comp", "day", "line", "minute", "reps", "second", "text"]

NULL = '""'
"""The explicit null: "delete the stored value" (HL7 UK §2.3.4), never "no change"."""

# Anything escape() might rewrite; most values hold none of it, and skipping the call for them
# halves the cost of writing a day of messages.
_SPECIAL = re.compile(r"[|^~\\&#\x00-\x1f\x7f]")


def text(value: str) -> str:
    """A value escaped for ER7; the explicit null passes through as it is."""
    if value == NULL or _SPECIAL.search(value) is None:
        return value
    return escape(value, DEFAULT_DELIMITERS)


def comp(*parts: str | None) -> str:
    """Components joined by ``^``; ``None`` or ``""`` leave a component empty, trailing ones go."""
    values = ["" if part is None else text(part) for part in parts]
    while values and not values[-1]:
        values.pop()
    return "^".join(values)


def reps(*fields: str) -> str:
    """Repetitions of already-encoded values joined by ``~`` (empty ones dropped: HL7 UK says a
    sender must not send empty repeats)."""
    return "~".join(field for field in fields if field)


def line(segment_id: str, fields: Mapping[int, str | None]) -> str:
    """A segment from already-encoded fields by number, up to the last one with a value."""
    last = max((number for number, value in fields.items() if value), default=0)
    return "|".join([segment_id, *((fields.get(n) or "") for n in range(1, last + 1))])


def minute(moment: datetime) -> str:
    """A clinical time to the minute, as the ITK samples write them (with the offset if aware)."""
    value = moment.strftime("%Y%m%d%H%M")
    if moment.tzinfo is not None:
        value += moment.strftime("%z")
    return value


def second(moment: datetime) -> str:
    """A system time to the second (MSH-7, EVN-2)."""
    return format_timestamp(moment)


def day(value: date) -> str:
    """A DT value, ``YYYYMMDD``."""
    return value.strftime("%Y%m%d")
