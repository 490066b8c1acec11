"""``eprlink status``, ``eprlink messages`` and ``eprlink show-message``: looking, not changing."""

from __future__ import annotations

import asyncio
import base64
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from prometheus_client.parser import text_string_to_metric_families

from eprlink.cli.ops import (
    OperationFailed,
    age_text,
    build_query,
    config_option,
    echo_json,
    echo_table,
    load_offline,
    operator_options,
    query_options,
    require_operator,
    safe,
    stamp,
    with_api,
)
from eprlink.engine import (
    DestinationStatus,
    EngineAPI,
    EngineConfig,
    MessageDetail,
    MessageRow,
    Status,
)
from eprlink.engine.config import DirectorySource, MLLPListenerSource, Source
from eprlink.store import EntryState

__all__ = ["messages_command", "show_message_command", "status_command"]

_PROBE_LIMIT = 8 * 1024 * 1024
_WILDCARD = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}


@dataclass(frozen=True, slots=True)
class Live:
    """What the running engine's ``/metrics`` said: it is up, and its connection state."""

    url: str
    connections: dict[str, int]
    connected: dict[str, bool]


def _parse_live(url: str, text: str) -> Live:
    connections: dict[str, int] = {}
    connected: dict[str, bool] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "listener_connections" and "channel" in sample.labels:
                connections[sample.labels["channel"]] = int(sample.value)
            elif sample.name == "destination_connected" and "destination" in sample.labels:
                connected[sample.labels["destination"]] = sample.value >= 1
    return Live(url, connections, connected)


async def probe(config: EngineConfig, timeout: float = 1.5) -> Live | None:
    """Ask the configured metrics endpoint; None when it is off or nothing answers there.

    These commands read the store, maybe beside an engine in another process; open connections
    and destination links are known only inside that process, which publishes them here.
    """
    listen = config.metrics.listen
    if listen is None or listen[1] == 0:
        return None
    host = _WILDCARD.get(listen[0], listen[0])
    url = f"http://{f'[{host}]' if ':' in host else host}:{listen[1]}/metrics"
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(host, listen[1])
            try:
                request = f"GET /metrics HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
                writer.write(request.encode("ascii"))
                await writer.drain()
                data = bytearray()
                while chunk := await reader.read(65536):
                    data += chunk
                    if len(data) > _PROBE_LIMIT:
                        return None
            finally:
                writer.close()
    except (OSError, TimeoutError):
        return None
    head, _, body = bytes(data).partition(b"\r\n\r\n")
    if not head.startswith((b"HTTP/1.1 200", b"HTTP/1.0 200")):
        return None
    try:
        return _parse_live(url, body.decode("utf-8"))
    except ValueError:
        return None


def _source_text(source: Source) -> str:
    if isinstance(source, MLLPListenerSource):
        return f"{'mllps' if source.tls else 'mllp'} listener {source.host}:{source.port}"
    if isinstance(source, DirectorySource):
        return f"folder {source.path}"
    return f"mllp receiver to {source.host}:{source.port}"


def _state(status: DestinationStatus, limit: float) -> str:
    if status.blocked:
        return "BLOCKED"
    if status.oldest_age_seconds is not None and status.oldest_age_seconds > limit:
        return "OLD"
    if status.connected is False:
        return "disconnected"
    return "ok"


def _status_json(status: Status, config: EngineConfig, live: Live | None) -> dict[str, Any]:
    listen = config.metrics.listen
    unknown = listen is None or listen[1] == 0  # nowhere known to ask
    return {
        "engine": config.engine.name,
        "node": status.node,
        "store": status.store,
        "as_of": stamp(status.as_of),
        "running": None if unknown else live is not None,
        "metrics": None if live is None else live.url,
        "channels": [
            {
                "name": c.name,
                "source": _source_text(config.channels[i].source),
                "connections": None if live is None else live.connections.get(c.name, 0),
                "destinations": list(c.destinations),
            }
            for i, c in enumerate(status.channels)
        ],
        "destinations": [
            {
                "name": d.name,
                "channel": d.channel,
                "kind": d.kind,
                "depth": d.depth,
                "oldest_age_seconds": d.oldest_age_seconds,
                "blocked": d.blocked,
                "connected": None
                if live is None or d.kind != "mllp"
                else live.connected.get(d.name, False),
                "counts": {s.value: d.counts.get(s.value, 0) for s in EntryState},
                "state": _state(d, config.engine.queue_age_alert),
            }
            for d in status.destinations
        ],
    }


