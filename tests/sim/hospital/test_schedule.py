"""A simulated day: volumes within the documented bounds, feeds, order and replay offsets."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from eprlink.sim.hospital import DailyVolumes, Feed, Hospital, TimedMessage, paced, schedule

from .conftest import SATURDAY, WEEKDAY

_TYPES = {
    Feed.ADT: {"ADT", "SIU", "REF", "MFN"},
    Feed.ORDERS: {"OML", "OMG"},
    Feed.RESULTS: {"ORU", "OUL"},
}


def _volumes(events: list[TimedMessage]) -> Counter[Feed]:
    return Counter(event.feed for event in events)


def test_weekday_volume_is_within_the_documented_bounds(weekday: list[TimedMessage]) -> None:
    counts = _volumes(weekday)
    for feed, (low, high) in DailyVolumes().bounds(60).items():
        assert low <= counts[feed] <= high, (feed, counts[feed])


def test_a_600_bed_weekday() -> None:
    events = list(Hospital(1, beds=600).day(WEEKDAY))
    counts = _volumes(events)
    for feed, (low, high) in DailyVolumes().bounds(600).items():
        assert low <= counts[feed] <= high, (feed, counts[feed])
    triggers = Counter(e.message.get("MSH-9.2") for e in events)
    for trigger in ("A01", "A02", "A03", "A04", "A05", "A08", "A14", "A28", "A31", "I12",
                    "S12", "S14", "S15", "S26", "R01", "O21", "M02", "M05"):  # fmt: skip
        assert triggers[trigger] > 0, trigger


def test_weekends_are_quieter(weekday: list[TimedMessage]) -> None:
    saturday = _volumes(list(Hospital(11, beds=60).day(SATURDAY)))
    weekday_counts = _volumes(weekday)
    assert saturday[Feed.ADT] < weekday_counts[Feed.ADT] / 2
    low, high = DailyVolumes().bounds(60, weekend=True)[Feed.ADT]
    assert low <= saturday[Feed.ADT] <= high


def test_the_day_is_in_send_order_on_the_right_feeds(weekday: list[TimedMessage]) -> None:
    times = [event.at for event in weekday]
    assert times == sorted(times)
    assert times[0] >= WEEKDAY and times[-1] < WEEKDAY + timedelta(days=1)
    for event in weekday:
        assert event.message.get("MSH-9.1") in _TYPES[event.feed]
        assert event.message.get("MSH-7") == event.at.strftime("%Y%m%d%H%M%S")


def test_results_follow_their_orders(weekday: list[TimedMessage]) -> None:
    ordered = {e.message.get("ORC-2.1"): e.at for e in weekday if e.feed is Feed.ORDERS}
    matched = 0
    for event in (e for e in weekday if e.feed is Feed.RESULTS):
        placer = event.message.get("ORC-2.1")
        if placer in ordered:
            matched += 1
            assert ordered[placer] < event.at
    assert matched > 10


def test_one_day_compressed_into_ten_minutes() -> None:
    events = list(schedule(WEEKDAY, beds=10, compress_to=timedelta(minutes=10), seed=3))
    assert events
    offsets = [event.offset for event in events]
    assert offsets == sorted(offsets)
    assert timedelta(0) <= offsets[0] and offsets[-1] < timedelta(minutes=10)
    for event in events[:50]:
        expected = (event.at - WEEKDAY) * (timedelta(minutes=10) / timedelta(days=1))
        assert abs(event.offset - expected) < timedelta(microseconds=10)


def test_real_time_and_paced_replay() -> None:
    real = list(schedule(WEEKDAY.date(), beds=10, seed=3))  # a date works as well
    assert all(event.offset == event.at - WEEKDAY for event in real)
    timed = [TimedMessage(e.at, e.feed, e.message) for e in real]
    paced_events = list(paced(timed, per_second=50))
    assert [e.offset for e in paced_events[:3]] == [
        timedelta(0),
        timedelta(seconds=0.02),
        timedelta(seconds=0.04),
    ]
    assert [e.message for e in paced_events] == [e.message for e in real]
    with pytest.raises(ValueError, match="positive"):
        list(schedule(WEEKDAY, beds=10, compress_to=timedelta(0)))
    with pytest.raises(ValueError, match="positive"):
        list(paced(timed, per_second=0))
