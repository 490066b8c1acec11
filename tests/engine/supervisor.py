"""The single-host fault rig (policy 5.1): the engine as a subprocess, a resending client, a
recording downstream, a kill loop and the checker's bookkeeping (policy 5.3).

The engine process is ``python -m eprlink run CONFIG``, the real command (it arms a crash point
from ``EPRLINK_CRASHPOINT`` itself). Tests that need what the command does not offer, a
PostgreSQL schema per test and a short lease ttl, use the runner in this file instead:
``python tests/engine/supervisor.py run CONFIG [--schema S] [--lease-ttl T]`` does what
``eprlink run`` does (load the configuration with the environment, arm the crash point, run
until SIGTERM, stop cleanly) plus those two seams, and imports nothing from ``tests``.
``EPRLINK_SUPERVISOR_RUNNER=1`` makes every test use the runner.

Imported by the tests, this module offers :class:`EngineProcess`, :class:`Downstream`,
:class:`Client`, :class:`Pacer` and :func:`kill_loop`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import random
import signal
import socket
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from eprlink.hl7 import Message

VT, FS, CR = b"\x0b", b"\x1c", b"\r"
NHS_NUMBER = "9990000018"  # the reserved test range; synthetic data only
HERE = Path(__file__).resolve()
ROOT = HERE.parents[2]


# -- messages ---------------------------------------------------------------------------------


def adt(control_id: str, *, processing: str = "P") -> bytes:
    """A synthetic ADT^A01 (test-range NHS number, invented names)."""
    return (
        f"MSH|^~\\&|CAREFLOW|RXX01|EPRLINK|RXX01|20240101120000||ADT^A01^ADT_A01|{control_id}|"
        f"{processing}|2.4\r"
        "EVN|A01|20240101120000\r"
        f"PID|1||{NHS_NUMBER}^^^NHS^NH||TESTPATIENT^ALPHA||19800101|U\r"
        "PV1|1|I|WARD1^BED1\r"
    ).encode("ascii")


def field_of(payload: bytes, segment: str, number: int) -> str | None:
    for line in payload.decode("latin-1").split("\r"):
        if line.startswith(segment + "|"):
            parts = line.split("|")
            return parts[number] if len(parts) > number else ""
    return None


def ack(control_id: str, code: str = "AA") -> bytes:
    return (
        "MSH|^~\\&|PAS|RXX01|EPRLINK|RXX01|20240101120001||ACK^A01^ACK|"
        f"R{control_id}|P|2.4\rMSA|{code}|{control_id}\r"
    ).encode("ascii")


def frame(payload: bytes) -> bytes:
    return VT + payload + FS + CR


async def read_frame(reader: asyncio.StreamReader) -> bytes | None:
    """The next frame's payload, or None when the peer closed (or reset) first."""
    try:
        await reader.readuntil(VT)
        body = await reader.readuntil(FS + CR)
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        return None
    return body[:-2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# -- the engine process -----------------------------------------------------------------------


def runner_command(
    config: Path, *, schema: str | None = None, lease_ttl: float | None = None
) -> list[str]:
    runner = os.environ.get("EPRLINK_SUPERVISOR_RUNNER") == "1"
    if not runner and schema is None and lease_ttl is None:
        return [sys.executable, "-m", "eprlink", "run", str(config)]
    command = [sys.executable, str(HERE), "run", str(config)]
    if schema is not None:
        command += ["--schema", schema]
    if lease_ttl is not None:
        command += ["--lease-ttl", str(lease_ttl)]
    return command


async def port_open(port: int) -> bool:
    try:
        _reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


class EngineProcess:
    """One engine subprocess; ``crashpoint`` arms ``EPRLINK_CRASHPOINT`` for it."""

    def __init__(
        self,
        command: list[str],
        *,
        port: int,
        log: Path,
        crashpoint: str | None = None,
        environ: dict[str, str] | None = None,
    ) -> None:
        self.command = command
        self.port = port
        self.log = log
        self.crashpoint = crashpoint
        self.environ = dict(environ or {})
        self.process: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def start(self) -> None:
        path = os.pathsep.join((str(ROOT), str(ROOT / "src")))
        env = {k: v for k, v in os.environ.items() if k != "EPRLINK_CRASHPOINT"}
        env.update(self.environ, PYTHONPATH=path)
        if self.crashpoint is not None:
            env["EPRLINK_CRASHPOINT"] = self.crashpoint
            env["EPRLINK_TEST_HOOKS"] = "1"
        with open(self.log, "ab") as log:
            log.write(f"--- start {self.crashpoint or ''}\n".encode())
            log.flush()
            self.process = await asyncio.create_subprocess_exec(
                *self.command,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=env,
                cwd=ROOT,
            )

    async def ready(self, timeout: float = 15.0) -> bool:
        """True once the listener accepts; False if the process died first (a crash point)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.alive:
            if await port_open(self.port):
                return True
            if loop.time() > deadline:
                raise TimeoutError(f"engine not ready within {timeout} s (see {self.log})")
            await asyncio.sleep(0.02)
        return False

    async def wait(self, timeout: float | None = None) -> int:
        assert self.process is not None
        async with asyncio.timeout(timeout):
            return await self.process.wait()

    def signal(self, number: int) -> None:
        if self.alive:
            assert self.process is not None
            self.process.send_signal(number)

    async def kill(self) -> int:
        self.signal(signal.SIGKILL)
        return await self.wait(10)

    async def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM and wait: the engine's clean stop (F33); SIGKILL if it hangs."""
        if not self.alive:
            return await self.wait(timeout)
        self.signal(signal.SIGTERM)
        try:
            return await self.wait(timeout)
        except TimeoutError:
            await self.kill()
            raise


# -- downstream and client --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Receipt:
    connection: int
    control_id: str
    at: float  # the test process's monotonic clock


Responder = Callable[[str, int], Awaitable[bytes | None]]


async def answer_aa(control_id: str, count: int) -> bytes | None:
    return ack(control_id)


@dataclass
class Downstream:
    """A loopback MLLP receiver that records every receipt, per connection, and answers per
    ``respond(control_id, times_seen)`` (None: no reply); the default answers AA at once."""

    respond: Responder = answer_aa
    receipts: list[Receipt] = field(default_factory=list)
    connections: int = 0
    open_connections: int = 0
    most_open: int = 0
    server: asyncio.Server | None = None
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    _seen: Counter[str] = field(default_factory=Counter)
    _writers: set[asyncio.StreamWriter] = field(default_factory=set)
    _handlers: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])

    async def start(self, port: int = 0) -> Downstream:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", port)
        return self

    async def close(self) -> None:
        """Stop listening and end every open connection (their handlers finish first)."""
        if self.server is not None:
            self.server.close()
        for writer in list(self._writers):
            writer.close()
        if self._handlers:
            await asyncio.wait(list(self._handlers), timeout=5)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        self._writers.add(writer)
        self.connections += 1
        self.open_connections += 1
        self.most_open = max(self.most_open, self.open_connections)
        connection = self.connections
        loop = asyncio.get_running_loop()
        try:
            while (payload := await read_frame(reader)) is not None:
                control_id = field_of(payload, "MSH", 9) or ""
                self.receipts.append(Receipt(connection, control_id, loop.time()))
                self._seen[control_id] += 1
                self.arrived.set()
                reply = await self.respond(control_id, self._seen[control_id])
                if reply is not None:
                    writer.write(frame(reply))
                    await writer.drain()
        except ConnectionError:
            pass
        finally:
            self.open_connections -= 1
            self._writers.discard(writer)
            self._handlers.discard(task)
            writer.close()

    def first_order(self) -> list[str]:
        """Control ids in the order of their first delivery."""
        seen: set[str] = set()
        order = []
        for receipt in self.receipts:
            if receipt.control_id not in seen:
                seen.add(receipt.control_id)
                order.append(receipt.control_id)
        return order

    def duplicates(self) -> int:
        return len(self.receipts) - len(self.first_order())

    def on(self, connection: int) -> list[str]:
        return [r.control_id for r in self.receipts if r.connection == connection]

    async def wait_for(self, control_ids: Iterable[str], timeout: float) -> None:
        wanted = set(control_ids)
        async with asyncio.timeout(timeout):
            while not wanted <= set(self._seen):
                self.arrived.clear()
                await self.arrived.wait()


