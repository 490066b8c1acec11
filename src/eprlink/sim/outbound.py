"""An outbound CareFlow IE port: the third party connects, and the link pushes its queue to it.

FIFO until ACK (reference §2): one message in flight; it leaves the queue only when an AA/CA
whose MSA-2 names it comes back; without one in time it is sent again (on the same connection,
or when the peer reconnects); a response naming another message is stale and ignored. AE and
AR hold the head and retry, or skip it and carry on, as configured. A newer connection takes
over from an older one, since a TIE that reconnects has usually lost the old socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl as _ssl
from collections import deque
from dataclasses import dataclass, field

from eprlink.ack import DEFAULT_SUCCESS, Verdict, control_id_of, read_ack
from eprlink.sim.capture import CaptureWriter
from eprlink.sim.config import ListenerConfig, OnNak, OnTimeout
from eprlink.sim.faults import FaultInjector
from eprlink.sim.queue import LinkQueue, QueuedMessage
from eprlink.sim.wire import Connection, DroppedError, bound_port, serve

__all__ = ["LinkStats", "OutboundLink"]

_log = logging.getLogger(__name__)


@dataclass(slots=True)
class LinkStats:
    """What one listener has done; counters only, no message content."""

    connections: int = 0
    queued: int = 0
    sent: int = 0  # frames written, resends included
    acknowledged: int = 0
    errors: int = 0  # AE (or CE) answers
    rejects: int = 0  # AR (or CR) answers
    skipped: int = 0
    timeouts: int = 0
    stale: int = 0  # answers naming another message, or unusable ones
    received: int = 0  # inbound listeners: frames read
    answered: int = 0  # inbound listeners: replies written
    latencies: deque[float] = field(default_factory=lambda: deque(maxlen=10_000))

    def latency(self, share: float) -> float | None:
        """A percentile of send-to-ACK seconds (0.5 median, 0.95 …) over recent messages."""
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


class OutboundLink:
    """One outbound port with its persistent queue."""

    def __init__(
        self,
        config: ListenerConfig,
        *,
        queue: LinkQueue,
        injector: FaultInjector,
        capture: CaptureWriter | None = None,
        ssl: _ssl.SSLContext | None = None,
    ) -> None:
        self.config = config
        self.name = config.name
        self.queue = queue
        self.injector = injector
        self.stats = LinkStats()
        self._capture = capture
        self._ssl = ssl
        self._server: asyncio.Server | None = None
        self._wake = asyncio.Event()
        self._active: asyncio.Task[None] | None = None
        self._takeover = asyncio.Lock()
        self._connections: set[Connection] = set()
        self._held = 0

    @property
    def port(self) -> int:
        return bound_port(self._server, self.name)

    @property
    def connected(self) -> bool:
        return self._active is not None and not self._active.done()

    def enqueue(self, payload: bytes, *, kind: str) -> str | None:
        """Queue a message (after its payload fault, if one is drawn); returns the fault name,
        or None when the payload holds MLLP block bytes and could never be framed."""
        if b"\x0b" in payload or b"\x1c" in payload:
            _log.warning(
                "%s: a message with MLLP block bytes cannot be sent; not queued",
                self.name,
                extra={"action": "sim_unframable", "listener": self.name},
            )
            return None
        data, fault = self.injector.payload(payload)
        control_id = control_id_of(data) or ""
        self.queue.push(data, control_id=control_id, kind=kind, fault=fault)
        self.stats.queued += 1
        self._wake.set()
        return fault

    async def start(self) -> None:
        c = self.config
        self._server = await serve(
            self._accept, host=c.host, port=c.port, ssl=self._ssl, name=self.name, role="outbound"
        )

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        if self._active is not None:
            self._active.cancel()
            await asyncio.wait({self._active})
        for connection in list(self._connections):
            await connection.close()
        if self._server is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(2.0):
                    await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = Connection(reader, writer, listener=self.name, capture=self._capture)
        self._connections.add(connection)
        self.stats.connections += 1
        _log.info(
            "peer connected to %s",
            self.name,
            extra={"action": "sim_connected", "listener": self.name},
        )
        try:
            async with self._takeover:
                previous = self._active
                if previous is not None and not previous.done():
                    previous.cancel()
                    await asyncio.wait({previous})
                task = asyncio.current_task()
                assert task is not None
                self._active = task
            await self._push(connection)
        except asyncio.CancelledError:
            pass  # replaced by a newer connection, or stopping
        finally:
            await connection.close()
            self._connections.discard(connection)

    async def _idle(self, connection: Connection) -> bool:
        """Wait for work; False when the peer went away first."""
        while self.queue.head() is None:
            self._wake.clear()
            if connection.closed.is_set():
                return False
            waiters = {
                asyncio.ensure_future(self._wake.wait()),
                asyncio.ensure_future(connection.closed.wait()),
            }
            try:
                await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waiters:
                    waiter.cancel()
        return not connection.closed.is_set()

    async def _push(self, connection: Connection) -> None:
        loop = asyncio.get_running_loop()
        while await self._idle(connection):
            head = self.queue.head()
            assert head is not None
            plan = self.injector.wire()
            try:
                await connection.send(head.payload, plan)
            except DroppedError:
                if plan.drop_after:
                    self.queue.attempted(head.id)
                    self.stats.sent += 1
                return  # the head stays; it is resent when the peer reconnects
            self.queue.attempted(head.id)
            self.stats.sent += 1
            sent_at = loop.time()
            answer = await self._answer(connection, head)
            if answer is None:
                return  # the peer went away, or timed out in reconnect mode
            code, result = answer
            if result is None:
                continue  # timed out: send the head again
            if result is Verdict.ACCEPT:
                self.stats.latencies.append(loop.time() - sent_at)
                self.queue.acknowledged(head.id, code)
                self.stats.acknowledged += 1
                continue
            await self._refused(connection, head, code, result)

    async def _answer(
        self, connection: Connection, head: QueuedMessage
    ) -> tuple[str, Verdict | None] | None:
        """(MSA-1, verdict) for the head, ("", None) on a timeout, None once the link is gone."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.ack_timeout
        while True:
            try:
                frame = await connection.frame(max(0.0, deadline - loop.time()))
            except TimeoutError:
                self.stats.timeouts += 1
                _log.info(
                    "no ACK from %s peer in time; resending",
                    self.name,
                    extra={
                        "action": "sim_ack_timeout",
                        "listener": self.name,
                        "control_id": head.control_id,
                    },
                )
                if self.config.on_timeout is OnTimeout.RECONNECT:
                    await connection.close()
                    return None
                return "", None
            if frame is None:
                return None
            result = read_ack(frame)
            if result is None or (result.control_id or "") != head.control_id:
                self.stats.stale += 1  # AK-3/AK-6: not the answer to this message
                continue
            return result.code.value, result.classify(success=DEFAULT_SUCCESS)

    async def _refused(
        self, connection: Connection, head: QueuedMessage, code: str, verdict: Verdict
    ) -> None:
        """AE/AR: skip and log, or hold the head and wait before resending it."""
        error = verdict is Verdict.ERROR
        if error:
            self.stats.errors += 1
        else:
            self.stats.rejects += 1
        action = self.config.on_error if error else self.config.on_reject
        extra = {"listener": self.name, "control_id": head.control_id, "code": code}
        if action is OnNak.SKIP:
            self.queue.skipped(head.id, code)
            self.stats.skipped += 1
            _log.warning(
                "%s answered %s; message skipped",
                self.name,
                code,
                extra={"action": "sim_skipped", **extra},
            )
            return
        level = logging.DEBUG if head.id == self._held else logging.WARNING
        self._held = head.id  # warn once per held message, not once per retry
        _log.log(
            level,
            "%s answered %s; holding and retrying",
            self.name,
            code,
            extra={"action": "sim_held", **extra},
        )
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.config.retry_delay):
                await connection.closed.wait()
