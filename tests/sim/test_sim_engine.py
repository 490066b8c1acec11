"""The simulator against the engine, end to end on loopback: every interface flows and is
validated; every fault is survived with nothing lost; a poison message holds the feed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from eprlink.engine import Engine, load_config_text
from eprlink.engine.sources import Listener
from eprlink.hl7 import parse
from eprlink.sim import (
    FaultConfig,
    ListenerConfig,
    ListenerKind,
    OnNak,
    Simulator,
    TrafficConfig,
    exchange,
    read_capture,
)
from eprlink.sim.hospital import Hospital, TrustSettings
from eprlink.store import MessageQuery, MessageStatus

from .conftest import adt, outbound, run, sim_config, until

HOST = "127.0.0.1"


def _receiver(name: str, port: int, sink: Path) -> str:
    return f"""
[[channels]]
name = "careflow-{name}"

[channels.source]
kind = "mllp_receiver"
host = "127.0.0.1"
port = {port}
encoding = "utf-8"

[[channels.destinations]]
name = "{name}-sink"
kind = "file"
directory = "{sink / name}"
"""


def _forwarder(name: str, port: int, extra: str = "") -> str:
    return f"""
[[channels]]
name = "{name}-out"

[channels.source]
kind = "mllp_listener"
port = 0
encoding = "utf-8"

[[channels.destinations]]
name = "careflow-{name}"
kind = "mllp"
host = "127.0.0.1"
port = {port}
ack_timeout = "2s"
backoff_initial = "50ms"
backoff_max = "200ms"
{extra}
"""


def _engine(tmp_path: Path, sim: Simulator, *, forward: dict[str, str] | None = None) -> Engine:
    text = f"""
[engine]
data_dir = "{tmp_path}"
poll_interval = "100ms"
stats_interval = "200ms"
shutdown_timeout = "2s"

