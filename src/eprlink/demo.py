"""``make demo``: the CareFlow IE simulator feeding the engine, an order and its result, live.

On a fresh clone this starts the simulator (synthetic hospital, five ports) and the engine
(embedded SQLite in ./demo-data) in one process, lets the engine receive the ADT and results
feeds by connecting to the simulator's outbound ports, validates, stores and delivers them to
files, submits an order and waits for its result, then prints a summary and stops everything.
It is an edge like the command line, so it may use the engine's public API; the simulator
itself never does.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import sys
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from eprlink.cli.sim import run_coroutine
from eprlink.engine import Engine, load_config_text
from eprlink.engine.metrics_http import MetricsServer
from eprlink.hl7 import Message, parse
from eprlink.sim import (
    ListenerConfig,
    ListenerKind,
    OnNak,
    SimConfig,
    Simulator,
    TrafficConfig,
    exchange,
)
from eprlink.sim.hospital import Hospital, TrustSettings
from eprlink.store import EntryState, MessageQuery, MessageStatus

DEMO_DIR = Path("demo-data")
MARKER = ".eprlink-demo"
SEED = 2025
COUNT = 150  # generated messages, on both feeds
RATE = 60.0  # messages per second
DEADLINE = 50.0  # seconds; the demo fails rather than hang


@dataclass(slots=True)
class Progress:
    """What the live display and the summary show."""

    order_sent: float | None = None
    order_answer: str = "-"
    result_seconds: float | None = None
    writes: dict[str, str] = field(default_factory=dict)
    stored: Counter[str] = field(default_factory=Counter)
    delivered: int = 0
    pending: int = 0
    issues: Counter[str] = field(default_factory=Counter)
    warnings: Counter[str] = field(default_factory=Counter)
    metrics_url: str = ""


def _prepare(directory: Path) -> None:
    """A clean demo folder each run (same seed, same control ids: the dedupe window would
    otherwise treat a second run as duplicates). Only a folder this demo made is emptied."""
    if directory.exists():
        if not (directory / MARKER).exists() and any(directory.iterdir()):
            raise SystemExit(f"{directory} exists and was not made by the demo; move it away")
        shutil.rmtree(directory)
    (directory / "outbox").mkdir(parents=True)
    (directory / MARKER).write_text("made by python -m eprlink.demo; safe to delete\n")


def _sim_config(directory: Path) -> SimConfig:
    def port(kind: ListenerKind, **options: object) -> ListenerConfig:
        return ListenerConfig(kind=kind, port=0, **options)  # type: ignore[arg-type]

    return SimConfig(
        seed=SEED,
        data_dir=directory / "sim",
        capture=directory / "sim-capture.jsonl",
        traffic=TrafficConfig(beds=60, rate=RATE, count=COUNT),
        listeners=(
            port(ListenerKind.ADT, ack_timeout=5.0, on_error=OnNak.SKIP, on_reject=OnNak.SKIP),
            port(ListenerKind.RESULTS, ack_timeout=5.0, retry_delay=0.5),
            port(ListenerKind.ORDERS, order_response=True, result_delay=0.5),
            port(ListenerKind.REGISTRATIONS),
            port(ListenerKind.ALERTS, app_ack_delay=0.2),
        ),
    )


def _engine_text(directory: Path, sim: Simulator) -> str:
    """The demo's eprlink.toml: two connect-to-receive channels and an order outbox."""
    root = directory.resolve()

    def receiver(name: str, kind: ListenerKind) -> str:
        return f"""
[[channels]]
name = "careflow-{name}"
on_invalid = "reject"

[channels.source]
kind = "mllp_receiver"
host = "127.0.0.1"
port = {sim.port(kind)}
encoding = "utf-8"

[[channels.destinations]]
name = "{name}-sink"
kind = "file"
directory = "{root / "sink" / name}"
"""

    return f"""# Written by python -m eprlink.demo: the engine side of the demo (synthetic data).
[engine]
name = "EPRLINK"
facility = "RZZ"
data_dir = "{root}"
poll_interval = "200ms"
stats_interval = "1s"
shutdown_timeout = "3s"

[store]
kind = "sqlite"
path = "eprlink.db"
min_free_disk = "off"
{receiver("adt", ListenerKind.ADT)}{receiver("results", ListenerKind.RESULTS)}
# Orders written by a vendor's app into the outbox go to the simulator's orders listener.
[[channels]]
name = "orders-out"

[channels.source]
kind = "directory"
path = "{root / "outbox"}"
encoding = "utf-8"
poll_interval = "200ms"

[[channels.destinations]]
name = "careflow-orders"
kind = "mllp"
host = "127.0.0.1"
port = {sim.port(ListenerKind.ORDERS)}
ack_timeout = "5s"
backoff_initial = "200ms"
"""


