"""Sans-I/O MLLP codec: frames bytes out and turns any sequence of reads into framing events.

The decoder owns no socket and reads no clock, so the same state machine serves the listener, the
sender and the receive-role client, and can be tested by feeding bytes one at a time (FR-1). The
I/O layer calls :meth:`Decoder.grace_expired` when its FR-4 timer fires and :meth:`Decoder.eof`
when the stream ends. Memory per decoder stays below the maximum message size plus one read
(SZ-1), and every byte is examined once, so cost is linear in the input whatever the splits.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, StrEnum

from eprlink.mllp.errors import PayloadError, PolicyError

__all__ = [
    "COMMIT_ACK",
    "COMMIT_NAK",
    "CommitAck",
    "CommitNak",
    "Decoder",
    "Event",
    "Frame",
    "FrameCapExceeded",
    "FrameOversize",
    "FrameTruncated",
    "FramingMode",
    "FramingPolicy",
    "FramingViolation",
    "JunkDiscarded",
    "JunkLimitExceeded",
    "TruncationReason",
    "encode",
    "encode_commit_ack",
    "encode_commit_nak",
]

START_BLOCK = 0x0B
END_BLOCK = 0x1C
CARRIAGE_RETURN = 0x0D
_VT = b"\x0b"
_FS = b"\x1c"
_TRAILER = b"\x1c\x0d"

#: Payload of an MLLP Release 2 commit acknowledgement / negative acknowledgement block.
COMMIT_ACK = b"\x06"
COMMIT_NAK = b"\x15"

_MIB = 1024 * 1024


class FramingMode(StrEnum):
    """What an end block without ``<CR>`` does (FR-4); vendors differ, hence the setting."""

    LENIENT = "lenient"
    STRICT = "strict"


@dataclass(frozen=True, slots=True, kw_only=True)
class FramingPolicy:
    """Limits a decoder enforces as bytes arrive. Limits are inclusive.

    ``hard_cap`` of ``None`` means four times ``max_message_size`` (section 3). ``head_size`` is
    how much of an oversize payload is kept so the engine can still read MSH for the AR reply
    (never more than ``max_message_size``, so the memory bound holds).
    """

    max_message_size: int = 16 * _MIB
    hard_cap: int | None = None
    head_size: int = 64 * 1024
    junk_limit: int = _MIB
    mode: FramingMode = FramingMode.LENIENT
    release2: bool = False

    def __post_init__(self) -> None:
        if self.max_message_size < 0:
            raise PolicyError("max_message_size", "must not be negative")
        if self.hard_cap is not None and self.hard_cap < self.max_message_size:
            raise PolicyError("hard_cap", "must be at least max_message_size")
        if self.head_size < 0:
            raise PolicyError("head_size", "must not be negative")
        if self.junk_limit < 0:
            raise PolicyError("junk_limit", "must not be negative")
        if not isinstance(self.mode, FramingMode):
            raise PolicyError("mode", "must be a FramingMode")

    @property
    def frame_cap(self) -> int:
        """The hard cap in effect: payload bytes read in one frame before the stream is closed."""
        return 4 * self.max_message_size if self.hard_cap is None else self.hard_cap


class TruncationReason(StrEnum):
    """Why an open frame was abandoned."""

    NEW_START_BLOCK = "new_start_block"  # FR-5
    EOF = "eof"  # FR-7
    CLOSED = "closed"  # the I/O layer closed first: deadline, shutdown, an earlier error


@dataclass(frozen=True, slots=True)
class Frame:
    """A complete frame. The payload is not judged here: an empty one is still a frame (FR-6)."""

    payload: bytes


@dataclass(frozen=True, slots=True)
class CommitAck:
    """An MLLP Release 2 commit acknowledgement block, recognised only when enabled."""


@dataclass(frozen=True, slots=True)
class CommitNak:
    """An MLLP Release 2 negative commit acknowledgement block, recognised only when enabled."""


@dataclass(frozen=True, slots=True)
class JunkDiscarded:
    """A run of bytes outside any frame was dropped (FR-2). Only the count survives."""

    count: int


@dataclass(frozen=True, slots=True)
class JunkLimitExceeded:
    """Bytes outside any frame passed the junk limit (FR-3); the caller closes the connection.

    ``count`` is what this run discarded: the limit plus the byte that crossed it.
    """

    count: int


@dataclass(frozen=True, slots=True)
class FramingViolation:
    """An end block not followed by ``<CR>`` (FR-4).

    ``byte`` is what came instead, or ``None`` when the grace period expired or the stream ended.
    When ``fatal`` (strict mode) the frame is dropped and the caller closes; otherwise a
    :class:`Frame` (or :class:`FrameOversize`) for the same frame follows at once.
    """

    byte: int | None
    fatal: bool


@dataclass(frozen=True, slots=True)
class FrameTruncated:
    """An open frame was abandoned without a reply (FR-5, FR-7); ``count`` payload bytes read."""

    count: int
    reason: TruncationReason


@dataclass(frozen=True, slots=True)
class FrameOversize:
    """A frame ended after passing the maximum message size (SZ-1); the connection stays up.

    ``size`` is the full payload size; ``head`` is its first bytes, kept for the AR reply.
    """

    size: int
    head: bytes


@dataclass(frozen=True, slots=True)
class FrameCapExceeded:
    """A frame passed the hard cap with no end block (SZ-1); the caller closes the connection.

    ``count`` is the payload bytes read in the frame: the cap plus the byte that crossed it.
    """

    count: int


Event = (
    Frame
    | CommitAck
    | CommitNak
    | JunkDiscarded
    | JunkLimitExceeded
    | FramingViolation
    | FrameTruncated
    | FrameOversize
    | FrameCapExceeded
)


def encode(payload: bytes) -> bytes:
    """Wrap one payload in a frame, refusing bytes that would split or restart it at the peer."""
    for byte in (START_BLOCK, END_BLOCK):
        offset = payload.find(byte)
        if offset >= 0:
            raise PayloadError(byte, offset)
    return b"".join((_VT, payload, _TRAILER))


def encode_commit_ack() -> bytes:
    """An MLLP Release 2 commit acknowledgement block."""
    return _VT + COMMIT_ACK + _TRAILER


def encode_commit_nak() -> bytes:
    """An MLLP Release 2 negative commit acknowledgement block."""
    return _VT + COMMIT_NAK + _TRAILER


class _State(Enum):
    IDLE = 0
    FRAME = 1
    AFTER_FS = 2
    CLOSED = 3


class Decoder:
    """Incremental MLLP decoder; one per connection.

    After an event that ends the stream (:class:`JunkLimitExceeded`, :class:`FrameCapExceeded`,
    a fatal :class:`FramingViolation`) or after :meth:`eof`, :attr:`closed` is true and further
    input is ignored: the caller closes the connection.
    """

    __slots__ = (
        "_buf",
        "_direct",
        "_frame_starts",
        "_junk",
        "_oversize",
        "_policy",
        "_size",
        "_state",
    )

    def __init__(self, policy: FramingPolicy | None = None) -> None:
        self._policy = policy if policy is not None else FramingPolicy()
        self._state = _State.IDLE
        self._buf = bytearray()
        self._direct: bytes | None = None
        self._size = 0
        self._junk = 0
        self._oversize = False
        self._frame_starts = 0

    @property
    def policy(self) -> FramingPolicy:
        """The limits this decoder enforces."""
        return self._policy

    @property
    def in_frame(self) -> bool:
        """A start block has been read and its frame is not finished (whole-frame deadline)."""
        return self._state is _State.FRAME or self._state is _State.AFTER_FS

    @property
    def awaiting_cr(self) -> bool:
        """The last byte read was an end block: the I/O layer should run the FR-4 grace timer."""
        return self._state is _State.AFTER_FS

    @property
    def closed(self) -> bool:
        """No further input will be decoded; the connection must be closed."""
        return self._state is _State.CLOSED

    @property
    def frame_starts(self) -> int:
        """How many start blocks have opened a frame, so the I/O layer can restart its deadline."""
        return self._frame_starts

    @property
    def buffered(self) -> int:
        """Payload bytes held right now; never more than the maximum message size."""
        return len(self._buf) if self._direct is None else len(self._direct)

    def feed(self, data: bytes | bytearray) -> list[Event]:
        """Decode the next bytes of the stream, however they were split."""
        n = len(data)
        if (
            self._state is _State.IDLE
            and n > 3
            and data[0] == START_BLOCK
            and data[-2] == END_BLOCK
            and data[-1] == CARRIAGE_RETURN
            and not self._junk
            and n - 3 <= self._policy.max_message_size
            and data.find(_FS, 1, n - 2) < 0
            and data.find(_VT, 1) < 0
        ):
            # The common read: exactly one whole frame, nothing around it. The general path
            # below gives the same event; this one skips its per-state bookkeeping.
            self._frame_starts += 1
            payload = bytes(data[1:-2])
            if self._policy.release2 and payload in (COMMIT_ACK, COMMIT_NAK):
                return [CommitAck() if payload == COMMIT_ACK else CommitNak()]
            return [Frame(payload)]
        out: list[Event] = []
        pos = 0
        fs_at = -2  # next end block at or after pos in data: -1 none left, -2 not yet searched
        view = memoryview(data)
        while pos < n:
            state = self._state
            if state is _State.IDLE:
                vt_at = data.find(_VT, pos)
                end = n if vt_at < 0 else vt_at
                if end > pos and not self._discard_junk(end - pos, out):
                    return out
                if vt_at < 0:
                    return out
                if self._junk:
                    out.append(JunkDiscarded(self._junk))
                    self._junk = 0
                self._begin_frame()
                pos = vt_at + 1
            elif state is _State.FRAME:
                if fs_at == -2 or 0 <= fs_at < pos:
                    fs_at = data.find(_FS, pos)
                stop = n if fs_at < 0 else fs_at
                vt_at = data.find(_VT, pos, stop)
                if vt_at >= 0:
                    if not self._take(data, view, pos, vt_at, out):
                        return out
                    out.append(FrameTruncated(self._size, TruncationReason.NEW_START_BLOCK))
                    self._begin_frame()
                    pos = vt_at + 1
                    continue
                if not self._take(data, view, pos, stop, out):
                    return out
                if fs_at < 0:
                    return out
                pos = fs_at + 1
                fs_at = -2
                self._state = _State.AFTER_FS
            elif state is _State.AFTER_FS:
                if data[pos] == CARRIAGE_RETURN:
                    pos += 1
                    self._complete(out)
                else:
                    # The byte is not consumed: in lenient mode it is read again from IDLE.
                    self._violation(data[pos], out)
            else:
                return out
        return out

    def grace_expired(self) -> list[Event]:
        """The FR-4 grace period after an end block passed with no ``<CR>``."""
        out: list[Event] = []
        if self._state is _State.AFTER_FS:
            self._violation(None, out)
        return out

    def eof(self) -> list[Event]:
        """The stream ended: flush a pending junk count, abandon an open frame (FR-7)."""
        out: list[Event] = []
        state = self._state
        if state is _State.IDLE:
            if self._junk:
                out.append(JunkDiscarded(self._junk))
                self._junk = 0
        elif state is _State.FRAME:
            out.append(FrameTruncated(self._size, TruncationReason.EOF))
        elif state is _State.AFTER_FS:
            self._violation(None, out)
        self._close()
        return out

    def close(self) -> list[Event]:
        """The I/O layer is closing the stream itself: flush the junk count, abandon any frame.

        Unlike :meth:`eof`, a frame waiting for its ``<CR>`` is abandoned too, since no reply
        can follow on a connection that is going away.
        """
        out: list[Event] = []
        if self._state is _State.IDLE and self._junk:
            out.append(JunkDiscarded(self._junk))
        elif self.in_frame:
            out.append(FrameTruncated(self._size, TruncationReason.CLOSED))
        self._close()
        return out

    def _discard_junk(self, count: int, out: list[Event]) -> bool:
        limit = self._policy.junk_limit
        if self._junk + count > limit:
            self._close()
            out.append(JunkLimitExceeded(limit + 1))
            return False
        self._junk += count
        return True

    def _begin_frame(self) -> None:
        self._state = _State.FRAME
        if self._buf:
            self._buf = bytearray()
        self._direct = None
        self._size = 0
        self._oversize = False
        self._frame_starts += 1

    def _take(
        self, data: bytes | bytearray, view: memoryview, start: int, stop: int, out: list[Event]
    ) -> bool:
        """Account for payload bytes ``data[start:stop]``, keeping only what the limits allow."""
        count = stop - start
        if count == 0:
            return True
        policy = self._policy
        size = self._size + count
        cap = policy.frame_cap
        if size > cap:
            self._close()
            out.append(FrameCapExceeded(cap + 1))
            return False
        self._size = size
        if self._oversize:
            return True
        if size > policy.max_message_size:
            self._oversize = True
            head = min(policy.head_size, policy.max_message_size)
            room = head - len(self._buf)
            if room > 0:
                self._buf += view[start : start + min(room, count)]
            del self._buf[head:]
        elif size == count and stop < len(data) and data[stop] == END_BLOCK:
            # The whole payload is in this read: one copy instead of two.
            self._direct = bytes(view[start:stop])
        else:
            self._buf += view[start:stop]
        return True

    def _complete(self, out: list[Event]) -> None:
        if self._oversize:
            out.append(FrameOversize(self._size, bytes(self._buf)))
        else:
            payload = self._direct if self._direct is not None else bytes(self._buf)
            if self._policy.release2 and payload == COMMIT_ACK:
                out.append(CommitAck())
            elif self._policy.release2 and payload == COMMIT_NAK:
                out.append(CommitNak())
            else:
                out.append(Frame(payload))
        self._reset_frame()
        self._state = _State.IDLE

    def _violation(self, byte: int | None, out: list[Event]) -> None:
        if self._policy.mode is FramingMode.STRICT:
            out.append(FramingViolation(byte, fatal=True))
            self._close()
        else:
            out.append(FramingViolation(byte, fatal=False))
            self._complete(out)

    def _reset_frame(self) -> None:
        if self._buf:
            self._buf = bytearray()
        self._direct = None
        self._size = 0
        self._oversize = False

    def _close(self) -> None:
        self._reset_frame()
        self._junk = 0
        self._state = _State.CLOSED
