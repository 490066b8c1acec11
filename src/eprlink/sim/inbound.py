"""An inbound CareFlow IE port: third parties send orders, registrations or alerts and get answers.

Frames on one connection are answered in arrival order; the listener's wire faults (drops,
slow ACKs, garbage, duplicates) apply to every answer it writes, and its answer faults turn an
answer into AE or AR. Accepted messages are handed to ``on_accept`` once per control id, so a
resent order does not produce its results twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl as _ssl
from collections import OrderedDict
from collections.abc import Callable

from eprlink.hl7 import Message
from eprlink.sim.answers import Handled, Responder
from eprlink.sim.capture import CaptureWriter
from eprlink.sim.config import ListenerConfig
from eprlink.sim.faults import FaultInjector
from eprlink.sim.outbound import LinkStats
from eprlink.sim.wire import Connection, DroppedError, bound_port, serve

__all__ = ["InboundListener"]

_log = logging.getLogger(__name__)
_SEEN = 100_000  # control ids remembered for "once per message" hand-over


class InboundListener:
    """One inbound port: a server, a responder, faults, and who to tell about accepted messages."""

    def __init__(
        self,
        config: ListenerConfig,
        *,
        responder: Responder,
        injector: FaultInjector,
        capture: CaptureWriter | None = None,
        ssl: _ssl.SSLContext | None = None,
        on_accept: Callable[[Message], None] | None = None,
    ) -> None:
        self.config = config
        self.name = config.name
        self.responder = responder
        self.injector = injector
        self.stats = LinkStats()
        self.codes: dict[str, int] = {}
        self._capture = capture
        self._ssl = ssl
        self._on_accept = on_accept
        self._server: asyncio.Server | None = None
        self._connections: set[Connection] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._seen: OrderedDict[tuple[str, str], None] = OrderedDict()

    @property
    def port(self) -> int:
        return bound_port(self._server, self.name)

    async def start(self) -> None:
        c = self.config
        self._server = await serve(
            self._accept, host=c.host, port=c.port, ssl=self._ssl, name=self.name, role="inbound"
        )

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(set(self._tasks))
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
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await self._serve(connection)
        except asyncio.CancelledError:
            pass
        finally:
            await connection.close()
            self._connections.discard(connection)
            if task is not None:
                self._tasks.discard(task)

    async def _serve(self, connection: Connection) -> None:
        while True:
            payload = await connection.frame()
            if payload is None:
                return
            self.stats.received += 1
            handled = self._respond(payload)
            if handled.code:
                self.codes[handled.code] = self.codes.get(handled.code, 0) + 1
                if handled.code in ("AE", "CE"):
                    self.stats.errors += 1
                elif handled.code in ("AR", "CR"):
                    self.stats.rejects += 1
            if handled.accepted and handled.message is not None:
                self.stats.acknowledged += 1
                self._hand_over(handled.message)  # committed before answering, as P1 asks
            for reply in handled.replies:
                if reply.delay > 0:
                    await asyncio.sleep(reply.delay)
                try:
                    await connection.send(reply.payload, self.injector.wire())
                except DroppedError:
                    return
                self.stats.answered += 1

    def _respond(self, payload: bytes) -> Handled:
        """The responder's answer; if it fails, AR 207 rather than a dropped connection."""
        try:
            return self.responder.respond(payload, self.injector.answer())
        except Exception as exc:
            _log.error(
                "%s could not answer a message (%s); answering AR",
                self.name,
                type(exc).__name__,
                extra={"action": "sim_answer_failed", "listener": self.name},
            )
            return self.responder.failed(payload)

    def _hand_over(self, message: Message) -> None:
        """Tell ``on_accept`` about a message once, however often it is resent."""
        key = (message.get("MSH-3.1") or "", message.control_id or "")
        if key in self._seen:
            return
        self._seen[key] = None
        if len(self._seen) > _SEEN:
            self._seen.popitem(last=False)
        if self._on_accept is not None:
            self._on_accept(message)