def _synthetic() -> Hospital:
    return Hospital(SEED + 1, beds=10, trust=TrustSettings(charset="UNICODE"))


def _invalid_update(hospital: Hospital) -> Message:
    """One bad message on purpose: a date of birth in month 13. The engine answers AE 102;
    the simulator's ADT link is set to skip AE/AR, so the feed carries on."""
    update = hospital.update_demographics(change="phones_removed").messages[0]
    update.set("PID-7", "20251340")
    return update


def _submit_order(directory: Path, order: Message) -> None:
    """As a vendor's app would: write under a dot-name, then rename (the folder source skips
    dot-files, so it never reads half a file)."""
    hidden = directory / "outbox" / ".order-1.hl7"
    hidden.write_bytes(order.to_bytes())
    hidden.rename(directory / "outbox" / "order-1.hl7")


async def _third_party_writes(sim: Simulator, hospital: Hospital, progress: Progress) -> None:
    """A registration (A28) and an ED alert in enhanced mode, straight to the simulator."""
    registration = hospital.register().messages[0]
    replies = await exchange(
        "127.0.0.1", sim.port(ListenerKind.REGISTRATIONS), registration.to_bytes(), timeout=5.0
    )
    progress.writes["registration A28"] = " then ".join(_codes(replies)) or "no answer"
    alert = hospital.ed_attendance().messages[0]
    alert.set("MSH-15", "AL")
    alert.set("MSH-16", "AL")
    replies = await exchange(
        "127.0.0.1", sim.port(ListenerKind.ALERTS), alert.to_bytes(), replies=2, timeout=5.0
    )
    progress.writes["ED alert A04 (enhanced)"] = " then ".join(_codes(replies)) or "no answer"


def _codes(replies: list[bytes]) -> list[str]:
    return [parse(reply).get("MSA-1") or "?" for reply in replies]


async def _refresh(engine: Engine, sim: Simulator, progress: Progress, result_id: str) -> bool:
    """Update the numbers; True once everything the demo waits for has happened."""
    rows = await engine.store.search(MessageQuery(limit=100_000))
    progress.stored = Counter(f"{r.message_type or '?'} {r.status.value}" for r in rows)
    status = await engine.api.status()
    progress.delivered = sum(
        d.counts.get(EntryState.DELIVERED.value, 0) for d in status.destinations
    )
    progress.pending = sum(d.depth for d in status.destinations) + sim.pending()
    sent = progress.order_sent
    if progress.result_seconds is None and sent is not None:
        found = await engine.store.search(MessageQuery(control_id=result_id))
        progress.result_seconds = time.monotonic() - sent if found else None
    orders = sim.listeners[ListenerKind.ORDERS.value].codes
    if orders:
        progress.order_answer = ", ".join(f"{code} {n}" for code, n in sorted(orders.items()))
    traffic_done = sim.traffic is not None and sim.traffic.done.is_set()
    return traffic_done and progress.pending == 0 and progress.result_seconds is not None


def _live(sim: Simulator, progress: Progress) -> Table:
    table = Table(title="Live: simulator → engine (synthetic data)", min_width=72)
    table.add_column("what")
    table.add_column("count", justify="right")
    for name, link in sim.links.items():
        s = link.stats
        table.add_row(
            f"sim {name} feed: queued / sent / ACKed / skipped",
            f"{s.queued} / {s.sent} / {s.acknowledged} / {s.skipped}",
        )
    table.add_row("engine: messages stored", str(sum(progress.stored.values())))
    table.add_row("engine: deliveries to the file sink", str(progress.delivered))
    table.add_row("still in queues", str(progress.pending))
    result = "waiting" if progress.result_seconds is None else f"{progress.result_seconds:.2f} s"
    table.add_row(
        "order → simulator (ORL^O22) / result back", f"{progress.order_answer} / {result}"
    )
    return table


async def _run(console: Console, directory: Path) -> tuple[Simulator, Progress]:
    _prepare(directory)
    progress = Progress()
    sim = Simulator(_sim_config(directory))
    await sim.start()
    engine: Engine | None = None
    writes: asyncio.Future[None] | None = None
    try:
        text = _engine_text(directory, sim)
        (directory / "eprlink.toml").write_text(text, encoding="utf-8")
        engine = Engine(load_config_text(text, name="demo-data/eprlink.toml", base_dir=directory))
        await engine.start()
        async with MetricsServer(engine.metrics, "127.0.0.1", 0) as metrics:
            console.print(f"Engine metrics while the demo runs: {metrics.url}")
            hospital = _synthetic()
            sim.enqueue("adt", _invalid_update(hospital))
            order = hospital.order(kind="OML^O21")
            result_id = f"R{order.control_id}"[:20]
            progress.order_sent = time.monotonic()
            _submit_order(directory, order)
            writes = asyncio.ensure_future(_third_party_writes(sim, hospital, progress))
            deadline = time.monotonic() + DEADLINE
            with Live(_live(sim, progress), console=console, refresh_per_second=8) as live:
                while not await _refresh(engine, sim, progress, result_id):
                    if time.monotonic() > deadline:
                        raise SystemExit("the demo did not finish in time; see demo-data/")
                    live.update(_live(sim, progress))
                    await asyncio.sleep(0.2)
                await writes
                live.update(_live(sim, progress))
            await _issues(engine, progress)
            progress.metrics_url = metrics.url
            scrape = await asyncio.to_thread(_scrape, metrics.url)
            console.print(f"\nThe metrics endpoint answered with {scrape} samples.")
        return sim, progress
    finally:
        if writes is not None and not writes.done():
            writes.cancel()
            await asyncio.wait({writes})
        if engine is not None:
            await engine.stop()
        await sim.stop()