def _print_status(data: dict[str, Any], config: EngineConfig, store_text: str) -> None:
    click.echo(
        f"engine {data['engine']} (node {data['node']}), store {store_text}, as of {data['as_of']}"
    )
    listen = config.metrics.listen
    if data["running"] is None:
        why = "[metrics] listen is off" if listen is None else "metrics are on an ephemeral port"
        click.echo(f"engine process: unknown ({why}, so it cannot be asked)")
    elif data["running"]:
        click.echo(f"engine process: running (answered at {data['metrics']})")
    else:
        assert listen is not None
        click.echo(
            f"engine process: not answering at {listen[0]}:{listen[1]} "
            "(stopped, or its metrics are elsewhere)"
        )
    click.echo("")
    echo_table(
        ("CHANNEL", "SOURCE", "CONNECTIONS", "DESTINATIONS"),
        [
            (
                c["name"],
                c["source"],
                "-" if c["connections"] is None else str(c["connections"]),
                ", ".join(c["destinations"]) or "-",
            )
            for c in data["channels"]
        ],
    )
    click.echo("")
    states = (EntryState.QUEUED, EntryState.IN_FLIGHT, EntryState.RETRYING, EntryState.HELD)
    finished = (EntryState.DEAD, EntryState.DELIVERED)
    echo_table(
        ("DESTINATION", "CHANNEL", "KIND", "DEPTH", "OLDEST", *(s.value.upper() for s in states),
         *(s.value.upper() for s in finished), "CONNECTED", "STATE"),
        [
            (
                d["name"],
                d["channel"],
                d["kind"],
                str(d["depth"]),
                age_text(d["oldest_age_seconds"]),
                *(str(d["counts"][s.value]) for s in (*states, *finished)),
                {True: "yes", False: "no", None: "-"}[d["connected"]],
                d["state"],
            )
            for d in data["destinations"]
        ],
    )  # fmt: skip
    for d in data["destinations"]:
        if d["blocked"]:
            click.echo(
                f"\n{d['name']} is blocked by a held message: see `eprlink messages --state held "
                f"--destination {d['name']}`, then `eprlink release {d['name']} --operator NAME "
                "--reason TEXT`."
            )


@click.command("status")
@config_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option(
    "--check",
    is_flag=True,
    help="Exit 1 when a destination is blocked or its oldest message is older than "
    "engine.queue_age_alert (for monitoring scripts).",
)
def status_command(config_path: Path, as_json: bool, check: bool) -> None:
    """Channels, connections, queue depths and the oldest pending message, per destination.

    Reads the store directly, so it works whether or not the engine is running; connection
    counts come from the running engine's metrics endpoint when it answers. Shows no message
    content and no patient identifiers.
    """
    config = load_offline(config_path)

    async def work(api: EngineAPI) -> tuple[Status, Live | None]:
        return await api.status(), await probe(config)

    status, live = with_api(config, work)
    data = _status_json(status, config, live)
    if as_json:
        echo_json(data)
    else:
        store_text = status.store
        if status.store == "sqlite":
            store_text += f" {config.store_path()}"
        _print_status(data, config, store_text)
    troubled = [d["name"] for d in data["destinations"] if d["state"] in ("BLOCKED", "OLD")]
    if check and troubled:
        click.echo(f"needs attention: {', '.join(troubled)}", err=True)
        raise SystemExit(1)


def _identifiers_text(identifiers: tuple[tuple[str, str], ...]) -> str:
    return ", ".join(f"{safe(kind, 20)} {safe(value, 40)}" for kind, value in identifiers) or "-"


