"""The moments the inbound deadlines count from, kept the same way by every reader of frames.

The idle timeout counts from the last read, the whole-frame deadline (the slow-loris defence)
from the read that opened the frame, and the FR-4 grace period from the end block still waiting
for its ``<CR>``. The caller passes ``now`` from its loop's monotonic clock (P11); nothing here
reads a clock or arms a timer.
"""

from __future__ import annotations

from eprlink.mllp.framing import Decoder

__all__ = ["ReadTimes"]


class ReadTimes:
    """Updated after every read with what the decoder made of it."""

    __slots__ = ("_grace", "_starts", "frame_started", "grace_at", "last_read")

    def __init__(self, now: float, grace: float) -> None:
        self._grace = grace
        self._starts = 0
        self.last_read = now
        self.frame_started = now
        self.grace_at: float | None = None

    def read(self, decoder: Decoder, now: float) -> None:
        """Bytes were read at ``now`` and fed to ``decoder``."""
        self.last_read = now
        if decoder.frame_starts != self._starts:
            self._starts = decoder.frame_starts
            self.frame_started = now
        self.grace_at = now + self._grace if decoder.awaiting_cr else None
