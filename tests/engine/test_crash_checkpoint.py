"""``mid_checkpoint`` (policy 5.1, P1, P9): SIGKILL while SQLite is copying WAL pages into the
database file, under traffic, three times; after the restarts every AA'd message is stored once
and delivered, first deliveries in acceptance order, and the file passes integrity_check.

Also the periodic checkpoint itself: it runs on its own connection, truncates the WAL, and is
counted; ``checkpoint_interval = "off"`` leaves it to SQLite.
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
from pathlib import Path

import pytest

from eprlink.engine import Engine, EngineConfig, crashpoints, load_config_text
from eprlink.engine.checkpoint import Checkpointer, checkpoint
from eprlink.engine.metrics import Metrics

from .conftest import adt, config, exchange, listener, port_of, run
from .supervisor import Client
from .test_crash import Rig, check, integrity, messages_for, read_store

pytestmark = pytest.mark.network

KILLS = 3


def test_mid_checkpoint_is_a_known_crash_point() -> None:
    assert crashpoints.parse("mid_checkpoint:2") == ("mid_checkpoint", 2)


def test_mid_checkpoint_kills_during_the_copy_and_restart_loses_nothing(tmp_path: Path) -> None:
    async def scenario() -> None:
        rig = await Rig.create(tmp_path, names=("pas",), checkpoint="50ms")
        downstream = rig.downstreams["pas"]
        client = Client(rig.port, reply_timeout=5.0)
        batch = messages_for(0, 900, every_refused=0)  # traffic outlasts the three kills
        sending = asyncio.ensure_future(client.send_all(batch))
        wal = rig.database.with_name(rig.database.name + "-wal")
        try:
            for kill in range(KILLS):
                engine = rig.process("mid_checkpoint:2")  # the second checkpoint with copying
                await engine.start()
                assert await engine.ready(), f"kill {kill}: died before its listener was up"
                # it must die by itself, at the crash point, while traffic flows
                assert await engine.wait(30) == -signal.SIGKILL, f"kill {kill}"
                # killed mid-copy: the WAL had not been reset (TRUNCATE would leave it empty)
                assert wal.stat().st_size > 0, f"kill {kill}: WAL already truncated"
            final = rig.process()
            await final.start()
            assert await final.ready()
            await asyncio.wait_for(sending, 60)
            acked = [cid for cid, code in client.answers.items() if code == "AA"]
            await downstream.wait_for(acked, timeout=30)
            assert await final.stop() == 0
        finally:
            sending.cancel()
            await rig.close()
        assert integrity(rig.database) == "ok"
        stored = await read_store(rig.database)
        check(stored, [client], rig.downstreams, kills=KILLS, context="mid_checkpoint")
        assert len(stored.accepted) == len(batch)

    run(scenario(), timeout=110)


def _grow_wal(path: Path, rows: int) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA wal_autocheckpoint = 0")  # only our checkpoint empties the WAL
        for _ in range(rows):
            conn.execute("INSERT INTO filler VALUES (zeroblob(4000))")
    finally:
        conn.close()


def test_a_checkpoint_copies_the_wal_and_truncates_it(tmp_path: Path) -> None:
    path = tmp_path / "wal.db"
    keeper = sqlite3.connect(path, isolation_level=None)  # keeps the WAL from being removed
    try:
        keeper.execute("PRAGMA journal_mode = WAL")
        keeper.execute("CREATE TABLE filler (data BLOB)")  # the keeper now holds the WAL open
        _grow_wal(path, 50)
        wal = Path(f"{path}-wal")
        assert wal.stat().st_size > 50 * 4000
        result = checkpoint(path, busy_timeout=2.0)
        assert not result.busy and result.copied_frames == result.wal_frames
        assert wal.stat().st_size == 0
        assert keeper.execute("SELECT count(*) FROM filler").fetchone()[0] == 50
    finally:
        keeper.close()


def _sqlite_config(tmp_path: Path, checkpoint_interval: str) -> EngineConfig:
    text = f"""
[engine]
data_dir = "{tmp_path}"
shutdown_timeout = "2s"

[store]
kind = "sqlite"
min_free_disk = "off"
checkpoint_interval = "{checkpoint_interval}"

[profiles]
layers = []
"""
    return load_config_text(text + listener(), base_dir=tmp_path)


def test_the_engine_checkpoints_periodically_and_stops_cleanly(tmp_path: Path) -> None:
    cfg = _sqlite_config(tmp_path, "50ms")
    assert cfg.store.checkpoint_interval == 0.05

    async def scenario() -> None:
        async with Engine(cfg) as engine:
            assert engine.checkpointer is not None
            replies = await exchange(port_of(engine), [adt("CKPT1")])
            assert replies[0] is not None and b"MSA|AA|CKPT1" in replies[0]
            async with asyncio.timeout(5):
                while not engine.metrics.snapshot().value("wal_checkpoints_total", result="done"):
                    await asyncio.sleep(0.02)
        wal = cfg.store_path().with_name(cfg.store_path().name + "-wal")
        assert not wal.exists() or wal.stat().st_size == 0

    run(scenario(), timeout=20)


def test_checkpoint_interval_off_runs_none(tmp_path: Path) -> None:
    off = _sqlite_config(tmp_path, "off")
    assert off.store.checkpoint_interval is None
    assert Engine(off).checkpointer is None
    memory = config(listener(), tmp_path)  # the in-memory store has no file to checkpoint
    assert Engine(memory).checkpointer is None
    assert _sqlite_config(tmp_path, "5m").store.checkpoint_interval == 300.0


def test_a_failing_checkpoint_is_counted_not_raised(tmp_path: Path) -> None:
    metrics = Metrics()
    missing = tmp_path / "no" / "such.db"
    checkpointer = Checkpointer(missing, interval=1.0, busy_timeout=0.1, metrics=metrics)
    assert run(checkpointer.run_once()) is None
    assert metrics.snapshot().value("wal_checkpoints_total", result="failed") == 1
