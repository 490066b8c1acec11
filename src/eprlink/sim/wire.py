"""One MLLP connection as the simulator drives it: frames in a queue, faults on the way out.

The simulator's outbound ports push to whoever connects, which a handler-per-frame server
cannot do, so connections are served here on asyncio streams with the sans-I/O decoder of
:mod:`eprlink.mllp`. A background task reads frames as they arrive; writers apply the wire
faults chosen for each frame, and everything goes to the capture when there is one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from ssl import SSLContext

from eprlink.mllp import Decoder, Frame, FramingPolicy, encode
from eprlink.sim.capture import CaptureWriter

_log = logging.getLogger(__name__)

__all__ = ["GARBAGE", "Connection", "DroppedError", "WirePlan"]

GARBAGE = b"\x00\x00 \r\n"
"""Bytes a keep-alive or a Unix queue file leaves between frames; receivers drop them (FR-2)."""
_GRACE = 0.5


class DroppedError(ConnectionError):
    """The connection was closed on purpose (a fault) or by the peer while writing."""


@dataclass(frozen=True, slots=True)
class WirePlan:
    """The wire faults for one frame; the default is a clean write."""

    delay: float = 0.0
    drop_before: bool = False
    drop_after: bool = False
    duplicate: bool = False
    garbage: bool = False
    lf_trailer: bool = False

    @property
    def faults(self) -> tuple[str, ...]:
        names = ("drop_before", "drop_after", "duplicate", "garbage", "lf_trailer")
        found = tuple(name for name in names if getattr(self, name))
        return (("delay",) if self.delay > 0 else ()) + found


class Connection:
    """A peer connection: :meth:`send` writes one frame (with its faults), :meth:`frame` returns
    the next frame read (``None`` once the peer has gone)."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        listener: str,
        capture: CaptureWriter | None = None,
        max_size: int = 16 * 1024 * 1024,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self.listener = listener
        self._capture = capture
        address = writer.get_extra_info("peername")
        self.peer = f"{address[0]}:{address[1]}" if isinstance(address, tuple) else "?"
        self._decoder = Decoder(FramingPolicy(max_message_size=max_size))
        self._frames: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.closed = asyncio.Event()
        self._record("in", "connect")
        self._task = asyncio.get_running_loop().create_task(self._read_loop())

    def _record(self, direction: str, event: str, data: bytes = b"") -> None:
        if self._capture is not None:
            self._capture.record(self.listener, direction, self.peer, event, data)

    async def _read_loop(self) -> None:
        decoder = self._decoder
        try:
            while not decoder.closed:
                try:
                    if decoder.awaiting_cr:
                        async with asyncio.timeout(_GRACE):
                            data = await self._reader.read(65536)
                    else:
                        data = await self._reader.read(65536)
                except TimeoutError:
                    self._take(decoder.grace_expired())
                    continue
                if not data:
                    self._take(decoder.eof())
                    break
                self._take(decoder.feed(data))
        except (ConnectionError, OSError):
            pass
        finally:
            self._frames.put_nowait(None)
            self.closed.set()

    def _take(self, events: Sequence[object]) -> None:
        for event in events:
            if isinstance(event, Frame):
                self._record("in", "frame", encode(event.payload))
                self._frames.put_nowait(event.payload)

    async def frame(self, timeout: float | None = None) -> bytes | None:
        """The next frame's payload; ``None`` when the connection has ended; TimeoutError."""
        if self._frames.empty() and self.closed.is_set():
            return None
        async with asyncio.timeout(timeout):
            payload = await self._frames.get()
        if payload is None:
            self._frames.put_nowait(None)  # every later call sees the end too
        return payload

    async def send(self, payload: bytes, plan: WirePlan | None = None) -> None:
        """Write one frame with ``plan``'s faults; DroppedError when the connection is gone."""
        plan = plan or WirePlan()
        if plan.delay > 0:
            await asyncio.sleep(plan.delay)
        if self.closed.is_set() or self._writer.is_closing():
            raise DroppedError("connection closed")
        if plan.drop_before:
            await self.close()
            raise DroppedError("dropped before sending (fault)")
        data = encode(payload)
        if plan.lf_trailer:
            data = data[:-1] + b"\n"
        if plan.garbage:
            data = GARBAGE + data
        if plan.duplicate:
            data += data
        try:
            self._writer.write(data)
            await self._writer.drain()
        except (ConnectionError, OSError) as exc:
            await self.close()
            raise DroppedError("connection lost while sending") from exc
        self._record("out", "frame", data)
        if plan.drop_after:
            await self.close()
            raise DroppedError("dropped after sending (fault)")

    async def close(self) -> None:
        if not self._writer.is_closing():
            self._record("out", "close")
            self._writer.close()
        with contextlib.suppress(ConnectionError, OSError, TimeoutError):
            async with asyncio.timeout(1.0):
                await self._writer.wait_closed()
        self._task.cancel()
        await asyncio.wait({self._task})
        self.closed.set()


async def serve(
    accept: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
    *,
    host: str,
    port: int,
    ssl: SSLContext | None,
    name: str,
    role: str,
) -> asyncio.Server:
    """Open one of the simulator's listening ports (TLS when ``ssl`` is given) and log it."""
    server = await asyncio.start_server(
        accept, host, port, ssl=ssl, ssl_handshake_timeout=10.0 if ssl else None
    )
    _log.info(
        "%s %s listening on %s:%d",
        role,
        name,
        host,
        bound_port(server, name),
        extra={"action": "sim_listening", "listener": name},
    )
    return server


def bound_port(server: asyncio.Server | None, name: str) -> int:
    """The port a listener is bound to (useful when it was opened on port 0)."""
    if server is None or not server.sockets:
        raise RuntimeError(f"listener {name} is not started")
    return int(server.sockets[0].getsockname()[1])