[store]
kind = "sqlite"
min_free_disk = "off"
"""
    sink = tmp_path / "sink"
    for name in sim.links:
        text += _receiver(name, sim.port(name), sink)
    for name, extra in (forward or {}).items():
        text += _forwarder(name, sim.port(name), extra)
    return Engine(load_config_text(text, base_dir=tmp_path))


@asynccontextmanager
async def _pair(tmp_path: Path, sim: Simulator, **options: dict[str, str]) -> AsyncIterator[Engine]:
    async with sim:
        engine = _engine(tmp_path, sim, **options)
        await engine.start()
        try:
            yield engine
        finally:
            await engine.stop()


def _engine_port(engine: Engine, channel: str) -> int:
    source = engine.sources[channel]
    assert isinstance(source, Listener)
    return source.port


async def _settled(engine: Engine, sim: Simulator, timeout: float = 30.0) -> None:
    """Traffic sent, simulator queues empty, engine queues empty."""

    async def idle() -> bool:
        status = await engine.api.status()
        return all(d.depth == 0 for d in status.destinations)

    async with asyncio.timeout(timeout):
        while True:
            done = sim.traffic is None or sim.traffic.done.is_set()
            if done and sim.pending() == 0 and await idle():
                return
            await asyncio.sleep(0.05)


async def _stored(engine: Engine) -> dict[str, MessageStatus]:
    rows = await engine.store.search(MessageQuery(limit=100_000))
    return {r.control_id or "": r.status for r in rows}


def test_every_interface_flows_and_is_validated(tmp_path: Path) -> None:
    hospital = Hospital(21, beds=10, trust=TrustSettings(charset="UNICODE"))
    config = sim_config(
        outbound(),
        outbound(ListenerKind.RESULTS),
        ListenerConfig(kind=ListenerKind.ORDERS, port=0, order_response=True, result_delay=0.05),
        ListenerConfig(kind=ListenerKind.REGISTRATIONS, port=0),
        ListenerConfig(kind=ListenerKind.ALERTS, port=0, app_ack_delay=0.02),
        seed=5,
        traffic=TrafficConfig(beds=20, rate=500.0, count=80),
    )

    async def scenario() -> None:
        sim = Simulator(config)
        forward = {"orders": "", "registrations": "", "alerts": ""}
        async with _pair(tmp_path, sim, forward=forward) as engine:
            order = hospital.order(kind="OML^O21")
            alert = hospital.ed_attendance().messages[0]
            alert.set("MSH-15", "AL")
            alert.set("MSH-16", "AL")
            writes = {
                "orders-out": order,
                "registrations-out": hospital.register().messages[0],
                "alerts-out": alert,
            }
            for channel, message in writes.items():
                (reply,) = await exchange(HOST, _engine_port(engine, channel), message.to_bytes())
                assert parse(reply).get("MSA-1") == "AA", channel
            result_id = f"R{order.control_id}"[:20]
            await until(lambda: sim.results_queued == 1, timeout=10)
            await _settled(engine, sim)
            stored = await _stored(engine)
            assert stored[result_id] is MessageStatus.ACCEPTED  # the order's result came back
            for name, link in sim.links.items():
                acknowledged = link.queue.finished("acknowledged")
                assert len(acknowledged) == link.stats.queued
                for entry in acknowledged:
                    assert stored[entry.control_id] is MessageStatus.ACCEPTED, entry
                files = list((tmp_path / "sink" / name).glob("*.hl7"))
                assert len(files) == len(acknowledged)
            for listener in ("orders", "registrations", "alerts"):
                assert sim.listeners[listener].stats.acknowledged == 1, listener
            assert sim.listeners["alerts"].stats.answered == 2  # CA, then AA
            rows = await engine.store.search(MessageQuery(limit=1000))
            kinds = {(r.message_type or "").split("^")[0] for r in rows}
            assert {"ADT", "SIU", "REF", "OML", "ORU"} <= kinds

    run(scenario(), timeout=60)


ADT_FAULTS = FaultConfig(
    drop_before=0.02,
    drop_after=0.03,
    delay=0.05,
    delay_max=0.05,
    duplicate=0.08,
    garbage=0.15,
    lf_trailer=0.15,
    lf_segments=0.08,
    cp1252=0.06,
    cp1252_undeclared=0.06,
    malformed=0.1,
)


def test_every_fault_is_survived_with_nothing_lost(tmp_path: Path) -> None:
    capture = tmp_path / "capture.jsonl"
    skip = {"on_error": OnNak.SKIP, "on_reject": OnNak.SKIP, "ack_timeout": 2.0}
    config = sim_config(
        outbound(faults=ADT_FAULTS, **skip),
        outbound(ListenerKind.RESULTS, faults=FaultConfig(garbage=0.2, duplicate=0.1), **skip),
        ListenerConfig(
            kind=ListenerKind.ORDERS,
            port=0,
            result_delay=0.05,
            faults=FaultConfig(error=1.0, delay=1.0, delay_max=0.1, limit=4),
        ),
        ListenerConfig(
            kind=ListenerKind.REGISTRATIONS,
            port=0,
            faults=FaultConfig(
                drop_after=1.0, garbage=1.0, lf_trailer=1.0, duplicate=1.0, drop_before=0.0, limit=4
            ),
        ),
        seed=11,
        capture=capture,
        traffic=TrafficConfig(beds=20, rate=500.0, count=120),
    )

    async def scenario() -> None:
        sim = Simulator(config)
        forward = {"orders": 'on_error = "retry"', "registrations": ""}
        async with _pair(tmp_path, sim, forward=forward) as engine:
            hospital = Hospital(3, beds=5, trust=TrustSettings(charset="UNICODE"))
            order = hospital.order()
            (reply,) = await exchange(HOST, _engine_port(engine, "orders-out"), order.to_bytes())
            assert parse(reply).get("MSA-1") == "AA"
            for _ in range(2):  # the first ACK comes back mangled, twice, then the link drops
                registration = hospital.register().messages[0].to_bytes()
                port = _engine_port(engine, "registrations-out")
                (reply,) = await exchange(HOST, port, registration)
                assert parse(reply).get("MSA-1") == "AA"
            await until(lambda: sim.results_queued == 1, timeout=15)
            await _settled(engine, sim, timeout=45)
            injected = set(sim.links["adt"].injector.injected)
            assert injected >= {
                "drop_before",
                "drop_after",
                "delay",
                "duplicate",
                "garbage",
                "lf_trailer",
                "lf_segments",
                "cp1252",
                "cp1252_undeclared",
                "malformed",
            }
            assert set(sim.listeners["orders"].injector.injected) == {"error", "delay"}
            stored = await _stored(engine)
            rows = await engine.store.search(MessageQuery(limit=100_000))
            for name, link in sim.links.items():
                finished = link.queue.finished()
                assert len(finished) == link.stats.queued  # every message left the queue
                delivered = {
                    f.name.split("-", 2)[2].removesuffix(".hl7")
                    for f in (tmp_path / "sink" / name).glob("*.hl7")
                }
                for entry in finished:
                    if not entry.control_id:  # UTF-16: no control id, kept as rejected
                        continue
                    if entry.outcome == "acknowledged":
                        assert stored[entry.control_id] is MessageStatus.ACCEPTED, entry
                        assert entry.control_id in delivered, entry
                    else:
                        assert stored[entry.control_id] is MessageStatus.REJECTED, entry
            no_id = sum(1 for f in sim.links["adt"].queue.finished() if not f.control_id)
            assert sum(1 for r in rows if r.control_id is None) == no_id
            snapshot = engine.metrics.snapshot()
            assert snapshot.total("duplicates_received_total") >= 1
            await _delivered_bytes_match(tmp_path, capture)
            assert sim.results_queued == 1 and sim.listeners["orders"].stats.errors == 2
            registrations = sim.listeners["registrations"]
            assert set(registrations.injector.injected) == {
                "drop_after",
                "garbage",
                "lf_trailer",
                "duplicate",
            }
            assert registrations.stats.acknowledged == 2  # both arrived, each handed on once
            status = await engine.api.status()
            (forwarded,) = [d for d in status.destinations if d.name == "careflow-registrations"]
            assert forwarded.counts.get("delivered") == 2

    run(scenario(), timeout=90)


async def _delivered_bytes_match(tmp_path: Path, capture: Path) -> None:
    """What reached the sink is byte for byte what the simulator put on the wire (EN-4)."""
    sent = {
        payload
        for record in read_capture(capture)
        if record.direction == "out" and record.listener in ("adt", "results")
        for payload in record.payloads()
    }
    for file in (tmp_path / "sink").rglob("*.hl7"):
        assert file.read_bytes() in sent, file.name


def test_a_poison_message_holds_the_feed(tmp_path: Path) -> None:
    bad = adt("BAD1").replace(b"|19800101|", b"|19801340|")
    config = sim_config(outbound(on_error=OnNak.HOLD, retry_delay=0.1))

    async def scenario() -> None:
        sim = Simulator(config)
        async with _pair(tmp_path, sim) as engine:
            sim.enqueue("adt", bad)
            sim.enqueue("adt", adt("GOOD1"))
            link = sim.links["adt"]
            await until(lambda: link.stats.errors >= 3, timeout=10)
            head = link.queue.head()
            assert head is not None and head.control_id == "BAD1"
            stored = await _stored(engine)
            assert stored == {"BAD1": MessageStatus.REJECTED}  # GOOD1 never overtook it
            assert engine.metrics.snapshot().total("duplicates_received_total") >= 2

    run(scenario(), timeout=30)