class Pacer:
    """How many messages the client may have sent so far: a budget the kill loop raises."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self._raised = asyncio.Event()

    def allow(self, budget: int) -> None:
        self.budget = max(self.budget, budget)
        self._raised.set()

    async def wait(self, index: int) -> None:
        while index >= self.budget:
            self._raised.clear()
            await self._raised.wait()


@dataclass
class Client:
    """A sender that resends a message until it gets an answer, on a new connection whenever
    the old one closed, reset or went quiet (the way CareFlow's IE treats a missing ACK)."""

    port: int
    reply_timeout: float = 3.0
    answers: dict[str, str] = field(default_factory=dict)  # control id -> MSA-1 first seen
    order: list[str] = field(default_factory=list)  # control ids in the order answered
    attempts: Counter[str] = field(default_factory=Counter)  # sends per control id
    resends: int = 0
    _reader: asyncio.StreamReader | None = None
    _writer: asyncio.StreamWriter | None = None

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        while self._reader is None or self._writer is None:
            try:
                self._reader, self._writer = await asyncio.open_connection("127.0.0.1", self.port)
            except OSError:
                await asyncio.sleep(0.02)
        return self._reader, self._writer

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None

    async def send(self, control_id: str, payload: bytes) -> str:
        """Send until answered; the MSA-1 code."""
        while True:
            reader, writer = await self._connect()
            self.attempts[control_id] += 1
            try:
                writer.write(frame(payload))
                await writer.drain()
                reply = await asyncio.wait_for(read_frame(reader), self.reply_timeout)
            except (OSError, TimeoutError):
                reply = None
            if reply is not None and field_of(reply, "MSA", 2) == control_id:
                code = field_of(reply, "MSA", 1) or ""
                self.answers.setdefault(control_id, code)
                self.order.append(control_id)
                return code
            self.close()  # no answer: the outcome is unknown, so send it again
            self.resends += 1

    async def send_all(
        self, messages: list[tuple[str, bytes]], *, pacer: Pacer | None = None
    ) -> None:
        try:
            for index, (control_id, payload) in enumerate(messages):
                if pacer is not None:
                    await pacer.wait(index)
                await self.send(control_id, payload)
        finally:
            self.close()


# -- the kill loop ----------------------------------------------------------------------------


@dataclass
class KillLog:
    kills: int = 0  # processes that ended by SIGKILL, from outside or from a crash point
    crashpoint_kills: Counter[str] = field(default_factory=Counter)
    starts: int = 0


async def kill_loop(
    make: Callable[[str | None], EngineProcess],
    *,
    kills: int,
    rng: random.Random,
    on_kill: Callable[[int], None] = lambda kills: None,
    points: tuple[str, ...] = (),
    max_uptime: float = 0.3,
    deadline: float = 60.0,
) -> KillLog:
    """Start the engine, let traffic flow, SIGKILL it (or let an armed crash point do it),
    restart, until ``kills`` kills have happened (F6). The caller's final run finishes the
    traffic and the deliveries."""
    log = KillLog()
    loop = asyncio.get_running_loop()
    give_up = loop.time() + deadline
    while log.kills < kills:
        if loop.time() > give_up:
            raise TimeoutError(f"kill loop still running after {deadline} s: {log}")
        point = None
        if points and log.starts % 2 == 1:  # every other run arms a crash point, in turn
            name = points[(log.starts // 2) % len(points)]
            point = f"{name}:{rng.randint(1, 25)}"
        engine = make(point)
        await engine.start()
        log.starts += 1
        fired = False
        if not await engine.ready():
            fired = point is not None  # a crash point fired before the listener was up
        elif point is not None:
            with contextlib.suppress(TimeoutError):
                await engine.wait(1.5)  # the crash point fires, or the kill comes anyway
                fired = True
        else:
            await asyncio.sleep(rng.uniform(0.0, max_uptime))
        code = await engine.kill()
        if code == -signal.SIGKILL:
            log.kills += 1
            if fired and point is not None:
                log.crashpoint_kills[point.split(":")[0]] += 1
            on_kill(log.kills)
    return log


# -- a pause, as a transform (F25) ------------------------------------------------------------

_paused: set[str] = set()


def pause_once(message: Message) -> Message:
    """A transform that blocks this whole process once, before the send of the message named by
    ``EPRLINK_TEST_PAUSE=CONTROL_ID:SECONDS``: a GC pause or SIGSTOP between claim and send."""
    wanted, _, seconds = os.environ.get("EPRLINK_TEST_PAUSE", "").partition(":")
    if wanted and message.control_id == wanted and wanted not in _paused:
        _paused.add(wanted)
        time.sleep(float(seconds))
    return message


# -- the runner (the engine process) ----------------------------------------------------------


def _run(argv: list[str]) -> int:
    from eprlink.engine import Engine, crashpoints, load_config
    from eprlink.engine.leases import DEFAULT_LEASE_TTL
    from eprlink.store import Store

    parser = argparse.ArgumentParser(prog="supervisor.py run")
    parser.add_argument("config")
    parser.add_argument("--schema")
    parser.add_argument("--lease-ttl", type=float, default=DEFAULT_LEASE_TTL)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    crashpoints.from_environment(os.environ)
    config = load_config(args.config, environ=os.environ)
    store: Store | None = None
    if args.schema is not None:
        from eprlink.store.postgres import PostgresStore

        store = PostgresStore(
            config.store.dsn or "", schema=args.schema, application_name=config.engine.node
        )

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for number in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(number, stop.set)
        engine = Engine(config, store=store, lease_ttl=args.lease_ttl)
        await engine.run_until(stop)

    asyncio.run(main())
    return 0


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] != "run":
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(_run(sys.argv[2:]))
