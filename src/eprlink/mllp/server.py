"""The MLLP listener: accepts connections, applies connection limits and TLS, runs a session each.

The listener accepts sockets itself (``loop.sock_accept``) and only then wraps them in a stream
with ``loop.connect_accepted_socket``. That ordering buys two things the policy asks for: a
connection over a limit is closed before a single byte is read (section 2.6, item 8), and a TLS
handshake that fails or times out is seen, counted and logged (``tls_handshake_failed``, F18)
instead of vanishing inside the event loop. It works the same on asyncio's loop and on uvloop.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl as _ssl
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType

from eprlink.mllp.errors import BindError, PolicyError
from eprlink.mllp.session import (
    Handler,
    MLLPCounters,
    OversizeHook,
    PeerInfo,
    Session,
    SessionPolicy,
)

__all__ = ["HandshakeHook", "MLLPServer"]

# Told about every failed TLS handshake, with the peer's address (a refused client certificate
# arrives as :class:`eprlink.mllp.tls.PeerRefusedError`), so the caller can audit it (F20).
HandshakeHook = Callable[[PeerInfo, BaseException], None]

_log = logging.getLogger(__name__)

_ACCEPT_ERROR_PAUSE = 0.1


@dataclass(slots=True, eq=False)
class _Connection:
    host: str
    port: int
    task: asyncio.Task[None] | None = field(default=None)
    session: Session | None = field(default=None)


class MLLPServer:
    """An MLLP listener calling ``handler(payload, peer)`` for every frame, in arrival order.

    ``on_handshake_failed(peer, error)`` hears of every failed TLS handshake.

    The handler returns the reply bytes, or an awaitable of them (a coroutine: the engine's
    store-then-ACK); either way the reply is framed and written before the next frame of that
    connection is handled; ``None`` means no reply (returning ``COMMIT_ACK`` sends an MLLP
    Release 2 commit block). A frame over the maximum size goes to ``on_oversize(head, peer)``
    instead (SZ-1), whose reply (the engine's AR 207) is sent the same way. If the handler
    raises, the connection is closed without a reply (P2).
    """

    def __init__(
        self,
        handler: Handler,
        *,
        host: str | None = "127.0.0.1",
        port: int = 0,
        ssl: _ssl.SSLContext | None = None,
        policy: SessionPolicy | None = None,
        max_connections: int = 10,
        max_connections_per_peer: int = 10,
        handshake_timeout: float = 10.0,
        on_oversize: OversizeHook | None = None,
        on_handshake_failed: HandshakeHook | None = None,
        counters: MLLPCounters | None = None,
        name: str = "mllp",
        backlog: int = 100,
    ) -> None:
        if max_connections < 1:
            raise PolicyError("max_connections", "must be at least 1")
        if max_connections_per_peer < 1:
            raise PolicyError("max_connections_per_peer", "must be at least 1")
        if not handshake_timeout > 0:
            raise PolicyError("handshake_timeout", "must be a positive number of seconds")
        self._handler = handler
        self._host = host
        self._port = port
        self._ssl = ssl
        self._policy = policy if policy is not None else SessionPolicy()
        self._max_connections = max_connections
        self._max_per_peer = max_connections_per_peer
        self._handshake_timeout = handshake_timeout
        self._on_oversize = on_oversize
        self._on_handshake_failed = on_handshake_failed
        self.counters = counters if counters is not None else MLLPCounters()
        self.name = name
        self._backlog = backlog
        self._sockets: list[socket.socket] = []
        self._bound: list[tuple[str, int]] = []
        self._acceptors: list[asyncio.Task[None]] = []
        self._connections: set[_Connection] = set()
        self._per_peer: Counter[str] = Counter()
        self._closing = False
        self._closed = asyncio.Event()

    @property
    def port(self) -> int:
        """The bound port (useful after binding port 0)."""
        return self.addresses[0][1]

    @property
    def addresses(self) -> list[tuple[str, int]]:
        """Every bound (host, port)."""
        if not self._bound:
            raise RuntimeError("server not started")
        return list(self._bound)

    @property
    def connections(self) -> int:
        """Connections currently held (including ones in the TLS handshake)."""
        return len(self._connections)

    async def start(self) -> None:
        """Bind and start accepting."""
        if self._sockets:
            return
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(
                self._host, self._port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
            )
            for family, kind, proto, _, address in dict.fromkeys(infos):
                sock = socket.socket(family, kind, proto)
                self._sockets.append(sock)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if family == socket.AF_INET6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                sock.bind(address)
                sock.listen(self._backlog)
                sock.setblocking(False)
        except OSError as exc:
            for sock in self._sockets:
                sock.close()
            self._sockets = []
            raise BindError(self._host, self._port, exc.strerror or str(exc)) from exc
        self._bound = [(s.getsockname()[0], s.getsockname()[1]) for s in self._sockets]
        self._acceptors = [loop.create_task(self._accept_loop(s)) for s in self._sockets]
        _log.info(
            "listener %s on %s",
            self.name,
            self._bound,
            extra={"action": "listener_started", "listener": self.name, "tls": bool(self._ssl)},
        )

    async def close(self, *, timeout: float | None = 30.0) -> None:
        """Stop accepting, let decoded frames get their replies, then close every connection.

        Connections still busy after ``timeout`` seconds are cancelled.
        """
        if not self._sockets:
            return
        if self._closing:
            await self._closed.wait()
            return
        self._closing = True
        for acceptor in self._acceptors:
            acceptor.cancel()
        await asyncio.gather(*self._acceptors, return_exceptions=True)
        for sock in self._sockets:
            sock.close()
        tasks = [conn.task for conn in self._connections if conn.task is not None]
        for conn in list(self._connections):
            if conn.session is not None:
                conn.session.request_stop()
            elif conn.task is not None:
                conn.task.cancel()  # still in the TLS handshake: no frame can be in hand
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=timeout)
            for conn in list(self._connections):
                if conn.task in pending and conn.session is not None:
                    conn.session.abort()
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)
        self._closed.set()
        _log.info(
            "listener %s closed",
            self.name,
            extra={"action": "listener_closed", "listener": self.name},
        )

    async def wait_closed(self) -> None:
        """Wait until :meth:`close` has finished."""
        await self._closed.wait()

    async def __aenter__(self) -> MLLPServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def _accept_loop(self, listener: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                sock, address = await loop.sock_accept(listener)
            except OSError as exc:
                # Out of descriptors and the like: back off briefly rather than spin.
                _log.warning(
                    "accept failed (%s)",
                    type(exc).__name__,
                    extra={"action": "accept_failed", "listener": self.name},
                )
                await asyncio.sleep(_ACCEPT_ERROR_PAUSE)
                continue
            self._admit(sock, str(address[0]), int(address[1]))

    def _admit(self, sock: socket.socket, host: str, port: int) -> None:
        """Decide on a fresh socket before any byte is read from it."""
        counters = self.counters
        counters.mllp_connections_accepted_total += 1
        refusal = None
        if self._closing:
            refusal = "shutting_down"
        elif len(self._connections) >= self._max_connections:
            refusal = "listener_limit"
        elif self._per_peer[host] >= self._max_per_peer:
            refusal = "peer_limit"
        if refusal is not None:
            counters.mllp_connections_refused_total += 1
            _log.info(
                "connection from %s:%d refused (%s)",
                host,
                port,
                refusal,
                extra={
                    "action": "connection_refused",
                    "listener": self.name,
                    "peer": f"{host}:{port}",
                    "reason": refusal,
                },
            )
            sock.close()
            return
        self._per_peer[host] += 1
        counters.mllp_connections_active += 1
        conn = _Connection(host, port)
        self._connections.add(conn)
        conn.task = asyncio.get_running_loop().create_task(self._run(conn, sock))
        conn.task.add_done_callback(lambda _t: self._release(conn))

    def _release(self, conn: _Connection) -> None:
        self._connections.discard(conn)
        self._per_peer[conn.host] -= 1
        if self._per_peer[conn.host] <= 0:
            del self._per_peer[conn.host]
        self.counters.mllp_connections_active -= 1

    async def _run(self, conn: _Connection, sock: socket.socket) -> None:
        """The connection's task: set the socket up, then wait for its session to end."""
        extra: dict[str, object] = {"listener": self.name, "peer": f"{conn.host}:{conn.port}"}
        session = Session(
            conn.host,
            conn.port,
            handler=self._handler,
            policy=self._policy,
            counters=self.counters,
            on_oversize=self._on_oversize,
            role=self.name,
        )
        connected = False
        try:
            sock.setblocking(False)
            _enable_keepalive(sock)
            connected = await self._connect(sock, session, extra)
        finally:
            if not connected:
                sock.close()
        if not connected:
            return
        conn.session = session
        _log.info(
            "connection from %s",
            session.peer,
            extra={**extra, "action": "connection_opened", "tls": session.peer.tls},
        )
        if self._closing:
            session.request_stop()
        await session.wait_closed()

    async def _connect(
        self, sock: socket.socket, session: Session, extra: dict[str, object]
    ) -> bool:
        """Attach the session to the socket, running the TLS handshake if configured."""
        loop = asyncio.get_running_loop()
        try:
            if self._ssl is None:
                await loop.connect_accepted_socket(lambda: session, sock)
            else:
                async with asyncio.timeout(self._handshake_timeout):
                    await loop.connect_accepted_socket(
                        lambda: session,
                        sock,
                        ssl=self._ssl,
                        ssl_handshake_timeout=self._handshake_timeout,
                    )
        except (OSError, TimeoutError) as exc:
            if self._ssl is None:
                return False
            self.counters.senders_refused_total += 1
            reason = getattr(exc, "reason", None) or type(exc).__name__
            _log.info(
                "TLS handshake with %s failed (%s)",
                extra["peer"],
                reason,
                extra={**extra, "action": "tls_handshake_failed", "reason": str(reason)},
            )
            if self._on_handshake_failed is not None:
                try:
                    self._on_handshake_failed(session.peer, exc)
                except Exception as hook_error:  # the refusal stands whatever the hook does
                    _log.error(
                        "handshake-failure hook failed",
                        extra={
                            **extra,
                            "action": "hook_failed",
                            "error": type(hook_error).__name__,
                        },
                    )
            return False
        return True


def _enable_keepalive(sock: socket.socket) -> None:
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    except OSError:
        _log.debug("could not enable TCP keepalive", extra={"action": "keepalive_failed"})
