"""The connect-to-receive role: dial a remote outbound port and take the messages it pushes.

Some senders (the CareFlow integration engine among them) push to whoever connected to their
outbound port rather than connecting out. The receiver is that client: it runs the same session
as the listener (same limits, timers and counters), writes each reply only after the handler has
returned (store, then ACK; P1), and redials with backoff whenever the connection drops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl as _ssl
from collections.abc import Awaitable, Callable

from eprlink.mllp.client import Backoff, Sleep, connect_protocol
from eprlink.mllp.errors import ConnectError, PolicyError
from eprlink.mllp.session import MLLPCounters, PeerInfo, Reply, Session, SessionPolicy

__all__ = ["MLLPReceiver", "ReceiveHandler"]

_log = logging.getLogger(__name__)

ReceiveHandler = Callable[[bytes], Awaitable[bytes | None]]
ReceiveOversizeHook = Callable[[bytes], bytes | Awaitable[bytes | None] | None]


class MLLPReceiver:
    """Keeps one receive connection to ``host:port`` until :meth:`stop` is called.

    ``handler(payload)`` is awaited for each frame in arrival order and its return value (if not
    ``None``) is the reply. ``on_oversize(head)`` answers a frame over the size limit (SZ-1).
    """

    def __init__(
        self,
        host: str,
        port: int,
        handler: ReceiveHandler,
        *,
        ssl: _ssl.SSLContext | None = None,
        server_hostname: str | None = None,
        policy: SessionPolicy | None = None,
        connect_timeout: float = 10.0,
        on_oversize: ReceiveOversizeHook | None = None,
        backoff: Backoff | None = None,
        sleep: Sleep | None = None,
        counters: MLLPCounters | None = None,
        name: str = "receiver",
    ) -> None:
        if not connect_timeout > 0:
            raise PolicyError("connect_timeout", "must be a positive number of seconds")
        self.host = host
        self.port = port
        self._handler = handler
        self._ssl = ssl
        self._server_hostname = server_hostname
        self._policy = policy if policy is not None else SessionPolicy()
        self._connect_timeout = connect_timeout
        self._on_oversize = on_oversize
        self.backoff = backoff if backoff is not None else Backoff()
        self._sleep = sleep
        self.counters = counters if counters is not None else MLLPCounters()
        self.name = name
        self._stopping = False
        self._wake: asyncio.Event | None = None
        self._session: Session | None = None
        self.connections_made = 0

    def _extra(self, action: str, **values: object) -> dict[str, object]:
        return {"action": action, "peer": f"{self.host}:{self.port}", "role": self.name, **values}

    def stop(self) -> None:
        """Ask :meth:`run` to return: a frame in hand still gets its reply, then the link closes."""
        self._stopping = True
        if self._wake is not None:
            self._wake.set()
        if self._session is not None:
            self._session.request_stop()

    async def run(self) -> None:
        """Connect, serve, and reconnect with backoff until :meth:`stop`."""
        self._wake = asyncio.Event()
        if self._stopping:
            return
        while not self._stopping:
            session = Session(
                self.host,
                self.port,
                handler=self._call_handler,
                policy=self._policy,
                counters=self.counters,
                on_oversize=self._call_oversize if self._on_oversize is not None else None,
                role=self.name,
            )
            try:
                await connect_protocol(
                    lambda session=session: session,  # type: ignore[misc]
                    self.host,
                    self.port,
                    ssl=self._ssl,
                    server_hostname=self._server_hostname,
                    timeout=self._connect_timeout,
                )
            except ConnectError as exc:
                _log.info("%s", exc, extra=self._extra("connect_failed", reason=exc.reason))
                await self._pause()
                continue
            self.connections_made += 1
            frames_before = self.counters.mllp_frames_received_total
            await self._serve(session)
            if self.counters.mllp_frames_received_total != frames_before:
                self.backoff.reset()
            if not self._stopping:
                await self._pause()

    async def _serve(self, session: Session) -> None:
        _log.info(
            "connected to %s to receive", session.peer, extra=self._extra("connection_opened")
        )
        self._session = session
        self.counters.mllp_connections_active += 1
        try:
            if self._stopping:
                session.request_stop()
            await session.wait_closed()
        finally:
            self.counters.mllp_connections_active -= 1
            self._session = None

    def _call_handler(self, payload: bytes, peer: PeerInfo) -> Awaitable[bytes | None]:
        return self._handler(payload)

    def _call_oversize(self, head: bytes, peer: PeerInfo) -> Awaitable[Reply] | Reply:
        return None if self._on_oversize is None else self._on_oversize(head)

    async def _pause(self) -> None:
        """Wait the next backoff delay, returning early if a stop is requested."""
        delay = self.backoff.next_delay()
        _log.debug("reconnecting in %.2f s", delay, extra=self._extra("reconnect_scheduled"))
        if self._sleep is not None:
            await self._sleep(delay)
            return
        wake = self._wake
        assert wake is not None
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(delay):
                await wake.wait()
