"""HL7 v2 dates and timestamps (DT, TS/DTM) that remember how precise the sender was."""

from __future__ import annotations

import re
from calendar import monthrange
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from enum import IntEnum
from typing import Self

from eprlink.errors import ErrorCode
from eprlink.hl7.delimiters import DEFAULT_DELIMITERS, Delimiters
from eprlink.hl7.errors import ParseError

__all__ = ["HL7Date", "HL7DateTime", "Precision"]

_NULL = '""'

# ASCII digits only: a fullwidth or Arabic-Indic digit in a date is a data type error, not a date.
_DTM = re.compile(
    r"(\d{4})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:\.(\d{1,6}))?)?)?)?)?)?"
    r"(?:([+-])(\d{2})(\d{2}))?",
    re.ASCII,
)
_DT = re.compile(r"(\d{4})(?:(\d{2})(\d{2})?)?", re.ASCII)


class Precision(IntEnum):
    """How much of a date/time the sender gave; ordered, so ``p >= Precision.DAY`` reads well.

    HL7 signals precision by truncation (``2025`` is "some time in 2025"), and that is clinically
    meaningful: a date of birth known only to the year must not become 1 January downstream.
    """

    YEAR = 1
    MONTH = 2
    DAY = 3
    HOUR = 4
    MINUTE = 5
    SECOND = 6
    FRACTION = 7


def _invalid(reason: str) -> ParseError:
    # The reason names the rule only: the text may be a date of birth, which is patient data.
    return ParseError(reason, code=ErrorCode.DATA_TYPE_ERROR)


def _check_date(year: int, month: int | None, day: int | None) -> None:
    if year < 1:
        raise _invalid("year out of range")
    if month is not None and not 1 <= month <= 12:
        raise _invalid("month out of range")
    if day is not None and month is not None and not 1 <= day <= monthrange(year, month)[1]:
        raise _invalid("day out of range for its month")


def _opt(text: str | None) -> int | None:
    return None if text is None else int(text)


