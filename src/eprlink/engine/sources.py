"""Where messages come from: an MLLP listener, a connect-to-receive link, a watched folder.

Each source hands payloads to its channel's :class:`~eprlink.engine.inbound.InboundChannel`
and acts on the answer: write the reply, or close without one (P2). The MLLP session closes a
connection when its handler raises, which is how "no reply and close" is carried out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import ssl as _ssl
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from eprlink.engine.access import Permit, SenderGate, audit_refusal
from eprlink.engine.alerts import clean
from eprlink.engine.config import (
    DirectorySource,
    MLLPListenerSource,
    MLLPReceiverSource,
    ServerTLS,
)
from eprlink.engine.errors import EngineError
from eprlink.engine.inbound import InboundChannel, Reception
from eprlink.engine.senders import tls_context
from eprlink.hl7 import split_messages
from eprlink.mllp import (
    COMMIT_ACK,
    COMMIT_NAK,
    Backoff,
    FramingMode,
    FramingPolicy,
    MLLPCounters,
    MLLPReceiver,
    MLLPServer,
    PeerInfo,
    SessionPolicy,
    server_context,
)
from eprlink.mllp.client import Sleep
from eprlink.mllp.tls import PeerCertificate, PeerRefusedError, authorise_peers

__all__ = ["CloseWithoutReplyError", "FolderWatcher", "Listener", "Receiver", "Runner"]

_log = logging.getLogger(__name__)


class CloseWithoutReplyError(EngineError):
    """Raised from a frame handler so the session closes the connection without a reply."""


class Runner(Protocol):
    """A running source, as the runtime and the status report see it."""

    @property
    def connections(self) -> int: ...

    def describe(self) -> str: ...

    async def start(self) -> None: ...

    async def stop(self, timeout: float) -> None: ...


def _server_tls(tls: ServerTLS | None) -> _ssl.SSLContext | None:
    if tls is None:
        return None
    return server_context(
        str(tls.cert),
        None if tls.key is None else str(tls.key),
        client_ca=None if tls.client_ca is None else str(tls.client_ca),
        require_client_cert=tls.require_client_cert,
    )


def _session_policy(
    config: MLLPListenerSource | MLLPReceiverSource,
) -> SessionPolicy:
    mode = FramingMode.STRICT if config.strict_framing else FramingMode.LENIENT
    release2 = config.reply.mllp_release == 2
    return SessionPolicy(
        framing=FramingPolicy(max_message_size=config.max_size, mode=mode, release2=release2),
        idle_timeout=config.idle_timeout,
        frame_deadline=config.frame_deadline,
    )


_NOBODY = Permit(frozenset())


def _answer(reception: Reception, release2: bool) -> bytes | None:
    """The bytes to write for a reception, or raise to close without a reply (P2).

    MLLP Release 2 replaces the HL7 ACK with a commit block: ``0x06`` once the frame is durably
    accounted for (stored, as accepted or as rejected: R2 acknowledges the commit, not the
    content; refusals stay visible to operators and in reconciliation), ``0x15`` when nothing
    was committed, so the sender sends it again. An acknowledgement sent to us still gets
    nothing (HD-13).
    """
    if not release2:
        if reception.close:
            raise CloseWithoutReplyError("failure before commit; closing without a reply (P2)")
        return reception.reply
    if reception.committed:
        return COMMIT_ACK
    if reception.close or reception.reply is not None:
        return COMMIT_NAK
    return None


class Listener:
    """An MLLP listener feeding one channel; with ``access`` configured it also checks who
    is sending (HD-12): certificates at the handshake, MSH-3/MSH-4 on every message."""

    def __init__(self, channel: InboundChannel, config: MLLPListenerSource) -> None:
        self.channel = channel
        self.config = config
        self.counters = MLLPCounters()
        self.server: MLLPServer | None = None
        self.gate = None if config.access is None else SenderGate(config.access)
        self._audits: set[asyncio.Task[None]] = set()

    @property
    def connections(self) -> int:
        return 0 if self.server is None else self.server.connections

    @property
    def port(self) -> int:
        if self.server is None:
            raise EngineError("listener not started")
        return self.server.port

    def describe(self) -> str:
        scheme = "mllps" if self.config.tls else "mllp"
        port = self.server.port if self.server is not None else self.config.port
        return f"{scheme} listener {self.config.host}:{port}"

    async def _handle(self, payload: bytes, peer: PeerInfo) -> bytes | None:
        permit = None
        if self.gate is not None:
            permit = self.gate.permit(peer.certificate) or _NOBODY
        reception = await self.channel.receive(payload, str(peer), permit, peer.link)
        if reception.sender_refused:
            self.counters.senders_refused_total += 1
        return _answer(reception, self.config.reply.mllp_release == 2)

    def _oversize(self, head: bytes, peer: PeerInfo) -> bytes:
        reply = self.channel.oversize(head)
        return COMMIT_NAK if self.config.reply.mllp_release == 2 else reply

    def _check_certificate(self, certificate: PeerCertificate | None) -> str | None:
        """Called inside each TLS handshake (F20): a reason to refuse, or None."""
        assert self.gate is not None
        return self.gate.refusal(certificate)

    def _handshake_failed(self, peer: PeerInfo, error: BaseException) -> None:
        """The listener counted and logged the failed handshake; a refused certificate is also
        a security event, audited with the peer's address, the reason and the fingerprint."""
        if not isinstance(error, PeerRefusedError):
            return
        task = asyncio.get_running_loop().create_task(
            audit_refusal(
                self.channel.store,
                channel=self.channel.name,
                reason=error.reason,
                peer=str(peer),
                fingerprint=error.fingerprint,
            )
        )
        self._audits.add(task)
        task.add_done_callback(self._audits.discard)

    async def start(self) -> None:
        c = self.config
        context = _server_tls(c.tls)
        if context is not None and self.gate is not None and self.gate.by_certificate:
            authorise_peers(context, self._check_certificate)
        self.server = MLLPServer(
            self._handle,
            host=c.host,
            port=c.port,
            ssl=context,
            policy=_session_policy(c),
            max_connections=c.max_connections,
            max_connections_per_peer=c.max_connections_per_peer,
            handshake_timeout=c.handshake_timeout,
            on_oversize=self._oversize,
            on_handshake_failed=self._handshake_failed if self.gate is not None else None,
            counters=self.counters,
            name=self.channel.name,
        )
        await self.server.start()

    async def stop(self, timeout: float) -> None:
        if self.server is not None:
            await self.server.close(timeout=timeout)
        if self._audits:
            await asyncio.wait(set(self._audits), timeout=timeout)


