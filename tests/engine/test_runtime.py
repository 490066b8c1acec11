"""The running engine: graceful stop (policy 2.6 item 10), crash recovery (P9, P4), the folder
source, SQLite selected from configuration, and metrics as plain data."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from eprlink.engine import Engine, open_api
from eprlink.engine.sources import FolderWatcher
from eprlink.store import EntryState, MessageQuery, MessageStatus
from eprlink.store.memory import MemoryStore

from .conftest import (
    Peer,
    adt,
    config,
    control_ids,
    exchange,
    field_of,
    frame,
    listener,
    mllp_destination,
    port_of,
    read_frame,
    run,
    until,
)
from .test_inbound import GatedStore
from .test_outbound import delivered, states


def test_stop_finishes_the_delivery_in_flight(tmp_path: Path) -> None:
    async def scenario() -> None:
        peer = await Peer(delay=0.3).start()
        cfg = config(
            listener() + mllp_destination("pas", peer.port).replace("300ms", "2s"), tmp_path
        )
        store = MemoryStore()
        engine = Engine(cfg, store=store)
        await engine.start()
        await exchange(port_of(engine), [adt("MSG1")])
        await peer.wait_for(1)
        await engine.stop()
        await store.open()  # the engine closed it; look inside
        assert (await states(engine, "pas")) == {"MSG1": EntryState.DELIVERED}
        await peer.close()

    run(scenario())


def test_stop_lets_a_frame_in_hand_get_its_reply(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = GatedStore()
        engine = Engine(config(listener(), tmp_path), store=store)
        await engine.start()
        reader, writer = await asyncio.open_connection("127.0.0.1", port_of(engine))
        writer.write(frame(adt("MSG1")))
        await writer.drain()
        await store.entered.wait()
        stopping = asyncio.ensure_future(engine.stop())
        await asyncio.sleep(0.1)
        store.gate.set()
        reply = await asyncio.wait_for(read_frame(reader), 2)
        assert field_of(reply or b"", "MSA", 1) == "AA"
        await stopping
        assert await read_frame(reader) is None  # then the connection is closed
        writer.close()

    run(scenario())


def test_p9_crash_recovery_resends_in_flight_once_and_in_order(tmp_path: Path) -> None:
    async def scenario() -> None:
        silent = await Peer(lambda payload, count: None).start()
        store = MemoryStore()
        cfg = config(
            listener() + mllp_destination("pas", silent.port).replace("300ms", "30s"), tmp_path
        )
        first = Engine(cfg, store=store)
        await first.start()
        await exchange(port_of(first), [adt(c) for c in ("MSG1", "MSG2", "MSG3")])
        await silent.wait_for(1)
        # Crash: the worker dies mid-delivery, nothing is settled, the store is not closed.
        worker = first.workers["pas"]
        assert worker._task is not None
        worker._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker._task
        for source in first.sources.values():
            await source.stop(0.1)
        assert (await states(first, "pas"))["MSG1"] is EntryState.IN_FLIGHT

        peer = await Peer().start()
        cfg2 = config(listener() + mllp_destination("pas", peer.port), tmp_path)
        async with Engine(cfg2, store=store) as second:
            await delivered(second, "pas", 3)
            (row,) = await store.search(MessageQuery(control_id="MSG1"))
            stored = await store.message(row.message_id)
            assert any(e.action == "recovered" for e in await store.events())
        assert control_ids(peer.received) == ["MSG1", "MSG2", "MSG3"]
        assert stored is not None and stored.entries[0][3] == 2  # one extra attempt (P4)

    run(scenario())


def test_folder_source_moves_files_after_commit(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a.hl7").write_bytes(adt("F1") + adt("F2"))
    (inbox / "b.hl7").write_bytes(b"not hl7 at all")
    (inbox / ".c.hl7").write_bytes(adt("F3"))  # still being written
    text = f"""
[[channels]]
name = "files"
validate = false

