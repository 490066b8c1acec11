"""Helpers for engine tests: bounded asyncio runs, synthetic ADT, MLLP peers on loopback.

Tests are synchronous and drive asyncio with ``asyncio.run`` plus a ``wait_for`` bound, so a
hang fails the test instead of the suite. Every socket is on 127.0.0.1 with port 0.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from eprlink.engine import Engine, EngineConfig, load_config_text
from eprlink.engine.sources import Listener

T = TypeVar("T")

NHS_NUMBER = "9990000018"
VT, FS, CR = b"\x0b", b"\x1c", b"\r"


def run(coro: Coroutine[Any, Any, T], timeout: float = 10.0) -> T:
    return asyncio.run(asyncio.wait_for(coro, timeout))


def adt(
    control_id: str,
    *,
    app: str = "CAREFLOW",
    facility: str = "RXX01",
    kind: str = "ADT^A01^ADT_A01",
    processing: str = "P",
    version: str = "2.4",
    extra: str = "",
) -> bytes:
    return (
        f"MSH|^~\\&|{app}|{facility}|EPRLINK|RXX01|20240101120000||{kind}|{control_id}|"
        f"{processing}|{version}\r"
        "EVN|A01|20240101120000\r"
        f"PID|1||{NHS_NUMBER}^^^NHS^NH~K123456^^^RXX01^MR||TESTPATIENT^ALPHA||19800101|U\r"
        f"PV1|1|I|WARD1^BED1{extra}\r"
    ).encode("ascii")


def field_of(payload: bytes, segment: str, number: int) -> str | None:
    for line in payload.decode("latin-1").split("\r"):
        if line.startswith(segment + "|"):
            parts = line.split("|")
            return parts[number] if len(parts) > number else ""
    return None


def ack_for(payload: bytes, code: str = "AA", control_id: str | None = None) -> bytes:
    cid = control_id if control_id is not None else field_of(payload, "MSH", 9)
    return (
        "MSH|^~\\&|PAS|RXX01|EPRLINK|RXX01|20240101120001||ACK^A01^ACK|"
        f"R{cid}|P|2.4\rMSA|{code}|{cid}\r"
    ).encode("ascii")


def frame(payload: bytes) -> bytes:
    return VT + payload + FS + CR


async def read_frame(reader: asyncio.StreamReader) -> bytes | None:
    """The next frame's payload, or None when the peer closed first."""
    try:
        await reader.readuntil(VT)
        body = await reader.readuntil(FS + CR)
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    return body[:-2]


async def exchange(port: int, payloads: list[bytes], *, timeout: float = 5.0) -> list[bytes | None]:
    """Send frames on one connection; one reply (or None: closed without one) per frame."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    replies: list[bytes | None] = []
    try:
        for payload in payloads:
            writer.write(frame(payload))
            await writer.drain()
            replies.append(await asyncio.wait_for(read_frame(reader), timeout))
    finally:
        writer.close()
    return replies


Script = Callable[[bytes, int], list[bytes] | None]


@dataclass
class Peer:
    """A downstream MLLP system: records every payload and answers per ``script``.

    ``script(payload, count)`` returns the frames to send back (count is how many times this
    payload has been seen); None means no reply at all. The default answers AA.
    """

    script: Script = field(default=lambda payload, count: [ack_for(payload)])
    received: list[bytes] = field(default_factory=list)
    server: asyncio.Server | None = None
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    delay: float = 0.0  # seconds before each reply
    gate: asyncio.Event | None = None  # when given, every reply waits until it is set

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])

    async def start(self) -> Peer:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            await self._answer(reader, writer)

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                payload = await read_frame(reader)
                if payload is None:
                    break
                self.received.append(payload)
                self.arrived.set()
                replies = self.script(payload, self.received.count(payload))
                if self.delay:
                    await asyncio.sleep(self.delay)
                if self.gate is not None:
                    await self.gate.wait()
                for reply in replies or []:
                    writer.write(frame(reply))
                await writer.drain()
        finally:
            writer.close()

    async def wait_for(self, count: int, timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout):
            while len(self.received) < count:
                self.arrived.clear()
                await self.arrived.wait()

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()


def control_ids(payloads: list[bytes]) -> list[str]:
    return [field_of(p, "MSH", 9) or "" for p in payloads]


def config(text: str, tmp_path: Path, **options: Any) -> EngineConfig:
    header = f"""
[engine]
name = "EPRLINK"
facility = "RXX01"
data_dir = "{tmp_path}"
poll_interval = "200ms"
stats_interval = "100ms"
shutdown_timeout = "2s"

[store]
kind = "memory"

[profiles]
layers = []
"""
    return load_config_text(header + text, base_dir=tmp_path, **options)


def listener(name: str = "adt", *, extra: str = "", validate: bool = False) -> str:
    return f"""
[[channels]]
name = "{name}"
validate = {"true" if validate else "false"}

[channels.source]
kind = "mllp_listener"
port = 0
encoding = "utf-8"
{extra}
"""


def mllp_destination(name: str, port: int, *, extra: str = "") -> str:
    return f"""
[[channels.destinations]]
name = "{name}"
kind = "mllp"
host = "127.0.0.1"
port = {port}
ack_timeout = "300ms"
connect_timeout = "1s"
backoff_initial = "20ms"
backoff_max = "100ms"
{extra}
"""


async def until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll a condition on the loop (tests only: the engine itself never polls like this)."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


def port_of(engine: Engine, channel: str = "adt") -> int:
    source = engine.sources[channel]
    assert isinstance(source, Listener)
    return source.port
