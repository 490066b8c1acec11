"""Moving HL7 dates and timestamps by whole days while keeping exactly what the sender wrote."""

from __future__ import annotations

import re
from datetime import date, timedelta

from eprlink.hl7 import HL7DateTime, ParseError

__all__ = ["shift_date_text"]

_DATE_PART = re.compile(r"(\d{4})(\d{2})?(\d{2})?", re.ASCII)


def shift_date_text(text: str, days: int) -> str | None:
    """``text`` (a DT, TS or DTM value) moved by ``days``, or ``None`` when it is not a date.

    Only the calendar date moves: time of day, fraction and UTC offset are copied character for
    character, so ``202512311200+0100`` keeps ``+0100`` and a date given to the day stays eight
    digits. A value known only to the month or year is moved from the middle of that period and
    written back at the same precision, so short shifts do not always change the year.
    """
    try:
        HL7DateTime.parse(text)
    except ParseError:
        return None
    match = _DATE_PART.match(text)
    if match is None:
        return None
    year, month, day = match.groups()
    if day is not None:
        start = date(int(year), int(month), int(day))
    elif month is not None:
        start = date(int(year), int(month), 15)
    else:
        start = date(int(year), 7, 2)
    try:
        moved = start + timedelta(days=days)
    except OverflowError:
        return None
    out = f"{moved.year:04d}"
    if month is not None:
        out += f"{moved.month:02d}"
    if day is not None:
        out += f"{moved.day:02d}"
    return out + text[match.end() :]