def _row_json(row: MessageRow) -> dict[str, Any]:
    s = row.summary
    return {
        "id": s.message_id,
        "received_at": stamp(s.received_at),
        "channel": s.channel,
        "type": s.message_type,
        "control_id": s.control_id,
        "status": s.status.value,
        "size": s.size,
        "identifiers": [{"kind": k, "value": v} for k, v in row.identifiers],
    }


def _nhs_number(value: str | None) -> str | None:
    """Spaces are allowed as people write the number; ``-`` asks for it without echoing, so
    it stays out of shell history and the process list."""
    if value is None:
        return None
    if value == "-":
        value = click.prompt("NHS number", hide_input=True)
    return "".join(str(value).split())


@click.command("messages")
@config_option
@query_options()
@click.option(
    "--nhs-number",
    default=None,
    help="Messages for this patient (through the identifier index; audited, so --operator "
    "and --reason are required). '-' prompts for it.",
)
@click.option(
    "--limit", type=click.IntRange(1, 100_000), default=50, show_default=True, help="Newest first."
)
@click.option(
    "--reveal", is_flag=True, help="Show patient identifiers unmasked (audited; needs a reason)."
)
@operator_options
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def messages_command(  # noqa: PLR0917 - one parameter per option
    config_path: Path,
    channel: str | None,
    control_id: str | None,
    message_type: str | None,
    since: datetime | None,
    until: datetime | None,
    status: str | None,
    state: str | None,
    destination_filter: str | None,
    nhs_number: str | None,
    limit: int,
    reveal: bool,
    operator: str | None,
    reason: str | None,
    as_json: bool,
) -> None:
    """Search stored messages, newest first; identifiers masked unless --reveal.

    Every filter given must match. Revealing identifiers, and searching by NHS number, are
    recorded in the audit trail with the operator and the reason.
    """
    number = _nhs_number(nhs_number)
    who, why = "", ""
    if reveal or number:
        who, why = require_operator(
            operator, reason, "--reveal" if reveal else "searching by NHS number"
        )
    config = load_offline(config_path)
    query = build_query(
        channel, control_id, message_type, since, until, status, state, destination_filter,
        identifier=("NHS", number) if number else None,
        limit=limit,
    )  # fmt: skip

    async def work(api: EngineAPI) -> list[MessageRow]:
        return await api.messages(query, reveal_identifiers=reveal, operator=who, reason=why)

    rows = with_api(config, work)
    if as_json:
        echo_json(
            {"masked": not reveal, "count": len(rows), "messages": [_row_json(r) for r in rows]}
        )
        return
    if not rows:
        click.echo("no messages match", err=True)
        return
    echo_table(
        ("ID", "RECEIVED (UTC)", "CHANNEL", "TYPE", "CONTROL ID", "STATUS", "SIZE", "IDENTIFIERS"),
        [
            (
                str(r.summary.message_id),
                stamp(r.summary.received_at),
                safe(r.summary.channel),
                safe(r.summary.message_type, 20),
                safe(r.summary.control_id, 60),
                r.summary.status.value,
                str(r.summary.size),
                _identifiers_text(r.identifiers),
            )
            for r in rows
        ],
    )
    more = " (the limit; narrow the search or raise --limit)" if len(rows) == limit else ""
    masked = "" if reveal else "; identifiers masked"
    click.echo(f"{len(rows)} message(s){more}{masked}", err=True)


def _detail_json(detail: MessageDetail, events: list[Any]) -> dict[str, Any]:
    s = detail.summary
    return {
        "id": s.message_id,
        "channel": s.channel,
        "received_at": stamp(s.received_at),
        "peer": detail.peer,
        "type": s.message_type,
        "control_id": s.control_id,
        "sending_application": detail.sending_application,
        "sending_facility": detail.sending_facility,
        "status": s.status.value,
        "ack_code": detail.ack_code,
        "error": detail.error,
        "size": s.size,
        "sha256": detail.sha256,
        "entries": [
            {"entry_id": e, "destination": d, "state": st.value, "attempts": a}
            for e, d, st, a in detail.entries
        ],
        "identifiers": [{"kind": k, "value": v} for k, v in detail.identifiers],
        "payload_base64": None
        if detail.payload is None
        else base64.b64encode(detail.payload).decode("ascii"),
        "events": [
            {
                "at": stamp(e.at),
                "action": e.action,
                "entry_id": e.entry_id,
                "operator": e.operator,
                "reason": e.reason,
                "details": e.details,
            }
            for e in events
        ],
    }


