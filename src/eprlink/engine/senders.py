"""Destination transports: MLLP, HTTP POST, a file directory, a Python callable.

Each turns one send into an :class:`Attempt`: delivered, an error (AE/CE, HTTP 5xx, a raising
callable), a reject (AR/CR, HTTP 4xx), a timeout (no usable response: the outcome is unknown),
or unreachable (nothing was sent). The worker maps that onto the destination's policy; senders
decide nothing about the queue.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import re
import ssl as _ssl
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from eprlink.ack import MSA3_PATTERN, AckCode, AckResult, Verdict, read_ack
from eprlink.engine.config import (
    CallableDestination,
    ClientTLS,
    DestinationConfig,
    FileDestination,
    HTTPDestination,
    MLLPDestination,
)
from eprlink.engine.http import HTTPError, post
from eprlink.engine.metrics import Metrics
from eprlink.engine.values import resolve_callable
from eprlink.mllp import (
    COMMIT_ACK,
    COMMIT_NAK,
    AckTimeoutError,
    ConnectError,
    MLLPClient,
    NoAckError,
    client_context,
)
from eprlink.store import AckRecord, Delivery

__all__ = ["Attempt", "Result", "Sender", "build_sender", "tls_context"]

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")


class Result(StrEnum):
    DELIVERED = "delivered"
    ERROR = "error"
    REJECT = "reject"
    TIMEOUT = "timeout"
    UNREACHABLE = "unreachable"


@dataclass(frozen=True, slots=True)
class Attempt:
    """One send's outcome. ``error_codes`` are the ERR codes of an MLLP partner's AE/AR/CE/CR,
    as numbers only (never its texts), for the application-ACK relay."""

    result: Result
    ack: AckRecord
    error_codes: tuple[int, ...] = ()


class Sender(Protocol):
    @property
    def connected(self) -> bool: ...

    async def prepare(self) -> bool:
        """Make ready to send (connect); False when the destination cannot be reached now."""

    async def send(self, delivery: Delivery, payload: bytes, control_id: str | None) -> Attempt:
        """Send once; never raises for a failure of the destination."""

    async def close(self) -> None: ...


def tls_context(tls: ClientTLS | None) -> _ssl.SSLContext | None:
    if tls is None:
        return None
    return client_context(
        cafile=None if tls.ca is None else str(tls.ca),
        certfile=None if tls.cert is None else str(tls.cert),
        keyfile=None if tls.key is None else str(tls.key),
        check_hostname=tls.check_hostname,
    )


def _response_text(result: AckResult) -> str:
    """What is recorded of a partner's error response: its ERR codes, and MSA-3 only when it is
    one of the policy's PHI-free texts (partners' own texts may quote the message)."""
    parts = []
    if result.text and MSA3_PATTERN.fullmatch(result.text):
        parts.append(result.text)
    if result.error_codes:
        parts.append("ERR " + ",".join(str(c) for c in result.error_codes[:10]))
    return "; ".join(parts)


class MLLPSender:
    """One persistent connection; a response counts only when MSA-2 names what was sent.

    With ``mllp_release = 2`` the partner answers with commit blocks instead: ``0x06`` (the
    receiver committed the message: delivered) or ``0x15`` (it could not: an error, so
    ``on_error`` decides). A commit block names no message, so only one-in-flight (AK-1) and
    closing the connection after a timeout (AK-4) tie it to the message just sent; an HL7 frame
    on such a link is not an answer and is skipped like a stale ACK.
    """

    def __init__(self, config: MLLPDestination, *, name: str, metrics: Metrics) -> None:
        self.name = name
        self._metrics = metrics
        self._success = frozenset(AckCode(code) for code in config.success)
        self._release2 = config.mllp_release == 2
        self._await_application_ack = config.await_application_ack
        tls = config.tls
        self.client = MLLPClient(
            config.host,
            config.port,
            ssl=tls_context(tls),
            server_hostname=None if tls is None else tls.server_hostname,
            connect_timeout=config.connect_timeout,
            ack_timeout=config.ack_timeout,
            max_response_size=config.max_response_size,
            release2=self._release2,
        )

    @property
    def connected(self) -> bool:
        return self.client.connected

    async def prepare(self) -> bool:
        if self.client.connected:
            return True
        try:
            await self.client.connect(attempts=1)
        except ConnectError:
            return False
        return True

    async def send(self, delivery: Delivery, payload: bytes, control_id: str | None) -> Attempt:
        # A CA to a message asking for an application ACK always (MSH-16 AL) only says the
        # partner committed it; the AA/AE/AR that follows on the connection is the answer.
        awaiting = self._await_application_ack and _asks_application_ack_always(payload)
        commits = 0

        def accept(response: bytes) -> bool:
            nonlocal commits
            if self._release2:
                return response in (COMMIT_ACK, COMMIT_NAK)
            found = read_ack(response)  # unusable responses are skipped like stale ones (AK-6)
            if found is None or not (control_id is None or found.matches(control_id)):
                return False
            if awaiting and found.code is AckCode.CA:
                commits += 1
                return False
            return True

        counters = self.client.counters
        stale = counters.outbound_stale_acks_total
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            response = await self.client.send(payload, accept=accept)
        except ConnectError as exc:
            return Attempt(
                Result.UNREACHABLE, AckRecord(None, text=f"connect failed: {exc.reason}")
            )
        except NoAckError as exc:
            self._metrics.inc("outbound_ack_timeouts_total", destination=self.name)
            text = "timeout" if isinstance(exc, AckTimeoutError) else f"no ack: {exc.reason}"
            return Attempt(Result.TIMEOUT, AckRecord(None, text=text))
        finally:
            # The CAs passed over above were expected, not stale.
            extra = counters.outbound_stale_acks_total - stale - commits
            if extra:
                self._metrics.inc("outbound_stale_acks_total", extra, destination=self.name)
        latency = loop.time() - started
        if self._release2:
            if response == COMMIT_ACK:
                return Attempt(Result.DELIVERED, AckRecord("R2 ACK", control_id, "", latency))
            text = "commit nak (MLLP release 2)"
            return Attempt(Result.ERROR, AckRecord("R2 NAK", control_id, text, latency))
        found = read_ack(response)
        assert found is not None  # accept() let only usable responses through
        verdict = found.classify(success=self._success)
        result = {
            Verdict.ACCEPT: Result.DELIVERED,
            Verdict.ERROR: Result.ERROR,
            Verdict.REJECT: Result.REJECT,
        }.get(verdict, Result.TIMEOUT)
        text = "" if result is Result.DELIVERED else _response_text(found)
        ack = AckRecord(found.code.value, found.control_id, text, latency)
        return Attempt(result, ack, found.error_codes)

    async def close(self) -> None:
        await self.client.close()


class HTTPSender:
    """POST per message: 2xx delivered, 4xx a reject, anything else an error."""

    def __init__(self, config: HTTPDestination) -> None:
        self._config = config
        self._ssl = tls_context(config.tls) if config.url.startswith("https://") else None

    connected = False

    async def prepare(self) -> bool:
        return True

    async def send(self, delivery: Delivery, payload: bytes, control_id: str | None) -> Attempt:
        loop = asyncio.get_running_loop()
        started = loop.time()
        c = self._config
        try:
            status = await post(c.url, payload, headers=c.headers, timeout=c.timeout, ssl=self._ssl)
        except ConnectError as exc:
            return Attempt(
                Result.UNREACHABLE, AckRecord(None, text=f"connect failed: {exc.reason}")
            )
        except HTTPError:
            return Attempt(Result.TIMEOUT, AckRecord(None, text="no http response"))
        ack = AckRecord(f"HTTP {status}", control_id, "", loop.time() - started)
        if 200 <= status < 300:
            return Attempt(Result.DELIVERED, ack)
        return Attempt(Result.REJECT if 400 <= status < 500 else Result.ERROR, ack)

    async def close(self) -> None:
        return None


def _write_file(directory: Path, name: str, payload: bytes) -> None:
    """Write, fsync, rename, fsync the directory: a file that is there is whole and durable.
    The name is fixed per queue entry, so a retry replaces rather than adds."""
    directory.mkdir(parents=True, exist_ok=True)
    temporary = directory / f".{name}.tmp"
    with open(temporary, "wb") as handle:
        handle.write(payload)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, directory / name)
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class FileSender:
    def __init__(self, config: FileDestination) -> None:
        self._config = config

    connected = False

    async def prepare(self) -> bool:
        return True

    async def send(self, delivery: Delivery, payload: bytes, control_id: str | None) -> Attempt:
        label = _SAFE_NAME.sub("_", control_id or "")[:40]
        name = f"{delivery.message_id:012d}-{delivery.entry_id:012d}"
        name += f"-{label}{self._config.suffix}" if label else self._config.suffix
        try:
            await asyncio.to_thread(_write_file, self._config.directory, name, payload)
        except OSError as exc:
            return Attempt(Result.TIMEOUT, AckRecord(None, text=f"write failed: {exc.strerror}"))
        return Attempt(Result.DELIVERED, AckRecord("written", control_id))

    async def close(self) -> None:
        return None


class CallableSender:
    """A Python function (sync functions run in a thread); raising is a failure (on_error)."""

    def __init__(self, config: CallableDestination) -> None:
        self._target: Any = resolve_callable(config.target)
        self._timeout = config.timeout

    connected = False

    async def prepare(self) -> bool:
        return True

    async def send(self, delivery: Delivery, payload: bytes, control_id: str | None) -> Attempt:
        target = self._target
        try:
            async with asyncio.timeout(self._timeout):
                if inspect.iscoroutinefunction(target):
                    await target(payload)
                else:
                    result = await asyncio.to_thread(target, payload)
                    if inspect.isawaitable(result):
                        await result
        except TimeoutError:
            return Attempt(Result.TIMEOUT, AckRecord(None, text="timeout"))
        except Exception as exc:
            return Attempt(Result.ERROR, AckRecord(None, text=f"raised {type(exc).__name__}"))
        return Attempt(Result.DELIVERED, AckRecord("returned", control_id))

    async def close(self) -> None:
        return None


def build_sender(config: DestinationConfig, *, metrics: Metrics) -> Sender:
    t = config.transport
    if isinstance(t, MLLPDestination):
        return MLLPSender(t, name=config.name, metrics=metrics)
    if isinstance(t, HTTPDestination):
        return HTTPSender(t)
    if isinstance(t, FileDestination):
        return FileSender(t)
    return CallableSender(t)


def _asks_application_ack_always(payload: bytes) -> bool:
    """MSH-16 of the outgoing message is ``AL``, read from the raw header (any delimiters)."""
    end = payload.find(b"\r")
    header = payload if end < 0 else payload[:end]
    if len(header) < 4:
        return False
    fields = header.split(header[3:4])
    return len(fields) > 15 and fields[15].strip().upper() == b"AL"
