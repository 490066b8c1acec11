"""The MLLP sender: a persistent connection, one message in flight, responses judged by the caller.

The client does not read HL7. The engine passes ``accept``, a predicate such as "MSA-2 equals the
MSH-10 I sent" (AK-3); any frame it refuses is a stale response, counted and skipped. Whenever the
outcome of a send is unknown (timeout, oversize or unusable response, peer close, cancellation)
the connection is closed before the error is raised (AK-4), so a late reply can never be taken
as the answer to the next message.
"""

from __future__ import annotations

import asyncio
import logging
import random
import ssl as _ssl
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import TypeVar

from eprlink.mllp.errors import (
    AckTimeoutError,
    ConnectError,
    ConnectionClosedError,
    FramingError,
    NoAckError,
    PolicyError,
    ResponseTooLargeError,
)
from eprlink.mllp.framing import (
    COMMIT_ACK,
    COMMIT_NAK,
    CommitAck,
    CommitNak,
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
from eprlink.mllp.streams import FrameSource, close_writer

__all__ = ["Backoff", "ClientCounters", "MLLPClient", "open_stream"]

_log = logging.getLogger(__name__)
_STREAM_LIMIT = 256 * 1024
_MIB = 1024 * 1024

Sleep = Callable[[float], Awaitable[None]]


class Backoff:
    """Exponential retry delays with jitter, capped, so a struggling peer is not flooded (AK-4).

    ``rng`` returns floats in [0, 1); tests pass a fixed one to make delays exact.
    """

    def __init__(
        self,
        *,
        initial: float = 1.0,
        maximum: float = 300.0,
        factor: float = 2.0,
        jitter: float = 0.2,
        rng: Callable[[], float] = random.random,
    ) -> None:
        if not 0 < initial <= maximum:
            raise PolicyError("backoff", "need 0 < initial <= maximum")
        if factor < 1:
            raise PolicyError("backoff", "factor must be at least 1")
        if not 0 <= jitter < 1:
            raise PolicyError("backoff", "jitter must be in [0, 1)")
        self.initial = initial
        self.maximum = maximum
        self.factor = factor
        self.jitter = jitter
        self._rng = rng
        self._base = initial
        self.attempts = 0

    def next_delay(self) -> float:
        """The delay before the next attempt; each call doubles the base up to the maximum."""
        base = self._base
        self._base = min(self.maximum, base * self.factor)
        self.attempts += 1
        return base * (1.0 + self.jitter * (2.0 * self._rng() - 1.0))

    def reset(self) -> None:
        """Start again from the initial delay (after a success)."""
        self._base = self.initial
        self.attempts = 0


@dataclass(slots=True)
class ClientCounters:
    """Sender counters named as in section 7 of the policy.

    ``outbound_attempts_total`` counts messages written to a connection; connect failures are
    counted apart, since nothing was sent.
    """

    outbound_attempts_total: int = 0
    outbound_ack_timeouts_total: int = 0
    outbound_stale_acks_total: int = 0
    outbound_connects_total: int = 0
    outbound_connect_failures_total: int = 0
    mllp_junk_bytes_total: int = 0
    mllp_framing_violations_total: int = 0
    mllp_truncated_frames_total: int = 0


_P = TypeVar("_P", bound=asyncio.BaseProtocol)


async def connect_protocol(
    factory: Callable[[], _P],
    host: str,
    port: int,
    *,
    ssl: _ssl.SSLContext | None,
    server_hostname: str | None,
    timeout: float,
) -> tuple[asyncio.Transport, _P]:
    """Connect (and complete TLS) within ``timeout``, mapping every failure to ConnectError."""
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(timeout):
            transport, protocol = await loop.create_connection(
                factory,
                host,
                port,
                ssl=ssl,
                server_hostname=(server_hostname or host) if ssl is not None else None,
                ssl_handshake_timeout=timeout if ssl is not None else None,
            )
    except _ssl.SSLCertVerificationError as exc:
        raise ConnectError(
            host, port, exc.verify_message or "certificate rejected", tls=True
        ) from exc
    except _ssl.SSLError as exc:
        raise ConnectError(host, port, exc.reason or type(exc).__name__, tls=True) from exc
    except TimeoutError as exc:
        raise ConnectError(host, port, f"timed out after {timeout:g} s") from exc
    except OSError as exc:
        raise ConnectError(host, port, exc.strerror or type(exc).__name__) from exc
    return transport, protocol


async def open_stream(
    host: str,
    port: int,
    *,
    ssl: _ssl.SSLContext | None,
    server_hostname: str | None,
    timeout: float,
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """:func:`connect_protocol` for a stream reader and writer."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=_STREAM_LIMIT, loop=loop)
    transport, protocol = await connect_protocol(
        lambda: asyncio.StreamReaderProtocol(reader, loop=loop),
        host,
        port,
        ssl=ssl,
        server_hostname=server_hostname,
        timeout=timeout,
    )
    return reader, asyncio.StreamWriter(transport, protocol, reader, loop)


class MLLPClient:
    """A sender for one destination, safe to share between tasks: a lock keeps one message in
    flight (AK-1), and :meth:`close` waits for a send in progress to finish.

    Cancelling a send aborts the connection, since its outcome is unknown.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        ssl: _ssl.SSLContext | None = None,
        server_hostname: str | None = None,
        connect_timeout: float = 10.0,
        ack_timeout: float = 30.0,
        max_response_size: int = _MIB,
        junk_limit: int = _MIB,
        grace_period: float = 2.0,
        release2: bool = False,
        backoff: Backoff | None = None,
        sleep: Sleep = asyncio.sleep,
        counters: ClientCounters | None = None,
        read_size: int = 64 * 1024,
    ) -> None:
        for name, value in (
            ("connect_timeout", connect_timeout),
            ("ack_timeout", ack_timeout),
            ("grace_period", grace_period),
        ):
            if not value > 0:
                raise PolicyError(name, "must be a positive number of seconds")
        self.host = host
        self.port = port
        self._ssl = ssl
        self._server_hostname = server_hostname
        self._connect_timeout = connect_timeout
        self._ack_timeout = ack_timeout
        self._framing = FramingPolicy(
            max_message_size=max_response_size,
            hard_cap=max_response_size,
            head_size=0,
            junk_limit=junk_limit,
            release2=release2,
        )
        self._grace = grace_period
        self._read_size = read_size
        self.backoff = backoff if backoff is not None else Backoff()
        self._sleep = sleep
        self.counters = counters if counters is not None else ClientCounters()
        self._lock = asyncio.Lock()
        self._writer: asyncio.StreamWriter | None = None
        self._source: FrameSource | None = None
        self._pending: deque[bytes] = deque()

    @property
    def connected(self) -> bool:
        """A connection is open (it may still turn out to be dead on the next send)."""
        return self._writer is not None

    def _extra(self, action: str, **values: object) -> dict[str, object]:
        return {"action": action, "peer": f"{self.host}:{self.port}", **values}

    async def connect(self, *, attempts: int | None = 1) -> None:
        """Open the connection now, with backoff between tries.

        ``attempts`` of ``None`` means keep trying until it works.
        """
        async with self._lock:
            tried = 0
            while self._writer is None:
                tried += 1
                try:
                    await self._open()
                except ConnectError:
                    if attempts is not None and tried >= attempts:
                        raise
                    await self._sleep(self.backoff.next_delay())

    async def send(self, payload: bytes, *, accept: Callable[[bytes], bool]) -> bytes:
        """Send one payload and return the first response frame ``accept`` approves.

        Connects first if needed (one attempt). Raises :class:`ConnectError` when nothing was
        sent and a :class:`NoAckError` when the outcome is unknown.
        """
        async with self._lock:
            return await self._exchange(payload, accept)

    async def send_with_retry(
        self, payload: bytes, *, accept: Callable[[bytes], bool], attempts: int = 5
    ) -> bytes:
        """:meth:`send`, retried with backoff after connect failures and missing ACKs.

        The lock is held across retries so no other message overtakes this one (FIFO, P3).
        """
        if attempts < 1:
            raise PolicyError("attempts", "must be at least 1")
        async with self._lock:
            attempt = 0
            while True:
                attempt += 1
                try:
                    response = await self._exchange(payload, accept)
                except (ConnectError, NoAckError) as exc:
                    if attempt >= attempts:
                        raise
                    delay = self.backoff.next_delay()
                    extra = self._extra("retry_scheduled", attempt=attempt, delay=delay)
                    _log.info("send failed (%s); retrying in %.2f s", exc, delay, extra=extra)
                    await self._sleep(delay)
                else:
                    self.backoff.reset()
                    return response

    async def close(self) -> None:
        """Close the connection; the next send opens a new one."""
        async with self._lock:
            await self._drop("closed by caller")

    async def __aenter__(self) -> MLLPClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def _open(self) -> None:
        try:
            reader, writer = await open_stream(
                self.host,
                self.port,
                ssl=self._ssl,
                server_hostname=self._server_hostname,
                timeout=self._connect_timeout,
            )
        except ConnectError as exc:
            self.counters.outbound_connect_failures_total += 1
            _log.info("%s", exc, extra=self._extra("connect_failed", reason=exc.reason))
            raise
        self.counters.outbound_connects_total += 1
        self._writer = writer
        self._source = FrameSource(
            reader, self._framing, grace=self._grace, read_size=self._read_size
        )
        self._pending.clear()
        _log.info(
            "connected to %s:%d", self.host, self.port, extra=self._extra("connection_opened")
        )

    def _forget(self) -> asyncio.StreamWriter | None:
        writer, source = self._writer, self._source
        self._writer = None
        self._source = None
        self._pending.clear()
        if source is not None:
            self._absorb(source.decoder.close())  # count junk or a partial frame left behind
        return writer

    async def _drop(self, reason: str) -> None:
        writer = self._forget()
        if writer is not None:
            await close_writer(writer)
            _log.info(
                "connection to %s:%d closed (%s)",
                self.host,
                self.port,
                reason,
                extra=self._extra("connection_closed", reason=reason),
            )

    def _abort(self) -> None:
        writer = self._forget()
        if writer is not None:
            writer.transport.abort()

    async def _exchange(self, payload: bytes, accept: Callable[[bytes], bool]) -> bytes:
        frame = encode(payload)
        if self._source is not None and self._source.at_eof:
            # The peer hung up while the link was idle; nothing of this message went out yet.
            await self._drop("peer closed while idle")
        if self._writer is None:
            await self._open()
        self.counters.outbound_attempts_total += 1
        try:
            return await self._write_and_wait(frame, accept)
        except NoAckError as exc:
            await self._drop(exc.reason)
            raise
        except BaseException:
            # Cancelled or ``accept`` failed: the outcome is unknown, so this stream is finished.
            self._abort()
            raise

    async def _write_and_wait(self, frame: bytes, accept: Callable[[bytes], bool]) -> bytes:
        writer, source = self._writer, self._source
        assert writer is not None and source is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._ack_timeout
        try:
            writer.write(frame)
            async with asyncio.timeout_at(deadline):
                await writer.drain()
        except TimeoutError:
            self.counters.outbound_ack_timeouts_total += 1
            raise AckTimeoutError(self.host, self.port, self._ack_timeout) from None
        except OSError as exc:
            raise ConnectionClosedError(
                self.host, self.port, "connection lost while sending"
            ) from exc
        pending = self._pending
        while True:
            while pending:
                response = pending.popleft()
                if accept(response):
                    return response
                self.counters.outbound_stale_acks_total += 1
                _log.debug(
                    "stale response ignored",
                    extra=self._extra("stale_ack_ignored", size=len(response)),
                )
            if source.decoder.closed:
                raise ConnectionClosedError(self.host, self.port, "peer closed the connection")
            try:
                events = await source.events(deadline)
            except TimeoutError:
                self.counters.outbound_ack_timeouts_total += 1
                raise AckTimeoutError(self.host, self.port, self._ack_timeout) from None
            failure = self._absorb(events)
            if failure is not None:
                # Frames that arrived before the failure still count, then the stream is done.
                while pending:
                    response = pending.popleft()
                    if accept(response):
                        await self._drop(failure.reason)
                        return response
                    self.counters.outbound_stale_acks_total += 1
                raise failure

    def _absorb(self, events: list[Event]) -> NoAckError | None:
        """Queue response frames in order; return the error that ends the stream, if any."""
        counters = self.counters
        for event in events:
            if isinstance(event, Frame):
                self._pending.append(event.payload)
            elif isinstance(event, CommitAck):
                self._pending.append(COMMIT_ACK)
            elif isinstance(event, CommitNak):
                self._pending.append(COMMIT_NAK)
            elif isinstance(event, JunkDiscarded):
                counters.mllp_junk_bytes_total += event.count
                _log.debug(
                    "junk before response", extra=self._extra("junk_discarded", count=event.count)
                )
            elif isinstance(event, FrameTruncated):
                counters.mllp_truncated_frames_total += 1
                _log.debug(
                    "truncated response", extra=self._extra("frame_truncated", size=event.count)
                )
            elif isinstance(event, FramingViolation):
                counters.mllp_framing_violations_total += 1
                if event.fatal:
                    return FramingError(self.host, self.port, "end block without CR")
            elif isinstance(event, FrameCapExceeded | FrameOversize):
                return ResponseTooLargeError(self.host, self.port, self._framing.max_message_size)
            elif isinstance(event, JunkLimitExceeded):
                counters.mllp_junk_bytes_total += event.count
                return FramingError(self.host, self.port, "junk limit passed")
        return None
