"""Traffic: the synthetic hospital's days, paced in real time onto the links that carry them.

:func:`stream` is pure (seeded, simulated clock), so the same seed gives the same messages in
the same order; :class:`Traffic` only decides when each is due and hands it over. Planning a
600-bed day takes a couple of seconds, so each message is fetched in a worker thread and the
event loop keeps serving the links meanwhile.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Collection, Iterator
from datetime import datetime, time, timedelta

from eprlink.hl7 import Message
from eprlink.sim.config import TrafficConfig
from eprlink.sim.hospital import Hospital, TimedMessage, TrustSettings

__all__ = ["Traffic", "stream"]

DAY = timedelta(days=1)


def stream(
    config: TrafficConfig,
    *,
    seed: int,
    trust: TrustSettings,
    feeds: Collection[str] | None = None,
) -> Iterator[TimedMessage]:
    """Every message of the simulated days from ``config.start`` on, in send order, limited
    to ``feeds`` when given and to ``config.count`` messages when that is set."""
    midnight = datetime.combine(config.start, time())
    hospital = Hospital(seed, beds=config.beds, trust=trust, start=midnight)
    produced = 0
    day = 0
    while True:
        for item in hospital.day(midnight + day * DAY):
            if feeds is not None and item.feed.value not in feeds:
                continue
            yield item
            produced += 1
            if config.count and produced >= config.count:
                return
        day += 1


class Traffic:
    """Sends the stream: ``deliver(feed, message)`` at each message's due time."""

    def __init__(
        self,
        config: TrafficConfig,
        *,
        seed: int,
        trust: TrustSettings,
        feeds: Collection[str],
        deliver: Callable[[str, Message], object],
    ) -> None:
        self.config = config
        self.sent = 0
        self.by_type: Counter[str] = Counter()
        self.done = asyncio.Event()
        self._deliver = deliver
        self._stream = stream(config, seed=seed, trust=trust, feeds=feeds)
        self._midnight = datetime.combine(config.start, time())

    def _due(self, started: float, item: TimedMessage) -> float:
        if self.config.day_in is not None:
            factor = self.config.day_in / DAY.total_seconds()
            return started + (item.at - self._midnight).total_seconds() * factor
        rate = self.config.rate or 1.0
        return started + self.sent / rate

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        started: float | None = None
        try:
            while True:
                item = await asyncio.to_thread(next, self._stream, None)
                if item is None:
                    return
                if started is None:
                    started = loop.time()  # the clock starts once the first day is planned
                pause = self._due(started, item) - loop.time()
                if pause > 0:
                    await asyncio.sleep(pause)
                self._deliver(item.feed.value, item.message)
                self.sent += 1
                self.by_type[f"{item.message.message_type}^{item.message.trigger_event}"] += 1
        finally:
            self.done.set()
