"""Frame reading over asyncio streams, for the sending side of a link.

The client (:mod:`eprlink.mllp.client`) waits for one reply at a time, so a stream reader with a
deadline per read is the simplest honest shape for it; the inbound side, where per-frame cost
matters, runs on :class:`eprlink.mllp.session.Session` instead.
"""

from __future__ import annotations

import asyncio

from eprlink.mllp.deadlines import ReadTimes
from eprlink.mllp.framing import Decoder, Event, FramingPolicy

__all__ = ["FrameSource", "close_writer"]


class FrameSource:
    """Feeds a decoder from a stream and runs the FR-4 grace timer.

    :meth:`events` returns the events of one read, of a grace expiry, or of end of stream. A
    reset counts as end of stream (FR-7), so callers see a single way for a connection to end.
    """

    def __init__(
        self, reader: asyncio.StreamReader, policy: FramingPolicy, *, grace: float, read_size: int
    ) -> None:
        self.decoder = Decoder(policy)
        self._reader = reader
        self._read_size = read_size
        self._loop = asyncio.get_running_loop()
        self.times = ReadTimes(self._loop.time(), grace)
        self.reset = False

    @property
    def at_eof(self) -> bool:
        """The peer has closed and everything it sent has been read."""
        return self._reader.at_eof()

    async def events(self, deadline: float) -> list[Event]:
        """Events from the next read; raises ``TimeoutError`` when ``deadline`` passes first."""
        grace_at = self.times.grace_at
        wake = deadline if grace_at is None else min(deadline, grace_at)
        try:
            async with asyncio.timeout_at(wake):
                data = await self._reader.read(self._read_size)
        except TimeoutError:
            if grace_at is not None and grace_at <= deadline:
                self.times.grace_at = None
                return self.decoder.grace_expired()
            raise
        except OSError:
            self.reset = True
            data = b""
        if not data:
            self.times.grace_at = None
            return self.decoder.eof()
        events = self.decoder.feed(data)
        self.times.read(self.decoder, self._loop.time())
        return events


async def close_writer(writer: asyncio.StreamWriter, *, timeout: float = 5.0) -> None:
    """Close a stream, aborting it if the orderly close (TLS close_notify) does not finish."""
    writer.close()
    try:
        async with asyncio.timeout(timeout):
            await writer.wait_closed()
    except (OSError, TimeoutError):
        writer.transport.abort()
