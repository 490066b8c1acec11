"""Rate control as pure scheduling: when, from the start of a replay, each message is due."""

# The simulator sleeps and sends; this module only computes offsets. A day is replayed in real
# time, compressed ("one day in N minutes"), or at a fixed number of messages per second.

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta
from typing import NamedTuple

from eprlink.hl7 import Message
from eprlink.sim.hospital.hospital import Hospital, TimedMessage
from eprlink.sim.hospital.schedule import DAY, DailyVolumes, midnight
from eprlink.sim.hospital.settings import Feed, TrustSettings

__all__ = ["ScheduledMessage", "paced", "schedule"]


class ScheduledMessage(NamedTuple):
    """A message with its wall-clock offset from the start of the replay."""

    offset: timedelta
    at: datetime
    feed: Feed
    message: Message


def schedule(
    day_start: date,
    *,
    beds: int = 600,
    compress_to: timedelta | None = None,
    seed: int = 0,
    trust: TrustSettings | None = None,
    volumes: DailyVolumes | None = None,
) -> Iterator[ScheduledMessage]:
    """One day of a ``beds``-bed hospital with each message's replay offset.

    Without ``compress_to`` the offset is the simulated time since midnight (real time); with
    it, the day is squeezed into that span ("one day of a 600-bed hospital in 10 minutes").
    """
    if compress_to is not None and compress_to <= timedelta(0):
        raise ValueError("compress_to must be a positive duration")
    start = midnight(day_start)
    hospital = Hospital(seed, beds=beds, trust=trust, start=start, volumes=volumes)
    factor = 1.0 if compress_to is None else compress_to / DAY
    for at, feed, message in hospital.day(start):
        yield ScheduledMessage((at - start) * factor, at, feed, message)


def paced(events: Iterable[TimedMessage], *, per_second: float) -> Iterator[ScheduledMessage]:
    """The same messages, in the same order, one every ``1 / per_second`` seconds."""
    if per_second <= 0:
        raise ValueError("per_second must be positive")
    for number, (at, feed, message) in enumerate(events):
        yield ScheduledMessage(timedelta(seconds=number / per_second), at, feed, message)