[channels.source]
kind = "directory"
path = "{inbox}"
encoding = "utf-8"
poll_interval = "50ms"
"""

    async def scenario() -> None:
        store = MemoryStore()
        async with Engine(config(text, tmp_path), store=store) as engine:
            await until((inbox / "done" / "a.hl7").exists)
            await until((inbox / "failed" / "b.hl7").exists)
            rows = await store.search(MessageQuery())
            assert sorted((r.control_id or "", r.status.value) for r in rows) == [
                ("", "rejected"),
                ("F1", "accepted"),
                ("F2", "accepted"),
            ]
            watcher = engine.sources["files"]
            assert isinstance(watcher, FolderWatcher)
            assert (inbox / ".c.hl7").exists()

    run(scenario())


def test_folder_source_leaves_files_when_the_store_fails(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a.hl7").write_bytes(adt("F1"))
    text = f"""
[[channels]]
name = "files"
validate = false

[channels.source]
kind = "directory"
path = "{inbox}"
encoding = "utf-8"
poll_interval = "50ms"
"""

    async def scenario() -> None:
        store = MemoryStore(fail_accept=lambda m: True)
        async with Engine(config(text, tmp_path), store=store):
            await asyncio.sleep(0.2)
        assert (inbox / "a.hl7").exists()
        store.fail_accept = None
        async with Engine(config(text, tmp_path), store=store):
            await until((inbox / "done" / "a.hl7").exists)

    run(scenario())


def test_sqlite_store_from_configuration_and_api_on_a_stopped_engine(tmp_path: Path) -> None:
    text = listener()
    base = config(text, tmp_path)
    sqlite_text = (
        f"""
[engine]
name = "EPRLINK"
facility = "RXX01"
data_dir = "{tmp_path / "data"}"

[store]
kind = "sqlite"

[profiles]
layers = []
"""
        + text
    )
    from eprlink.engine import load_config_text

    cfg = load_config_text(sqlite_text, base_dir=tmp_path)
    assert base.store.kind.value == "memory"

    async def scenario() -> None:
        async with Engine(cfg) as engine:
            payloads = [adt(c) for c in ("MSG1", "MSG2")]  # with identifiers (regression)
            replies = await exchange(port_of(engine), payloads)
            assert [field_of(r or b"", "MSA", 1) for r in replies] == ["AA", "AA"]
        assert (tmp_path / "data" / "eprlink.db").exists()
        async with open_api(cfg) as api:
            status = await api.status()
            assert not status.running
            assert status.channels[0].connections is None
            rows = await api.messages(MessageQuery())
            assert [r.summary.control_id for r in rows] == ["MSG2", "MSG1"]
            assert rows[0].summary.status is MessageStatus.ACCEPTED

    run(scenario(), timeout=20)


def test_metrics_snapshot_is_plain_data(tmp_path: Path) -> None:
    async def scenario() -> None:
        peer = await Peer().start()
        cfg = config(listener() + mllp_destination("pas", peer.port), tmp_path)
        async with Engine(cfg, store=MemoryStore()) as engine:
            await exchange(port_of(engine), [adt("MSG1")])
            await delivered(engine, "pas", 1)
            await engine.refresh_queue_gauges()
            snapshot = engine.metrics.snapshot()
        assert snapshot.value("messages_received_total", channel="adt") == 1
        assert snapshot.value("messages_accepted_total", channel="adt") == 1
        assert snapshot.value("mllp_frames_received_total", channel="adt") == 1
        assert snapshot.value("queue_depth", destination="pas") == 0
        assert snapshot.value("destination_connected", destination="pas") == 1
        names = {h.name for h in snapshot.histograms}
        assert names == {"inbound_ack_latency_seconds", "outbound_ack_latency_seconds"}
        histogram = snapshot.histograms[0]
        assert histogram.buckets[-1] == (float("inf"), histogram.count)

    run(scenario())
