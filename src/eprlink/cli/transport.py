"""``eprlink listen`` and ``eprlink send``: MLLP tools for integrators, with TLS when asked."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import ssl
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path

import click
from rich.console import Console
from rich.progress import Progress

from eprlink.ack import AckResult, Verdict, answer, answer_oversize, control_id_of, read_ack
from eprlink.cli.input import UnreadableInput
from eprlink.hl7 import ParseError, parse, split_messages
from eprlink.mllp import (
    ConnectError,
    FramingPolicy,
    MLLPClient,
    MLLPError,
    MLLPServer,
    NoAckError,
    PeerInfo,
    SessionPolicy,
    client_context,
    loop_factory,
    server_context,
)

__all__ = ["listen_command", "send_command"]

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")
_PROGRESS_THRESHOLD = 20
_MIB = 1024 * 1024


def _run(coroutine: object) -> None:
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        runner.run(coroutine)  # type: ignore[arg-type]


def _write_atomically(directory: Path, name: str, data: bytes) -> None:
    """Write, flush to disk, then rename: a file that exists is complete (store-then-ACK)."""
    temporary = directory / f".{name}.tmp"
    with open(temporary, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, directory / name)


@dataclass
class _Listener:
    out: Path | None
    count: int | None
    app: str
    facility: str
    encoding: str | None
    max_size: int
    received: int = 0
    accepted: int = 0
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def handle(self, payload: bytes, peer: PeerInfo) -> bytes | Awaitable[bytes | None] | None:
        """Answer at once, or, with ``--out``, once the file is written (store, then ACK)."""
        result = answer(
            payload,
            sending_application=self.app,
            sending_facility=self.facility,
            encoding=self.encoding,
        )
        self.received += 1
        number = self.received
        kind = control = "-"
        if result.message is not None:
            parts = (result.message.message_type, result.message.trigger_event)
            kind = "^".join(x for x in parts if x) or "-"
            control = result.message.control_id or "-"
        if result.accepted:
            self.accepted += 1
        if result.reply is None:
            verdict = "no reply (an acknowledgement was received)"
        else:
            verdict = " ".join(
                x for x in (result.reply.get("MSA-1"), result.reply.get("MSA-3")) if x
            )
        click.echo(
            f"#{number} {peer.host}:{peer.port} {kind} {control} {len(payload)} B -> {verdict}"
        )
        last = self.count is not None and self.received >= self.count
        reply = result.reply_bytes
        if result.accepted and self.out is not None:
            name = f"{number:06d}-{_SAFE_NAME.sub('_', control)[:60]}.hl7"
            return self._write_then(self.out / name, payload, reply, last=last)
        if last:
            self.done.set()
        return reply

    async def _write_then(
        self, path: Path, payload: bytes, reply: bytes | None, *, last: bool
    ) -> bytes | None:
        await asyncio.to_thread(_write_atomically, path.parent, path.name, payload)
        if last:
            self.done.set()
        return reply

    def oversize(self, head: bytes, peer: PeerInfo) -> bytes:
        click.echo(f"{peer.host}:{peer.port} frame over {self.max_size} B -> AR message too large")
        reply = answer_oversize(head, sending_application=self.app, sending_facility=self.facility)
        return reply.to_bytes()

    async def serve(self, host: str, port: int, tls: ssl.SSLContext | None) -> None:
        policy = SessionPolicy(framing=FramingPolicy(max_message_size=self.max_size))
        server = MLLPServer(
            self.handle,
            host=host,
            port=port,
            ssl=tls,
            policy=policy,
            on_oversize=self.oversize,
            name="listen",
        )
        await server.start()
        click.echo(f"listening on {host}:{server.port}{' with TLS' if tls else ''}", err=True)
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(signum, self.done.set)
        try:
            await self.done.wait()
        finally:
            await server.close()
            click.echo(f"received {self.received}, accepted {self.accepted}", err=True)


class _TLSConfigurationError(click.ClickException):
    exit_code = 2


def _tls_error(exc: Exception) -> click.ClickException:
    return _TLSConfigurationError(f"TLS configuration: {exc}")


@click.command("listen")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", type=click.IntRange(0, 65535), required=True, help="Port (0 = any free).")
@click.option(
    "--tls-cert", type=click.Path(exists=True, dir_okay=False), help="Server certificate (PEM)."
)
@click.option("--tls-key", type=click.Path(exists=True, dir_okay=False), help="Private key (PEM).")
@click.option(
    "--client-ca",
    type=click.Path(exists=True, dir_okay=False),
    help="CA for client certificates: turns on mutual TLS.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write each accepted message here, exactly as received, before it is acknowledged.",
)
@click.option(
    "--encoding", default=None, help="Charset when MSH-18 is empty or unsupported (default UTF-8)."
)
@click.option("--app", default="EPRLINK", show_default=True, help="MSH-3 of the ACKs.")
@click.option("--facility", default="EPRLINK", show_default=True, help="MSH-4 of the ACKs.")
@click.option(
    "--max-size",
    type=click.IntRange(1),
    default=16 * _MIB,
    show_default=True,
    help="Largest message accepted, in bytes.",
)
@click.option(
    "--count", type=click.IntRange(1), default=None, help="Stop after this many messages."
)
def listen_command(  # noqa: PLR0917 - one parameter per option
    host: str,
    port: int,
    tls_cert: str | None,
    tls_key: str | None,
    client_ca: str | None,
    out: Path | None,
    encoding: str | None,
    app: str,
    facility: str,
    max_size: int,
    count: int | None,
) -> None:
    """Receive HL7 messages over MLLP and acknowledge each one.

    Answers AA, or AE/AR with an ERR segment when a message cannot be parsed (per the
    reliability policy); never acknowledges an ACK. Prints one line per message (type,
    control id, size, answer) and never the content. Stops on Ctrl-C or SIGTERM.
    """
    tls = None
    if tls_cert or tls_key or client_ca:
        if not tls_cert:
            raise click.UsageError("--tls-key and --client-ca need --tls-cert")
        try:
            tls = server_context(
                tls_cert, tls_key, client_ca=client_ca, require_client_cert=client_ca is not None
            )
        except MLLPError as exc:
            raise _tls_error(exc) from exc
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    listener = _Listener(out, count, app, facility, encoding, max_size)
    _run(listener.serve(host, port, tls))


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise click.BadParameter("expected HOST:PORT, e.g. 127.0.0.1:2575", param_hint="HOST:PORT")
    return host.strip("[]"), int(port)


@dataclass
class _Tally:
    accepted: int = 0
    errors: int = 0
    rejected: int = 0
    failed: int = 0

    @property
    def total(self) -> int:
        return self.accepted + self.errors + self.rejected + self.failed


def _describe(result: AckResult) -> str:
    codes = ",".join(str(int(code)) for code in result.error_codes)
    return " ".join(x for x in (result.code.value, codes, result.text or "") if x)


async def _send_all(
    client: MLLPClient, payloads: list[tuple[str, bytes]], tally: _Tally, console: Console
) -> None:
    show_progress = len(payloads) >= _PROGRESS_THRESHOLD and console.is_terminal
    with Progress(console=console, transient=True, disable=not show_progress) as progress:
        task = progress.add_task("sending", total=len(payloads))
        for label, payload in payloads:
            progress.advance(task)
            try:
                control_id = parse(payload).control_id
            except ParseError:
                # Sent anyway: testing how a receiver answers bad input is a use of this tool.
                control_id = control_id_of(payload)
            if not control_id:
                tally.failed += 1
                console.print(f"{label}: not sent, MSH-10 is empty so no ACK could be matched")
                continue

            def matches(frame: bytes, wanted: str = control_id) -> bool:
                found = read_ack(frame)
                return found is not None and found.matches(wanted)

            started = time.perf_counter()
            try:
                response = await client.send(payload, accept=matches)
            except (NoAckError, ConnectError) as exc:
                tally.failed += 1
                console.print(f"{label} {control_id}: no ACK: {exc}")
                continue
            elapsed = (time.perf_counter() - started) * 1000
            result = read_ack(response)
            assert result is not None  # accepted by matches()
            verdict = result.classify()
            if verdict is Verdict.ACCEPT:
                tally.accepted += 1
            elif verdict is Verdict.REJECT:
                tally.rejected += 1
            else:
                tally.errors += 1
            console.print(f"{label} {control_id} -> {_describe(result)} ({elapsed:.1f} ms)")
    await client.close()


@click.command("send")
@click.argument("address", metavar="HOST:PORT")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--tls", is_flag=True, help="Use TLS (server certificate always verified).")
@click.option(
    "--ca",
    type=click.Path(exists=True, dir_okay=False),
    help="CA to verify the server (default: system store).",
)
@click.option(
    "--cert",
    type=click.Path(exists=True, dir_okay=False),
    help="Client certificate for mutual TLS (PEM).",
)
@click.option(
    "--key", type=click.Path(exists=True, dir_okay=False), help="Client private key (PEM)."
)
@click.option(
    "--server-name", default=None, help="Name to verify in the server certificate (default: HOST)."
)
@click.option(
    "--timeout",
    type=click.FloatRange(0.1),
    default=30.0,
    show_default=True,
    help="Seconds to wait for each ACK.",
)
@click.option("--connect-timeout", type=click.FloatRange(0.1), default=10.0, show_default=True)
def send_command(  # noqa: PLR0917 - one parameter per option
    address: str,
    files: tuple[str, ...],
    tls: bool,
    ca: str | None,
    cert: str | None,
    key: str | None,
    server_name: str | None,
    timeout: float,
    connect_timeout: float,
) -> None:
    """Send the messages in FILES to HOST:PORT over MLLP, one at a time, waiting for each ACK.

    Prints one line per message and a summary; exits 1 if any message was not accepted (AE,
    AR, no ACK) and 2 if a file cannot be read. An ACK counts only when its MSA-2 matches the
    control id sent.
    """
    host, port = _address(address)
    context = None
    if tls or ca or cert:
        try:
            context = client_context(cafile=ca, certfile=cert, keyfile=key)
        except MLLPError as exc:
            raise _tls_error(exc) from exc
    payloads: list[tuple[str, bytes]] = []
    for name in files:
        try:
            data = click.open_file(name, "rb").read()
        except OSError as exc:
            raise UnreadableInput(f"cannot read {name}: {exc.strerror}") from exc
        items = split_messages(data)
        if not items:
            raise UnreadableInput(f"{name}: no HL7 message found")
        payloads.extend((f"{name} #{i}", item) for i, item in enumerate(items, start=1))
    console = Console(highlight=False, soft_wrap=True)
    client = MLLPClient(
        host,
        port,
        ssl=context,
        server_hostname=server_name,
        connect_timeout=connect_timeout,
        ack_timeout=timeout,
    )
    tally = _Tally()
    _run(_send_all(client, payloads, tally, console))
    click.echo(
        f"{tally.total} messages: {tally.accepted} accepted, {tally.errors} errors, "
        f"{tally.rejected} rejected, {tally.failed} without ACK or not sent"
    )
    if tally.accepted != tally.total:
        raise SystemExit(1)