class Receiver:
    """Connect-to-receive: dial the partner's outbound port and take what it pushes."""

    def __init__(
        self,
        channel: InboundChannel,
        config: MLLPReceiverSource,
        *,
        sleep: Sleep | None = None,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.channel = channel
        self.config = config
        self.counters = MLLPCounters()
        self.receiver: MLLPReceiver | None = None
        self._task: asyncio.Task[None] | None = None
        self._sleep = sleep  # tests replace the redial wait; None waits on the loop's clock
        self._rng = rng

    @property
    def connections(self) -> int:
        return self.counters.mllp_connections_active

    def describe(self) -> str:
        return f"mllp receiver to {self.config.host}:{self.config.port}"

    async def _handle(self, payload: bytes) -> bytes | None:
        reception = await self.channel.receive(payload, f"{self.config.host}:{self.config.port}")
        return _answer(reception, self.config.reply.mllp_release == 2)

    def _oversize(self, head: bytes) -> bytes:
        reply = self.channel.oversize(head)
        return COMMIT_NAK if self.config.reply.mllp_release == 2 else reply

    async def start(self) -> None:
        c = self.config
        self.receiver = MLLPReceiver(
            c.host,
            c.port,
            self._handle,
            ssl=tls_context(c.tls),
            server_hostname=None if c.tls is None else c.tls.server_hostname,
            policy=_session_policy(c),
            connect_timeout=c.connect_timeout,
            backoff=Backoff(
                initial=c.reconnect.initial,
                maximum=c.reconnect.maximum,
                jitter=c.reconnect.jitter,
                rng=self._rng,
            ),
            sleep=self._sleep,
            on_oversize=self._oversize,
            counters=self.counters,
            name=self.channel.name,
        )
        self._task = asyncio.get_running_loop().create_task(self.receiver.run())

    async def stop(self, timeout: float) -> None:
        if self.receiver is not None:
            self.receiver.stop()
        if self._task is not None:
            done, _ = await asyncio.wait([self._task], timeout=timeout)
            if not done:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task


def _listing(folder: Path, pattern: str) -> list[Path]:
    """Files ready to take, oldest name first; names starting with '.' are still being
    written (writers should write ``.name`` and rename)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob(pattern) if p.is_file() and not p.name.startswith("."))


def _move(path: Path, folder: Path) -> None:
    folder.mkdir(exist_ok=True)
    target = folder / path.name
    number = 0
    while target.exists():
        number += 1
        target = folder / f"{path.name}.{number}"
    os.replace(path, target)


class FolderWatcher:
    """A watched folder: files are read, each message stored, then the file is moved to
    ``done`` (every message accepted) or ``failed`` (something rejected). A file whose
    messages could not all be committed stays where it is and is tried again (dedupe makes
    the retry safe)."""

    def __init__(self, channel: InboundChannel, config: DirectorySource) -> None:
        self.channel = channel
        self.config = config
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.busy = False

    connections = 0

    def describe(self) -> str:
        return f"folder {self.config.path}"

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self, timeout: float) -> None:
        self._stop.set()
        if self._task is not None:
            done, _ = await asyncio.wait([self._task], timeout=timeout)
            if not done:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task

    async def _run(self) -> None:
        while not self._stop.is_set():
            try:
                await self.scan()
            except OSError as exc:
                _log.error(
                    "folder scan failed (%s)",
                    type(exc).__name__,
                    extra={"action": "folder_scan_failed", "channel": self.channel.name},
                )
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.config.poll_interval):
                    await self._stop.wait()

    async def scan(self) -> int:
        """Take every ready file once; returns how many files were finished."""
        c = self.config
        finished = 0
        for path in await asyncio.to_thread(_listing, c.path, c.pattern):
            if self._stop.is_set():
                break
            outcome = await self._take(path)
            if outcome is None:
                break  # the store is not taking messages: try again at the next scan
            await asyncio.to_thread(_move, path, c.path / (c.done if outcome else c.failed))
            finished += 1
        return finished

    async def _take(self, path: Path) -> bool | None:
        data = await asyncio.to_thread(path.read_bytes)
        payloads = split_messages(data) or [data]
        all_accepted = True
        for payload in payloads:
            reception = await self.channel.receive(payload, f"file:{clean(path.name)}")
            if reception.close or not reception.committed:
                return None
            all_accepted = all_accepted and reception.accepted
        return all_accepted
