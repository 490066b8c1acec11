"""One inbound MLLP conversation: decode frames in order, call the handler, write each reply.

Shared by the listener (:mod:`eprlink.mllp.server`) and the connect-to-receive client
(:mod:`eprlink.mllp.receiver`), so both roles enforce the same limits, timers and counters. All
deadlines come from the event loop's monotonic clock (P11).

The session is an :class:`asyncio.Protocol` driven by the transport's callbacks rather than a
task reading a stream. A stream reader costs a task wake-up, a future and a buffer copy per
read; at a few thousand frames a second on one core that overhead was larger than the HL7 work.
A handler may answer at once (plain bytes: the reply is written inside ``data_received``) or
return an awaitable; then reading pauses, the awaitable runs as a task, and the frames already
decoded wait their turn, so replies still leave in frame order with one frame in hand.

Deadlines share one timer per connection. It is armed no later than the earliest deadline that
could apply (a frame may start at any moment, so never later than one frame deadline ahead) and,
when it fires, re-reads the real deadlines from the recorded times and re-arms; a read therefore
costs one clock reading, not a timer.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol, cast

from eprlink.mllp.deadlines import ReadTimes
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
from eprlink.mllp.tls import PeerCertificate, peer_certificate

__all__ = [
    "Handler",
    "Link",
    "MLLPCounters",
    "OversizeHook",
    "PeerInfo",
    "Session",
    "SessionPolicy",
]

_log = logging.getLogger(__name__)

# How long an orderly close (TLS close_notify, flushing the last reply) may take before the
# transport is aborted.
_CLOSE_TIMEOUT = 5.0


class Link(Protocol):
    """The connection a frame came in on, for a handler that must write to it later."""

    def send(self, payload: bytes) -> bool:
        """Frame and write ``payload`` after any reply still owed; False once it is closed."""
        ...


@dataclass(frozen=True, slots=True)
class PeerInfo:
    """Who is on the other end; ``certificate`` is set only for a TLS peer that presented one.

    ``link`` lets a handler write a later frame on the same connection (a synchronous
    application acknowledgement after the commit acknowledgement, in enhanced mode).
    """

    host: str
    port: int
    tls: bool = False
    certificate: PeerCertificate | None = None
    link: Link | None = field(default=None, compare=False, repr=False)

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
    """Framing limits and timers for one inbound connection (section 3 defaults, in seconds).

    ``write_timeout`` bounds how long a reply may sit unsent because the peer stopped reading.
    """

    framing: FramingPolicy = field(default_factory=FramingPolicy)
    idle_timeout: float = 600.0
    frame_deadline: float = 60.0
    grace_period: float = 2.0
    write_timeout: float = 60.0

    def __post_init__(self) -> None:
        for name in ("idle_timeout", "frame_deadline", "grace_period", "write_timeout"):
            if not getattr(self, name) > 0:
                raise PolicyError(name, "must be a positive number of seconds")


Reply = bytes | None
# A handler answers at once with the reply bytes (or None: no reply), or returns an awaitable
# that yields them; the first form costs no task.
Handler = Callable[[bytes, "PeerInfo"], Awaitable[Reply] | Reply]
OversizeHook = Callable[[bytes, "PeerInfo"], Awaitable[Reply] | Reply]


class Session(asyncio.Protocol):
    """Serves one connection until it must close; always closes it.

    :meth:`request_stop` asks for a graceful end: frames already decoded get their replies, no
    further bytes are read, then the connection closes (section 2.6, item 10).
    :meth:`wait_closed` returns why the connection ended once the transport is gone.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        handler: Handler,
        policy: SessionPolicy,
        counters: MLLPCounters,
        on_oversize: OversizeHook | None = None,
        role: str = "listener",
    ) -> None:
        self.peer = PeerInfo(host, port, link=self)
        self._handler = handler
        self._policy = policy
        self._counters = counters
        self._on_oversize = on_oversize
        self._role = role
        self._decoder = Decoder(policy.framing)
        self._loop = asyncio.get_running_loop()
        self._transport: asyncio.Transport | None = None
        self._pending: deque[Event] = deque()
        self._later: list[bytes] = []  # frames sent through the link while a reply is owed
        self._task: asyncio.Future[None] | None = None  # the handler's awaitable, if any
        self._reading_paused = False
        self._write_paused_at: float | None = None
        self._stop_requested = False
        self._fatal = False
        self._reset = False
        self._reason: str | None = None  # set once the session decided to close
        self._closed: asyncio.Future[str] = self._loop.create_future()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._times = ReadTimes(self._loop.time(), policy.grace_period)
        self._warned_violation = False
        self._frames = 0
        self._junk = 0
        self._debug = _log.isEnabledFor(logging.DEBUG)
        self._tls = False

    def _extra(self, action: str, **values: object) -> dict[str, object]:
        return {"action": action, "peer": str(self.peer), "role": self._role, **values}

    # -- public -------------------------------------------------------------------------------

    def request_stop(self) -> None:
        """Finish the frames in hand, then close; interrupts only a wait for more bytes."""
        if self._stop_requested:
            return
        self._stop_requested = True
        if self._transport is not None and self._reason is None:
            self._pause_reading()
            self._drain()

    def abort(self) -> None:
        """Drop the connection now, without replies (a shutdown that ran out of time)."""
        if self._task is not None:
            self._task.cancel()
        if self._transport is not None:
            self._reason = self._reason or "shutdown"
            self._transport.abort()

    def send(self, payload: bytes) -> bool:
        """Write a frame that is not the reply to a frame (see :class:`Link`). While a reply is
        still owed it waits behind it, so frames never interleave or overtake the reply."""
        encode(payload)  # refuse a payload that cannot be framed here, not when it is flushed
        if self._reason is not None or self._transport is None:
            return False
        if self._task is not None:
            self._later.append(payload)
        else:
            self._write(payload)
        return True

    async def wait_closed(self) -> str:
        """Wait until the connection is gone; returns the reason it closed."""
        return await asyncio.shield(self._closed)

    # -- transport callbacks ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)
        ssl_object = transport.get_extra_info("ssl_object")
        if ssl_object is not None:
            self._tls = True
            self.peer = PeerInfo(
                self.peer.host, self.peer.port, True, peer_certificate(ssl_object), self
            )
        now = self._loop.time()
        self._times = ReadTimes(now, self._policy.grace_period)
        self._arm(now + self._check_interval())
        if self._stop_requested:
            self._pause_reading()
            self._drain()

    def data_received(self, data: bytes) -> None:
        decoder = self._decoder
        events = decoder.feed(data)
        times = self._times
        times.read(decoder, self._loop.time())
        if times.grace_at is not None:
            self._arm(times.grace_at)
        if (
            len(events) == 1
            and type(events[0]) is Frame
            and not self._pending
            and self._task is None
            and self._write_paused_at is None
            and self._reason is None
            and not self._reading_paused
            and not self._stop_requested
        ):
            # The common read, one whole frame on an idle connection: what _drain would do,
            # without the queue. A reply the handler has at once is written right here.
            self._frame(events[0].payload)
            return
        self._pending.extend(events)
        if self._task is not None:  # the handler is busy and the peer sent more: hold off
            self._pause_reading()
        self._drain()

    def eof_received(self) -> bool:
        self._times.grace_at = None
        self._pending.extend(self._decoder.eof())
        self._drain()
        # A plain TCP peer that half-closed can still read the replies owed to it; asyncio's
        # TLS transport closes regardless (and warns if asked not to).
        return not self._tls and self._reason is None

    def connection_lost(self, exc: Exception | None) -> None:
        if exc is not None and self._reason is None:
            self._reset = True
        if self._reason is None:
            self._reason = self._closing_reason()
        self._pending.clear()
        self._count_all(self._decoder.close())
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._transport = None
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
            self._reason,
            extra=self._extra("connection_closed", reason=self._reason, frames=self._frames),
        )
        if not self._closed.done():
            self._closed.set_result(self._reason)

    def pause_writing(self) -> None:
        self._write_paused_at = self._loop.time()
        self._pause_reading()
        self._arm(self._write_paused_at + self._policy.write_timeout)

    def resume_writing(self) -> None:
        self._write_paused_at = None
        self._drain()

    # -- the work -----------------------------------------------------------------------------

    def _drain(self) -> None:
        """Handle decoded events in order until one needs waiting for, then settle the reading."""
        pending = self._pending
        while pending and self._task is None and self._write_paused_at is None:
            if self._reason is not None:
                pending.clear()
                return
            event = pending.popleft()
            if type(event) is Frame:
                going_on = self._frame(event.payload)
            else:
                going_on = self._reply_with(self._other(event))
            if not going_on:
                return
        if self._task is not None or self._reason is not None:
            return
        decoder = self._decoder
        if decoder.closed:
            self._close(self._closing_reason())
        elif self._stop_requested:
            self._close("shutdown")
        elif self._reading_paused and self._write_paused_at is None:
            self._reading_paused = False
            if self._transport is not None:
                self._transport.resume_reading()
                if decoder.in_frame:  # time spent in our own handler is not the peer's
                    self._times.frame_started = self._loop.time()

    def _frame(self, payload: bytes) -> bool:
        """Hand one frame to the handler; False when the session must stop handling frames
        for now (a reply is awaited, or the handler failed)."""
        self._counters.mllp_frames_received_total += 1
        self._frames += 1
        if self._debug:
            _log.debug("frame received", extra=self._extra("frame_received", size=len(payload)))
        try:
            reply = self._handler(payload, self.peer)
        except Exception as exc:
            self._handler_failed(exc, len(payload))
            return False
        return self._reply_with(reply)

    def _reply_with(self, reply: Awaitable[Reply] | Reply) -> bool:
        """Write a reply the handler had at once, or start awaiting one (then False)."""
        if reply is None:
            return self._reason is None
        if type(reply) is not bytes and inspect.isawaitable(reply):
            self._await(reply)
            return False
        self._write(reply)
        return True

    def _await(self, awaitable: Awaitable[Reply]) -> None:
        # Reading goes on: a sender with one message in flight sends nothing more until it has
        # its reply, and pausing and resuming would cost two selector changes per message. Only
        # bytes that do arrive meanwhile pause it (``data_received``), so at most one read's
        # worth of frames waits in ``_pending``.
        self._task = asyncio.ensure_future(self._finish(awaitable))

    async def _finish(self, awaitable: Awaitable[Reply]) -> None:
        """Await the handler and write its reply in the same step, before any other callback
        runs (work scheduled by the handler for "after the reply" relies on that order)."""
        try:
            reply = await awaitable
        except asyncio.CancelledError:
            self._task = None
            if self._reason is None:
                self._close("handler_failed")
            raise
        except Exception as exc:
            self._task = None
            self._handler_failed(exc, None)
            return
        self._task = None
        if reply is not None and self._reason is None:
            self._write(reply)
        if self._later:
            later, self._later = self._later, []
            for payload in later:
                self._write(payload)
        self._drain()

    def _handler_failed(self, exc: BaseException, size: int | None) -> None:
        # No reply and close (P2 default): the sender resends, nothing false is ACKed.
        extra = self._extra("handler_failed", size=size, error=type(exc).__name__)
        _log.error("handler failed; closing without reply", extra=extra)
        self._close("handler_failed")

    def _write(self, reply: bytes) -> None:
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        transport.write(encode(reply))
        self._counters.mllp_replies_sent_total += 1
        if self._debug:
            _log.debug("reply sent", extra=self._extra("reply_sent", size=len(reply)))

    def _other(self, event: Event) -> Awaitable[Reply] | Reply:
        """Count and log every event but a frame; an oversize frame may still get a reply."""
        self._count(event)
        if isinstance(event, FrameOversize) and self._on_oversize is not None:
            try:
                return self._on_oversize(event.head, self.peer)
            except Exception as exc:
                self._handler_failed(exc, event.size)
        return None

    def _count_all(self, events: list[Event]) -> None:
        for event in events:
            self._count(event)

    def _count(self, event: Event) -> None:
        counters = self._counters
        if isinstance(event, JunkDiscarded):
            counters.mllp_junk_bytes_total += event.count
            self._junk += event.count
            if self._debug:
                _log.debug("junk discarded", extra=self._extra("junk_discarded", count=event.count))
        elif isinstance(event, FramingViolation):
            counters.mllp_framing_violations_total += 1
            extra = self._extra("framing_violation", fatal=event.fatal)
            if event.fatal:
                self._fatal = True
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
        elif isinstance(event, FrameCapExceeded):
            self._fatal = True
            counters.mllp_oversize_closed_total += 1
            extra = self._extra("oversize_closed", size=event.count)
            _log.warning("frame passed the hard cap; closing", extra=extra)
        elif isinstance(event, JunkLimitExceeded):
            self._fatal = True
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

    # -- closing and timers -------------------------------------------------------------------

    def _closing_reason(self) -> str:
        if self._reset:
            return "reset"
        if self._fatal:
            return "framing_limit"
        return "peer_closed"

    def _pause_reading(self) -> None:
        if not self._reading_paused and self._transport is not None:
            self._reading_paused = True
            if not self._transport.is_closing():
                self._transport.pause_reading()

    def _close(self, reason: str) -> None:
        """Close once: flush what was written, then let ``connection_lost`` report the end."""
        if self._reason is not None:
            return
        self._reason = reason
        self._pending.clear()
        transport = self._transport
        if transport is None:
            if not self._closed.done():
                self._closed.set_result(reason)
            return
        transport.close()
        if self._timer is not None:  # the only deadline left is the close's own
            self._timer.cancel()
            self._timer = None
        self._arm(self._loop.time() + _CLOSE_TIMEOUT)

    def _check_interval(self) -> float:
        policy = self._policy
        return min(policy.idle_timeout, policy.frame_deadline)

    def _arm(self, at: float) -> None:
        """Make sure the timer fires no later than ``at``."""
        timer = self._timer
        if timer is not None:
            if self._timer_at <= at:
                return
            timer.cancel()
        self._timer_at = at
        self._timer = self._loop.call_at(at, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        transport = self._transport
        if transport is None:
            return
        now = self._loop.time()
        if self._reason is not None:  # the orderly close did not finish in time
            transport.abort()
            return
        policy = self._policy
        paused_at = self._write_paused_at
        if paused_at is not None and now >= paused_at + policy.write_timeout:
            extra = self._extra("reply_failed", error="TimeoutError")
            _log.info("reply to %s not written", self.peer, extra=extra)
            self._reason = "write_failed"
            transport.abort()
            return
        next_at = now + self._check_interval()
        if self._task is None and paused_at is None:
            times = self._times
            grace_at = times.grace_at
            if grace_at is not None:
                if now >= grace_at:
                    times.grace_at = None
                    self._pending.extend(self._decoder.grace_expired())
                    self._drain()
                    if self._reason is not None:
                        return
                else:
                    next_at = min(next_at, grace_at)
            if self._decoder.in_frame:
                frame_at = times.frame_started + policy.frame_deadline
                if now >= frame_at:
                    self._counters.mllp_frame_deadline_closed_total += 1
                    self._close("frame_deadline")
                    return
                next_at = min(next_at, frame_at)
            idle_at = times.last_read + policy.idle_timeout
            if now >= idle_at:
                self._counters.mllp_idle_timeouts_total += 1
                self._close("idle_timeout")
                return
            next_at = min(next_at, idle_at)
        elif paused_at is not None:
            next_at = min(next_at, paused_at + policy.write_timeout)
        self._arm(next_at)
