"""One inbound MLLP conversation: read frames in order, await the handler, write each reply.

Shared by the listener (:mod:`eprlink.mllp.server`) and the connect-to-receive client
(:mod:`eprlink.mllp.receiver`), so both roles enforce the same limits, timers and counters. All
deadlines come from the event loop's monotonic clock (P11).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from eprlink.mllp.errors import PolicyError
from eprlink.mllp.framing import (
    CommitAck,
    CommitNak,
    Decoder,
    Event,
    Frame,
    FrameCapExceeded,
    FrameOversize,
    FrameTruncated,
    FramingPolicy,
    FramingViolation,
    JunkDiscarded,
    JunkLimitExceeded,
    encode,
)
from eprlink.mllp.tls import PeerCertificate

__all__ = [
    "FrameSource",
    "Handler",
    "MLLPCounters",
    "OversizeHook",
    "PeerInfo",
    "Session",
    "SessionPolicy",
]

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PeerInfo:
    """Who is on the other end; ``certificate`` is set only for a TLS peer that presented one."""

    host: str
    port: int
    tls: bool = False
    certificate: PeerCertificate | None = None

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(slots=True)
class MLLPCounters:
    """Transport counters named as in section 7 of the policy; plain ints for any exporter.

    One instance may be shared by several listeners or receivers to aggregate them.
    ``mllp_connections_accepted_total`` counts every TCP accept, including those then refused
    for a limit (``mllp_connections_refused_total``) or a failed TLS handshake
    (``senders_refused_total``); ``mllp_connections_active`` is a gauge.
    """

    mllp_frames_received_total: int = 0
    mllp_replies_sent_total: int = 0
    mllp_junk_bytes_total: int = 0
    mllp_framing_violations_total: int = 0
    mllp_truncated_frames_total: int = 0
    mllp_oversize_rejected_total: int = 0
    mllp_oversize_closed_total: int = 0
    mllp_junk_limit_closed_total: int = 0
    mllp_idle_timeouts_total: int = 0
    mllp_frame_deadline_closed_total: int = 0
    mllp_connections_accepted_total: int = 0
    mllp_connections_refused_total: int = 0
    mllp_connections_active: int = 0
    senders_refused_total: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionPolicy:
    """Framing limits and timers for one inbound connection (section 3 defaults, in seconds)."""

    framing: FramingPolicy = field(default_factory=FramingPolicy)
    idle_timeout: float = 600.0
    frame_deadline: float = 60.0
    grace_period: float = 2.0
    write_timeout: float = 60.0
    read_size: int = 64 * 1024

    def __post_init__(self) -> None:
        for name in ("idle_timeout", "frame_deadline", "grace_period", "write_timeout"):
            if not getattr(self, name) > 0:
                raise PolicyError(name, "must be a positive number of seconds")
        if self.read_size < 1:
            raise PolicyError("read_size", "must be at least 1")


Handler = Callable[[bytes, PeerInfo], Awaitable[bytes | None]]
OversizeHook = Callable[[bytes, PeerInfo], bytes | Awaitable[bytes | None] | None]


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
        self._grace = grace
        self._read_size = read_size
        self._loop = asyncio.get_running_loop()
        self._grace_at: float | None = None
        self._starts = 0
        self.last_read = self._loop.time()
        self.frame_started = self.last_read
        self.reset = False

    @property
    def at_eof(self) -> bool:
        """The peer has closed and everything it sent has been read."""
        return self._reader.at_eof()

    async def events(self, deadline: float) -> list[Event]:
        """Events from the next read; raises ``TimeoutError`` when ``deadline`` passes first."""
        grace_at = self._grace_at
        wake = deadline if grace_at is None else min(deadline, grace_at)
        try:
            async with asyncio.timeout_at(wake):
                data = await self._reader.read(self._read_size)
        except TimeoutError:
            if grace_at is not None and grace_at <= deadline:
                self._grace_at = None
                return self.decoder.grace_expired()
            raise
        except OSError:
            self.reset = True
            data = b""
        if not data:
            self._grace_at = None
            return self.decoder.eof()
        now = self._loop.time()
        self.last_read = now
        decoder = self.decoder
        events = decoder.feed(data)
        if decoder.frame_starts != self._starts:
            self._starts = decoder.frame_starts
            self.frame_started = now
        self._grace_at = now + self._grace if decoder.awaiting_cr else None
        return events


class Session:
    """Serves one connection until it must close; always closes it.

    :meth:`request_stop` asks for a graceful end: frames already decoded get their replies, a
    wait for more bytes is cut short, then the connection closes (section 2.6, item 10).
    """

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        peer: PeerInfo,
        *,
        handler: Handler,
        policy: SessionPolicy,
        counters: MLLPCounters,
        on_oversize: OversizeHook | None = None,
        role: str = "listener",
    ) -> None:
        self.peer = peer
        self._reader = reader
        self._writer = writer
        self._handler = handler
        self._policy = policy
        self._counters = counters
        self._on_oversize = on_oversize
        self._role = role
        self._task: asyncio.Task[None] | None = None
        self._reading = False
        self._stop_requested = False
        self._warned_violation = False
        self._frames = 0
        self._junk = 0
        self._source: FrameSource | None = None

    def _extra(self, action: str, **values: object) -> dict[str, object]:
        return {"action": action, "peer": str(self.peer), "role": self._role, **values}

    def request_stop(self) -> None:
        """Finish the frames in hand, then close; interrupts only a wait for more bytes."""
        self._stop_requested = True
        if self._reading and self._task is not None:
            self._task.cancel()

    async def run(self) -> None:
        """Serve until the peer leaves, a limit closes the connection or a stop is requested."""
        self._task = asyncio.current_task()
        reason = "peer_closed"
        try:
            reason = await self._serve()
        except asyncio.CancelledError:
            task = self._task
            if not self._stop_requested or task is None:
                raise
            task.uncancel()
            reason = "shutdown"
        finally:
            if self._source is not None:
                for event in self._source.decoder.close():
                    await self._handle(event)
            await close_writer(self._writer)
            if self._frames == 0 and self._junk:
                _log.info(
                    "non-MLLP traffic from %s: %d bytes, no frames",
                    self.peer,
                    self._junk,
                    extra=self._extra("non_mllp_traffic", count=self._junk),
                )
            _log.info(
                "connection with %s closed (%s)",
                self.peer,
                reason,
                extra=self._extra("connection_closed", reason=reason, frames=self._frames),
            )

    async def _serve(self) -> str:
        policy = self._policy
        source = FrameSource(
            self._reader, policy.framing, grace=policy.grace_period, read_size=policy.read_size
        )
        self._source = source
        decoder = source.decoder
        while not self._stop_requested:
            idle_at = source.last_read + policy.idle_timeout
            frame_at = source.frame_started + policy.frame_deadline
            frame_first = decoder.in_frame and frame_at <= idle_at
            self._reading = True
            try:
                events = await source.events(frame_at if frame_first else idle_at)
            except TimeoutError:
                if frame_first:
                    self._counters.mllp_frame_deadline_closed_total += 1
                    return "frame_deadline"
                self._counters.mllp_idle_timeouts_total += 1
                return "idle_timeout"
            finally:
                self._reading = False
            for event in events:
                failure = await self._handle(event)
                if failure is not None:
                    return failure
            if decoder.closed:
                if source.reset:
                    return "reset"
                return "peer_closed" if not _fatal(events) else "framing_limit"
        return "shutdown"

    async def _handle(self, event: Event) -> str | None:
        """Act on one event; returns why the connection must close, or ``None`` to go on."""
        counters = self._counters
        if isinstance(event, Frame):
            counters.mllp_frames_received_total += 1
            self._frames += 1
            size = len(event.payload)
            _log.debug("frame received", extra=self._extra("frame_received", size=size))
            try:
                reply = await self._handler(event.payload, self.peer)
            except Exception as exc:
                # No reply and close (P2 default): the sender resends, nothing false is ACKed.
                extra = self._extra("handler_failed", size=size, error=type(exc).__name__)
                _log.error("handler failed; closing without reply", extra=extra)
                return "handler_failed"
            return await self._reply(reply)
        if isinstance(event, JunkDiscarded):
            counters.mllp_junk_bytes_total += event.count
            self._junk += event.count
            _log.debug("junk discarded", extra=self._extra("junk_discarded", count=event.count))
        elif isinstance(event, FramingViolation):
            counters.mllp_framing_violations_total += 1
            extra = self._extra("framing_violation", fatal=event.fatal)
            if event.fatal:
                _log.warning("end block without CR in strict mode; closing", extra=extra)
            elif not self._warned_violation:
                self._warned_violation = True
                _log.warning("end block without CR (lenient; warned once)", extra=extra)
            else:
                _log.debug("end block without CR", extra=extra)
        elif isinstance(event, FrameTruncated):
            counters.mllp_truncated_frames_total += 1
            extra = self._extra("frame_truncated", size=event.count, reason=str(event.reason))
            _log.debug("truncated frame discarded", extra=extra)
        elif isinstance(event, FrameOversize):
            counters.mllp_oversize_rejected_total += 1
            extra = self._extra("oversize_rejected", size=event.size)
            _log.info("oversize frame rejected: %d bytes", event.size, extra=extra)
            if self._on_oversize is not None:
                try:
                    answer = self._on_oversize(event.head, self.peer)
                    reply = await answer if inspect.isawaitable(answer) else answer
                except Exception as exc:
                    extra = self._extra("handler_failed", size=event.size, error=type(exc).__name__)
                    _log.error("oversize hook failed; closing without reply", extra=extra)
                    return "handler_failed"
                return await self._reply(reply)
        elif isinstance(event, FrameCapExceeded):
            counters.mllp_oversize_closed_total += 1
            extra = self._extra("oversize_closed", size=event.count)
            _log.warning("frame passed the hard cap; closing", extra=extra)
        elif isinstance(event, JunkLimitExceeded):
            counters.mllp_junk_bytes_total += event.count
            counters.mllp_junk_limit_closed_total += 1
            self._junk += event.count
            extra = self._extra("non_mllp_traffic", count=event.count)
            _log.warning("non-MLLP traffic passed the junk limit; closing", extra=extra)
        elif isinstance(event, CommitAck | CommitNak):
            action = (
                "commit_ack_received" if isinstance(event, CommitAck) else "commit_nak_received"
            )
            _log.debug("release 2 commit block ignored", extra=self._extra(action))
        return None

    async def _reply(self, reply: bytes | None) -> str | None:
        if reply is None:
            return None
        frame = encode(reply)
        try:
            self._writer.write(frame)
            async with asyncio.timeout(self._policy.write_timeout):
                await self._writer.drain()
        except (OSError, TimeoutError) as exc:
            extra = self._extra("reply_failed", size=len(reply), error=type(exc).__name__)
            _log.info("reply to %s not written", self.peer, extra=extra)
            return "write_failed"
        self._counters.mllp_replies_sent_total += 1
        _log.debug("reply sent", extra=self._extra("reply_sent", size=len(reply)))
        return None


def _fatal(events: list[Event]) -> bool:
    return any(
        isinstance(e, JunkLimitExceeded | FrameCapExceeded)
        or (isinstance(e, FramingViolation) and e.fatal)
        for e in events
    )


async def close_writer(writer: asyncio.StreamWriter, *, timeout: float = 5.0) -> None:
    """Close a stream, aborting it if the orderly close (TLS close_notify) does not finish."""
    writer.close()
    try:
        async with asyncio.timeout(timeout):
            await writer.wait_closed()
    except (OSError, TimeoutError):
        writer.transport.abort()