def _print_detail(detail: MessageDetail, events: list[Any]) -> None:
    s = detail.summary
    pairs = (
        ("message", str(s.message_id)),
        ("channel", safe(s.channel)),
        ("received", f"{stamp(s.received_at)} from {safe(detail.peer)}"),
        ("type", safe(s.message_type)),
        ("control id", safe(s.control_id)),
        ("sender", f"{safe(detail.sending_application)} / {safe(detail.sending_facility)}"),
        ("status", f"{s.status.value} (answered {safe(detail.ack_code)})"),
        ("error", safe(detail.error) if detail.error else "-"),
        ("size", f"{s.size} B, sha256 {detail.sha256}"),
        ("identifiers", _identifiers_text(detail.identifiers)),
    )
    for label, value in pairs:
        click.echo(f"{label + ':':<13}{value}")
    if detail.entries:
        click.echo("")
        echo_table(
            ("ENTRY", "DESTINATION", "STATE", "ATTEMPTS"),
            [(str(e), d, st.value, str(a)) for e, d, st, a in detail.entries],
        )
    if events:
        click.echo("")
        echo_table(
            ("AT (UTC)", "ACTION", "ENTRY", "OPERATOR", "REASON / DETAILS"),
            [
                (
                    stamp(e.at),
                    e.action,
                    "-" if e.entry_id is None else str(e.entry_id),
                    safe(e.operator, 40),
                    " / ".join(safe(x, 120) for x in (e.reason, e.details) if x) or "-",
                )
                for e in reversed(events)
            ],
        )
    if detail.payload is not None:
        click.echo("")
        try:
            text = detail.payload.decode("utf-8")
        except UnicodeDecodeError:
            text = detail.payload.decode("latin-1")
        for segment in text.replace("\r\n", "\r").replace("\n", "\r").split("\r"):
            if segment:
                click.echo(safe(segment, 100_000))


@click.command("show-message")
@config_option
@click.argument("message_id", type=click.IntRange(1), metavar="ID")
@click.option(
    "--reveal",
    is_flag=True,
    help="Show the message content and identifiers (audited; needs --operator and --reason).",
)
@operator_options
@click.option(
    "--raw",
    is_flag=True,
    help="With --reveal: write the stored bytes exactly, nothing else (to save or re-send).",
)
@click.option(
    "--events", "event_limit", type=click.IntRange(0, 1000), default=20, show_default=True,
    help="How many audit-trail events to show (newest).",
)  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def show_message_command(  # noqa: PLR0917 - one parameter per option
    config_path: Path,
    message_id: int,
    reveal: bool,
    operator: str | None,
    reason: str | None,
    raw: bool,
    event_limit: int,
    as_json: bool,
) -> None:
    """One stored message: metadata, queue entries and audit trail; content only with --reveal.

    Without --reveal nothing of the patient is shown (identifiers masked, no content). With it
    the operator and reason are recorded before anything is displayed.
    """
    if raw and not reveal:
        raise click.UsageError("--raw writes the message content, so it needs --reveal")
    who, why = require_operator(operator, reason, "--reveal") if reveal else ("", "")
    config = load_offline(config_path)

    async def work(api: EngineAPI) -> tuple[MessageDetail | None, list[Any]]:
        detail = await api.message(message_id, reveal=reveal, operator=who, reason=why)
        events = await api.events(message_id=message_id, limit=event_limit) if detail else []
        return detail, events

    detail, events = with_api(config, work)
    if detail is None:
        raise OperationFailed(f"no message {message_id} (never stored, or pruned)")
    if raw:
        assert detail.payload is not None
        sys.stdout.flush()
        sys.stdout.buffer.write(detail.payload)
        sys.stdout.buffer.flush()
    elif as_json:
        echo_json(_detail_json(detail, events))
    else:
        _print_detail(detail, events)