def _scrape(url: str) -> int:
    with urllib.request.urlopen(url, timeout=5) as response:
        body = response.read().decode("utf-8")
    return sum(1 for line in body.splitlines() if line and not line.startswith("#"))


async def _issues(engine: Engine, progress: Progress) -> None:
    """Validation findings as the engine recorded them: PHI-free reason texts only."""
    for row in await engine.store.search(MessageQuery(limit=100_000)):
        stored = await engine.store.message(row.message_id)
        if stored is None or not stored.error:
            continue
        if row.status is MessageStatus.REJECTED:
            progress.issues[stored.error] += 1
        else:
            progress.warnings[stored.error.removeprefix("accepted with warning: ")] += 1


def _summary(console: Console, sim: Simulator, progress: Progress) -> None:
    types = Table(title="Messages stored by the engine, by type", min_width=60)
    for column in ("type", "accepted", "rejected"):
        types.add_column(column, justify="left" if column == "type" else "right")
    kinds = sorted({key.rsplit(" ", 1)[0] for key in progress.stored})
    for kind in kinds:
        types.add_row(
            kind, str(progress.stored[f"{kind} accepted"]), str(progress.stored[f"{kind} rejected"])
        )
    checks = Table(title="Validation, deliveries, latency", min_width=60)
    checks.add_column("measure")
    checks.add_column("value", justify="right")
    for label, found in (("rejected (AE/AR)", progress.issues), ("warnings", progress.warnings)):
        checks.add_row(f"validation issues: {label}", str(found.total()))
        for text, count in found.most_common(3):
            checks.add_row(f"  {text}", str(count))
    checks.add_row("deliveries to the file sink", str(progress.delivered))
    for name, link in sim.links.items():
        median, p95 = link.stats.latency(0.5), link.stats.latency(0.95)
        if median is not None and p95 is not None:
            checks.add_row(
                f"{name} feed send → ACK, median / p95",
                f"{median * 1000:.1f} / {p95 * 1000:.1f} ms",
            )
    if progress.result_seconds is not None:
        checks.add_row("order submitted → result stored", f"{progress.result_seconds:.2f} s")
    for what, codes in progress.writes.items():
        checks.add_row(f"third-party write: {what}", codes)
    console.print(Group(types, checks))


def _next_steps(console: Console, directory: Path, metrics_url: str) -> None:
    config = directory / "eprlink.toml"
    capture = directory / "sim-capture.jsonl"
    console.print("\n[bold]Where to look next[/]")
    for command, why in (
        (f"eprlink status --config {config}", "queues and deliveries"),
        (f"eprlink messages --config {config}", "what was stored, identifiers masked"),
        (f"ls {directory / 'sink'}/*", "the delivered files"),
        (f"eprlink sim --replay adt={capture}", "replay the captured frames"),
        ("eprlink sim --config examples/sim.toml", "the simulator on its own ports"),
        ("eprlink run examples/eprlink.toml", "the engine against it; metrics on :9464"),
    ):
        console.print(f"  {command}\n      {why}")
    console.print(f"  Metrics were served at {metrics_url} while the demo ran; under eprlink run")
    console.print("  they are at http://127.0.0.1:9464/metrics. Read docs/simulator.md next.")


def main() -> None:
    console = Console(highlight=False)
    console.rule("[bold]eprlink demo: the CareFlow IE simulator feeding the engine")
    console.print("Synthetic data only (NHS numbers in the 999 test range, fictional Trust RZZ).")
    started = time.monotonic()
    sim, progress = run_coroutine(_run(console, DEMO_DIR), log_level=logging.ERROR)
    _summary(console, sim, progress)
    _next_steps(console, DEMO_DIR, progress.metrics_url)
    console.print(f"\nDemo finished in {time.monotonic() - started:.1f} s; nothing left running.")
    sys.exit(0)


if __name__ == "__main__":
    main()