@dataclass(frozen=True, slots=True)
class HL7DateTime:
    """A TS (v2.4) or DTM (v2.5+) value.

    ``offset`` is ``None`` when the sender gave no offset, which HL7 defines as the sender's local
    time; that is not the same as ``+0000``, so the two are kept apart. A value of ``None`` in
    ``precision`` means the field carried no timestamp (absent, or the explicit null ``""``).
    Fractions of up to six digits are accepted (the standard allows four) because some senders
    write microseconds and Python can hold them.
    """

    raw: str
    precision: Precision | None = None
    year: int | None = None
    month: int | None = None
    day: int | None = None
    hour: int | None = None
    minute: int | None = None
    second: int | None = None
    microsecond: int | None = None
    offset: timezone | None = None

    @property
    def is_null(self) -> bool:
        """The sender sent ``""``: delete the stored value (UK "no update" rule)."""
        return self.raw == _NULL

    @classmethod
    def parse(
        cls, raw: str, delimiters: Delimiters = DEFAULT_DELIMITERS, *, charset: str = "utf-8"
    ) -> Self:
        """Read one repetition; v2.4's second component (degree of precision) is ignored.

        Raises :class:`ParseError` (102) for text that is not a real point in time.
        """
        text = raw.split(delimiters.component, 1)[0]
        if not text or text == _NULL:
            return cls(raw)
        match = _DTM.fullmatch(text)
        if match is None:
            raise _invalid("not a TS/DTM value")
        y, mo, d, h, mi, s, frac, sign, oh, om = match.groups()
        year, month, day = int(y), _opt(mo), _opt(d)
        _check_date(year, month, day)
        hour, minute, second = _opt(h), _opt(mi), _opt(s)
        if hour is not None and hour > 23:
            raise _invalid("hour out of range (midnight is 00)")
        if minute is not None and minute > 59:
            raise _invalid("minute out of range")
        if second is not None and second > 59:
            raise _invalid("second out of range")
        offset = None
        if sign is not None:
            if int(oh) > 23 or int(om) > 59:
                raise _invalid("UTC offset out of range")
            delta = timedelta(hours=int(oh), minutes=int(om))
            offset = timezone(-delta if sign == "-" else delta)
        microsecond = None if frac is None else int(frac.ljust(6, "0"))
        precision = Precision(
            7 if frac is not None else 1 + sum(part is not None for part in (mo, d, h, mi, s))
        )
        return cls(raw, precision, year, month, day, hour, minute, second, microsecond, offset)

    @classmethod
    def from_datetime(cls, value: datetime, precision: Precision = Precision.SECOND) -> Self:
        """Format ``value`` truncated to ``precision``; aware values carry their UTC offset.

        FRACTION writes four digits, the most the standard allows, so anything finer than
        100 microseconds is dropped. Offsets must be whole minutes (HL7 cannot say more).
        """
        parts = [f"{value.year:04d}", f"{value.month:02d}", f"{value.day:02d}"]
        parts += [f"{value.hour:02d}", f"{value.minute:02d}", f"{value.second:02d}"]
        text = "".join(parts[: min(precision, Precision.SECOND)])
        if precision is Precision.FRACTION:
            text += f".{value.microsecond // 100:04d}"
        delta = value.utcoffset()
        if delta is not None:
            if delta % timedelta(minutes=1):
                raise ValueError("HL7 UTC offsets are whole minutes")
            minutes = int(abs(delta) // timedelta(minutes=1))
            text += f"{'-' if delta < timedelta(0) else '+'}{minutes // 60:02d}{minutes % 60:02d}"
        return cls.parse(text)

    def to_datetime(self) -> datetime | None:
        """The start of the period the value names; aware only when the sender gave an offset."""
        if self.year is None:
            return None
        return datetime(
            self.year,
            self.month or 1,
            self.day or 1,
            self.hour or 0,
            self.minute or 0,
            self.second or 0,
            self.microsecond or 0,
            tzinfo=self.offset,
        )

    def to_date(self) -> date | None:
        """The calendar date as the sender wrote it (no conversion through the offset)."""
        if self.year is None:
            return None
        return date(self.year, self.month or 1, self.day or 1)


@dataclass(frozen=True, slots=True)
class HL7Date:
    """A DT value, ``YYYY[MM[DD]]``, keeping its precision (YEAR, MONTH or DAY).

    As with :class:`HL7DateTime`, ``precision`` is ``None`` when no date was sent.
    """

    raw: str
    precision: Precision | None = None
    year: int | None = None
    month: int | None = None
    day: int | None = None

    @property
    def is_null(self) -> bool:
        """The sender sent ``""``: delete the stored value (UK "no update" rule)."""
        return self.raw == _NULL

    @classmethod
    def parse(
        cls, raw: str, delimiters: Delimiters = DEFAULT_DELIMITERS, *, charset: str = "utf-8"
    ) -> Self:
        """Read one repetition; raises :class:`ParseError` (102) for anything but a real date.

        ``delimiters`` is accepted for a signature shared with the other types; DT has no parts.
        """
        if not raw or raw == _NULL:
            return cls(raw)
        match = _DT.fullmatch(raw)
        if match is None:
            raise _invalid("not a DT value")
        y, mo, d = match.groups()
        year, month, day = int(y), _opt(mo), _opt(d)
        _check_date(year, month, day)
        precision = Precision(1 + (mo is not None) + (d is not None))
        return cls(raw, precision, year, month, day)

    @classmethod
    def from_date(cls, value: date, precision: Precision = Precision.DAY) -> Self:
        """Format ``value`` truncated to ``precision`` (at most DAY)."""
        text = f"{value.year:04d}{value.month:02d}{value.day:02d}"
        return cls.parse(text[: (4, 6, 8)[min(precision, Precision.DAY) - 1]])

    def to_date(self) -> date | None:
        """The first day of the period the value names."""
        if self.year is None:
            return None
        return date(self.year, self.month or 1, self.day or 1)
