"""Shifting dates by whole days keeps precision, time of day, fraction and offset as written."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eprlink.careflow import shift_date_text
from eprlink.hl7 import HL7DateTime


@pytest.mark.parametrize(
    ("text", "days", "expected"),
    [
        ("20251231", -30, "20251201"),
        ("202512311200+0100", -30, "202512011200+0100"),
        ("20251231235959.1234-0500", -1, "20251230235959.1234-0500"),
        ("20250301", -1, "20250228"),
        ("202503", -20, "202502"),  # from the middle of March: 23 Feb
        ("2025", -100, "2025"),  # from 2 July: still 2025
        ("2025", -200, "2024"),
        ("20251231", 0, "20251231"),
    ],
)
def test_shift_keeps_what_was_written(text: str, days: int, expected: str) -> None:
    assert shift_date_text(text, days) == expected


@pytest.mark.parametrize("text", ["", "1", "Y", "2025-12-31", "20251340", "20251231 ", "00010101"])
def test_not_a_date_is_not_shifted(text: str) -> None:
    assert shift_date_text(text, -30) is None


@given(
    st.datetimes(min_value=datetime(1900, 1, 1)),
    st.integers(min_value=1, max_value=7),
    st.one_of(st.none(), st.sampled_from(["+0000", "+0100", "-0500", "+0530"])),
    st.integers(min_value=-3650, max_value=0),
)
def test_shift_property(moment: datetime, precision: int, offset: str | None, days: int) -> None:
    text = moment.strftime("%Y%m%d%H%M%S")[: (4, 6, 8, 10, 12, 14, 14)[precision - 1]]
    if precision == 7:
        text += f".{moment.microsecond // 100:04d}"
    if offset is not None and precision >= 4:
        text += offset
    moved = shift_date_text(text, days)
    assert moved is not None
    assert len(moved) == len(text)
    HL7DateTime.parse(moved)
    if precision >= 3:
        assert moved[8:] == text[8:]  # time, fraction and offset copied as written
        original = date(int(text[:4]), int(text[4:6]), int(text[6:8]))
        new = date(int(moved[:4]), int(moved[4:6]), int(moved[6:8]))
        assert new == original + timedelta(days=days)
        assert new <= original  # nothing moves forward, so no birth date into the future
