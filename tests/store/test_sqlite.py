"""The SQLite store against the shared contract, plus durability, group commit and faults."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Coroutine
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eprlink.store import (
    AckRecord,
    DurabilityError,
    EntryState,
    Failure,
    InboundMessage,
    MessageQuery,
    MessageStatus,
    Store,
    StoreError,
    StoreUnavailableError,
)
from eprlink.store.memory import MemoryStore
from eprlink.store.sqlite import SQLiteStore
from tests.store.contract import NHS_NUMBER, T0, WINDOW, StoreContract, inbound


class TestSQLiteStore(StoreContract):
    async def make_store(self, tmp_path: Path) -> Store:
        store = SQLiteStore(tmp_path / "eprlink.db")
        await store.open()
        return store

    async def inject_accept_failure(self, store: Store, control_id: str) -> bool:
        assert isinstance(store, SQLiteStore)
        trigger = (
            "CREATE TEMP TRIGGER injected_failure BEFORE INSERT ON main.messages"
            f" WHEN NEW.control_id = '{control_id}'"
            " BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
        )
        await store._write("test", lambda conn: conn.execute(trigger))
        return True


def run(coro: Coroutine[Any, Any, None]) -> None:
    asyncio.run(coro)


def db_path(tmp_path: Path) -> Path:
    return tmp_path / "eprlink.db"


def raw(path: Path) -> sqlite3.Connection:
    """A plain connection from outside the store, as an operator's tool would open one."""
    return sqlite3.connect(path, isolation_level=None)


def big(control_id: str, size: int = 8192) -> InboundMessage:
    message = inbound(control_id)
    return replace(message, payload=message.payload + b"NTE|1||" + b"x" * size + b"\r", sha256=b"")


# -- open: durability (P1), schema, damaged files (F29) --------------------------------------


def test_open_creates_a_durable_versioned_database(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = SQLiteStore(db_path(tmp_path))
        await store.open()
        await store.close()
        await store.open()  # reopening applies nothing twice
        await store.close()

    run(scenario())
    conn = raw(db_path(tmp_path))
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 2  # incremental
    assert conn.execute("SELECT version, name FROM schema_version").fetchall() == [(1, "initial")]
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"messages", "entries", "dedupe", "identifiers", "events", "receipts"} <= tables


class _NotDurable(SQLiteStore):
    """Test-only: asks for synchronous=NORMAL, which P1 forbids."""

    def _durability_pragmas(self) -> tuple[str, ...]:
        return ("PRAGMA journal_mode = WAL", "PRAGMA synchronous = NORMAL")


def test_open_refuses_synchronous_normal(tmp_path: Path) -> None:
    with pytest.raises(DurabilityError, match="synchronous"):
        run(_NotDurable(db_path(tmp_path)).open())


def test_open_refuses_a_database_without_wal() -> None:
    with pytest.raises(DurabilityError, match="journal_mode"):
        run(SQLiteStore(":memory:").open())


def test_open_refuses_a_damaged_file(tmp_path: Path) -> None:
    path = db_path(tmp_path)
    path.write_bytes(b"not a database, and not to be replaced by an empty one" * 100)
    before = path.read_bytes()
    with pytest.raises(StoreError):
        run(SQLiteStore(path).open())
    assert path.read_bytes() == before


def test_open_refuses_a_newer_schema(tmp_path: Path) -> None:
    run(_open_close(db_path(tmp_path)))
    raw(db_path(tmp_path)).execute("INSERT INTO schema_version VALUES (99, 'future', 0)")
    with pytest.raises(StoreError, match="newer"):
        run(SQLiteStore(db_path(tmp_path)).open())


async def _open_close(path: Path) -> None:
    store = SQLiteStore(path)
    await store.open()
    await store.close()


def test_a_real_adt_round_trips(tmp_path: Path, adt_payload: bytes) -> None:
    async def scenario() -> None:
        store = SQLiteStore(db_path(tmp_path))
        await store.open()
        message = InboundMessage(
            channel="adt",
            payload=adt_payload,
            received_at=T0,
            control_id="MSG00001",
            identifiers=(("NHS", NHS_NUMBER),),
            destinations=("epr",),
        )
        [outcome] = await store.accept([message], dedupe_window=WINDOW, now=T0)
        [found] = await store.search(MessageQuery(identifier=("NHS", NHS_NUMBER)))
        assert found.message_id == outcome.message_id
        stored = await store.message(found.message_id)
        assert stored is not None and stored.payload == adt_payload
        await store.close()

    run(scenario())


def test_closed_store_refuses_calls(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = SQLiteStore(db_path(tmp_path))
        await store.open()
        await store.close()
        with pytest.raises(StoreError):
            await store.accept([inbound("M1")], dedupe_window=WINDOW)
        with pytest.raises(StoreError):
            await store.stats()

    run(scenario())


# -- group commit -------------------------------------------------------------------------------


def test_concurrent_accepts_share_commits(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = SQLiteStore(db_path(tmp_path))
        await store.open()
        before = store.commits
        results = await asyncio.gather(
            *(store.accept([inbound(f"G{i}")], dedupe_window=WINDOW, now=T0) for i in range(50))
        )
        commits = store.commits - before
        ids = [r[0].message_id for r in results]
        assert all(i is not None for i in ids) and len(set(ids)) == 50
        assert commits <= 10, f"50 accepts took {commits} commits"
        assert len(await store.search(MessageQuery(limit=100))) == 50
        await store.close()

    run(scenario())


def test_a_failing_request_fails_alone_in_its_group(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = SQLiteStore(db_path(tmp_path))
        await store.open()
        await TestSQLiteStore().inject_accept_failure(store, "FAIL")
        calls = [
            store.accept([inbound(f"G{i}" if i != 7 else "FAIL")], dedupe_window=WINDOW, now=T0)
            for i in range(20)
        ]
        results = await asyncio.gather(*calls, return_exceptions=True)
        failed = [r for r in results if isinstance(r, BaseException)]
        assert len(failed) == 1 and isinstance(failed[0], StoreUnavailableError)
        assert NHS_NUMBER not in str(failed[0]) and "injected failure" in str(failed[0])
        assert len(await store.search(MessageQuery(limit=100))) == 19
        await store.close()

    run(scenario())


def test_two_stores_on_one_file_keep_one_copy(tmp_path: Path) -> None:
    async def scenario() -> None:  # F36 across connections: two writers, one UNIQUE key
        stores = [SQLiteStore(db_path(tmp_path)) for _ in range(2)]
        for store in stores:
            await store.open()
        message = inbound("TWIN")
        results = await asyncio.gather(
            *(s.accept([message], dedupe_window=WINDOW, now=T0) for s in stores * 5)
        )
        stored = {r[0].message_id for r in results} - {None}
        assert len(stored) == 1
        assert {r[0].duplicate_of for r in results} == {None, *stored}
        for store in stores:
            assert len(await store.search(MessageQuery(control_id="TWIN"))) == 1
            await store.close()

    run(scenario())


# -- faults: disk full (F8, P10), lock held (F27) -----------------------------------------------


def _integrity(path: Path) -> str:
    return str(raw(path).execute("PRAGMA integrity_check").fetchone()[0])


def test_disk_full_refuses_intake_then_recovers(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = SQLiteStore(db_path(tmp_path), reserve_pages=0)
        await store.open()
        pages = await store.set_max_pages(1)  # never below the current size
        await store.set_max_pages(pages + 8)
        with pytest.raises(StoreUnavailableError, match="SQLITE_FULL") as refused:
            for i in range(20):
                await store.accept([big(f"F{i}")], dedupe_window=WINDOW, now=T0)
        assert NHS_NUMBER not in str(refused.value)
        kept = len(await store.search(MessageQuery(limit=100)))
        await store.set_max_pages(pages + 10_000)  # space returns: no reopen needed
        [outcome] = await store.accept([big("AFTER")], dedupe_window=WINDOW, now=T0)
        assert outcome.message_id is not None
        assert len(await store.search(MessageQuery(limit=100))) == kept + 1
        await store.close()

    run(scenario())
    assert _integrity(db_path(tmp_path)) == "ok"


def test_disk_full_keeps_queues_draining(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = SQLiteStore(db_path(tmp_path), reserve_pages=24)
        await store.open()
        pages = await store.set_max_pages(1)
        await store.set_max_pages(pages + 40)
        accepted = 0
        with pytest.raises(StoreUnavailableError):
            for i in range(40):
                await store.accept([big(f"Q{i}", 4096)], dedupe_window=WINDOW, now=T0)
                accepted += 1
        assert accepted > 0
        delivered = 0
        while (delivery := await store.claim("epr", owner="w")) is not None:
            assert await store.settle(delivery, ack=AckRecord("AA", delivery.control_id))
            delivered += 1
        assert delivered == accepted  # F8: the stream drains while intake is refused
        with pytest.raises(StoreUnavailableError):
            await store.accept([big("STILL", 4096)], dedupe_window=WINDOW, now=T0)
        await store.set_max_pages(pages + 10_000)
        [outcome] = await store.accept([big("BACK", 4096)], dedupe_window=WINDOW, now=T0)
        assert outcome.message_id is not None
        await store.close()

    run(scenario())
    assert _integrity(db_path(tmp_path)) == "ok"


def test_free_disk_watermark_refuses_intake(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = SQLiteStore(db_path(tmp_path), min_free_disk=1 << 62)
        await store.open()
        with pytest.raises(StoreUnavailableError, match="watermark"):
            await store.accept([inbound("W1")], dedupe_window=WINDOW, now=T0)
        await store.audit("checked", operator="ops", reason="r")  # other writes still work
        await store.close()

    run(scenario())


def test_busy_timeout_bounds_a_held_lock(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = SQLiteStore(db_path(tmp_path), busy_timeout=0.2)
        await store.open()
        other = raw(db_path(tmp_path))
        other.execute("BEGIN IMMEDIATE")  # F27: another process holds the writer lock
        started = time.monotonic()
        with pytest.raises(StoreUnavailableError, match="locked"):
            await store.accept([inbound("L1")], dedupe_window=WINDOW, now=T0)
        assert time.monotonic() - started < 2.0
        other.execute("COMMIT")
        [outcome] = await store.accept([inbound("L1")], dedupe_window=WINDOW, now=T0)
        assert outcome.message_id is not None and outcome.duplicate_of is None
        await store.close()

    run(scenario())


# -- retention -------------------------------------------------------------------------------


def test_prune_in_batches_reclaims_space(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = SQLiteStore(db_path(tmp_path), prune_batch=7)
        await store.open()
        old = T0 - timedelta(days=90)
        for start in range(0, 60, 20):
            batch = [replace(big(f"P{i}"), received_at=old) for i in range(start, start + 20)]
            await store.accept(batch, dedupe_window=WINDOW, now=old)
        await store.accept([big("KEEP")], dedupe_window=WINDOW, now=T0)
        while (delivery := await store.claim("epr", owner="w")) is not None:
            if delivery.control_id != "KEEP":
                assert await store.settle(delivery, ack=AckRecord("AA", delivery.control_id))
        result = await store.prune(older_than=T0 - timedelta(days=30))
        assert (result.messages, result.entries) == (60, 60)
        assert result.bytes_reclaimed is not None and result.bytes_reclaimed > 60 * 8192
        [kept] = await store.search(MessageQuery())
        assert kept.control_id == "KEEP"
        [event] = await store.events(limit=1)
        assert event.action == "pruned" and "messages=60" in event.details
        await store.close()

    run(scenario())
    assert _integrity(db_path(tmp_path)) == "ok"


# -- crash safety (P1, P9) -----------------------------------------------------------------------

CHILD = r"""
import asyncio, sys
from datetime import UTC, datetime, timedelta
from eprlink.store import AckRecord, InboundMessage
from eprlink.store.sqlite import SQLiteStore

async def main(path, run):
    store = SQLiteStore(path)
    await store.open()
    await store.recover()
    async def sender(k):
        i = 0
        while True:
            cid = f"{run}-{k}-{i}"
            body = f"MSH|^~\\&|PAS|RXX01|EPR|RXX|20250301||ADT^A01|{cid}|P|2.4\rPID|1||9990000018\r"
            message = InboundMessage(channel="adt", payload=body.encode(), control_id=cid,
                received_at=datetime.now(UTC), destinations=("epr",),
                sending_application="PAS", sending_facility="RXX01")
            [outcome] = await store.accept([message], dedupe_window=timedelta(days=7))
            print("acked", cid, outcome.message_id, flush=True)
            i += 1
    async def worker():
        while True:
            delivery = await store.claim("epr", owner="child")
            if delivery is None:
                await asyncio.sleep(0.001)
                continue
            print("sent", delivery.entry_id, flush=True)
            await store.settle(delivery, ack=AckRecord("AA", delivery.control_id))
    await asyncio.gather(*(sender(k) for k in range(4)), worker())

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


def test_sigkill_loses_no_acknowledged_message(tmp_path: Path) -> None:
    path = db_path(tmp_path)
    acked: dict[str, int] = {}
    first_sends: list[int] = []
    for run_number, stop_after in enumerate((120, 180, 80)):
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(path), f"r{run_number}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert child.stdout is not None
        deadline = time.monotonic() + 20
        seen = 0
        try:
            while seen < stop_after and time.monotonic() < deadline:
                line = child.stdout.readline().decode().split()
                if not line:
                    break
                if line[0] == "acked":  # accept() returned: the engine would send AA now
                    acked[line[1]] = int(line[2])
                    seen += 1
                elif int(line[1]) not in first_sends:
                    first_sends.append(int(line[1]))
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait()
            child.stdout.close()
        assert seen == stop_after, "the child stopped before it was killed"

    assert _integrity(path) == "ok"

    async def check() -> None:
        store = SQLiteStore(path)
        await store.open()
        assert await store.recover() <= 1  # at most the one in flight at the kill
        stored = {
            s.control_id: s.message_id for s in await store.search(MessageQuery(limit=10_000))
        }
        assert {cid: stored.get(cid) for cid in acked} == acked  # every AA'd message is there
        rest = []
        while (delivery := await store.claim("epr", owner="checker")) is not None:
            rest.append(delivery.entry_id)
            assert await store.settle(delivery, ack=AckRecord("AA", delivery.control_id))
        order = first_sends + [e for e in rest if e not in first_sends]
        assert order == sorted(order)  # first deliveries in acceptance order (P3)
        for day in {datetime.now(UTC).date(), (datetime.now(UTC) - timedelta(days=1)).date()}:
            assert (await store.reconcile("adt", day)).balanced
        stats = {s.destination: s for s in await store.stats()}
        assert stats["epr"].oldest_pending is None
        assert stats["epr"].counts[EntryState.DELIVERED] == len(stored)
        await store.close()

    run(check())


# -- the same answers as the reference store --------------------------------------------------

_ACCEPT = st.tuples(
    st.just("accept"),
    st.lists(
        st.tuples(
            st.sampled_from([None, "A", "B", "C"]),  # control id
            st.sampled_from(["RXX01", "RXX02"]),  # facility
            st.sampled_from(["20250301", "20250302"]),  # MSH-7: same key, other bytes
            st.booleans(),  # rejected
            st.sampled_from([(), ("a",), ("b",), ("a", "b")]),
        ),
        min_size=1,
        max_size=3,
    ),
    st.booleans(),  # reject_collisions
    st.integers(0, 4),  # day
)
_OPERATION = st.one_of(
    _ACCEPT,
    st.tuples(st.just("claim"), st.sampled_from("ab"), st.integers(0, 2)),
    st.tuples(st.just("settle"), st.sampled_from("ab"), st.sampled_from([None, *Failure])),
    st.tuples(st.just("recover"), st.sampled_from([None, "w0", "w1"])),
    st.tuples(st.just("release"), st.sampled_from("ab"), st.booleans()),
    st.tuples(st.just("replay"), st.integers(0, 20), st.sampled_from("ab")),
    st.tuples(st.just("prune"), st.integers(0, 6)),
)


async def _apply(store: Store, operation: tuple[Any, ...], claimed: dict[str, Any]) -> object:
    kind = operation[0]
    if kind == "accept":
        _, items, reject, day = operation
        now = T0 + timedelta(days=day)
        messages = [
            replace(
                inbound(cid, facility=fac, stamp=stamp, received_at=now, destinations=dests),
                status=MessageStatus.REJECTED if rejected else MessageStatus.ACCEPTED,
            )
            for cid, fac, stamp, rejected, dests in items
        ]
        return await store.accept(
            messages, dedupe_window=timedelta(days=2), reject_collisions=reject, now=now
        )
    if kind == "claim":
        delivery = await store.claim(operation[1], owner=f"w{operation[2] % 2}", fence=operation[2])
        claimed[operation[1]] = delivery or claimed.get(operation[1])
        return delivery
    if kind == "settle":
        delivery = claimed.get(operation[1])
        if delivery is None:
            return None
        return await store.settle(delivery, ack=AckRecord("AE", "x"), failure=operation[2])
    if kind == "recover":
        return await store.recover(owner=operation[1])
    if kind == "release":
        return await store.release(
            operation[1], operator="op", reason="r", include_dead=operation[2]
        )
    if kind == "replay":
        found = await store.search(MessageQuery(limit=1000))
        if not found:
            return None
        chosen = found[operation[1] % len(found)].message_id
        return await store.replay([chosen], operation[2], operator="op", reason="r")
    result = await store.prune(older_than=T0 + timedelta(days=operation[1]))
    return (result.messages, result.entries)


async def _snapshot(store: Store) -> object:
    found = await store.search(MessageQuery(limit=1000))
    messages = [await store.message(s.message_id) for s in found]
    days = [await store.reconcile("adt", (T0 + timedelta(days=d)).date()) for d in range(5)]
    trail = [
        (e.action, e.message_id, e.entry_id, e.operator, e.reason)
        for e in await store.events(limit=10_000)
    ]
    return found, messages, await store.stats(), days, trail


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_OPERATION, min_size=1, max_size=25))
def test_same_answers_as_the_memory_store(operations: list[tuple[Any, ...]]) -> None:
    # On tmpfs when there is one: fsync costs nothing there, and this checks logic, not disks.
    base = "/dev/shm" if Path("/dev/shm").is_dir() else None
    with tempfile.TemporaryDirectory(dir=base) as directory:

        async def scenario() -> None:
            sqlite_store = SQLiteStore(Path(directory) / "eprlink.db")
            memory_store = MemoryStore()
            await sqlite_store.open()
            await memory_store.open()
            claimed: tuple[dict[str, Any], dict[str, Any]] = ({}, {})
            for step, operation in enumerate(operations):
                got = await _apply(sqlite_store, operation, claimed[0])
                want = await _apply(memory_store, operation, claimed[1])
                assert got == want, (step, operation)
            assert await _snapshot(sqlite_store) == await _snapshot(memory_store)
            await sqlite_store.close()

        run(scenario())


def test_a_transaction_lost_mid_group_is_redone_without_the_culprit(tmp_path: Path) -> None:
    async def scenario() -> None:  # SQLITE_FULL / IOERR may roll the whole transaction back
        store = SQLiteStore(db_path(tmp_path))
        await store.open()

        def hold(conn: sqlite3.Connection) -> None:
            time.sleep(0.05)  # the rest of the group queues up meanwhile

        def lose_transaction(conn: sqlite3.Connection) -> None:
            conn.execute("ROLLBACK")
            raise sqlite3.OperationalError("database or disk is full")

        before = store.commits
        blocker = asyncio.ensure_future(store._write("hold", hold))
        await asyncio.sleep(0.01)
        results = await asyncio.gather(
            store.accept([inbound("G1")], dedupe_window=WINDOW, now=T0),
            store._write("lose", lose_transaction),
            store.accept([inbound("G2")], dedupe_window=WINDOW, now=T0),
            return_exceptions=True,
        )
        await blocker
        assert isinstance(results[1], StoreUnavailableError)
        assert [type(r) for r in (results[0], results[2])] == [list, list]
        assert store.commits - before == 2  # the hold, then G1 and G2 redone together once
        assert {s.control_id for s in await store.search(MessageQuery())} == {"G1", "G2"}
        await store.close()

    run(scenario())


def test_reopening_a_database_with_identifiers_passes_the_integrity_check(tmp_path: Path) -> None:
    """Regression: quick_check on SQLite 3.40 misread the identifiers table (column order)."""

    async def scenario() -> None:
        path = tmp_path / "ids.db"
        first = SQLiteStore(path)
        await first.open()
        message = InboundMessage(
            channel="adt",
            payload=b"MSH|^~\\&|A|B|||20250101||ADT^A01|X1|P|2.4\r",
            received_at=datetime(2025, 1, 1, tzinfo=UTC),
            control_id="X1",
            identifiers=(("NHS", "9990000018"),),
            destinations=("sink",),
        )
        await first.accept([message], dedupe_window=timedelta(days=7))
        await first.close()
        second = SQLiteStore(path)
        await second.open()
        await second.close()

    asyncio.run(scenario())


# -- intake cost: one group, one transaction, a few statements per message ----------------------


async def _grouped(store: SQLiteStore, calls: list[Coroutine[Any, Any, Any]]) -> list[Any]:
    """Run ``calls`` as one writer group: the writer is held until every call has queued."""
    entered, gate = threading.Event(), threading.Event()

    def hold(conn: sqlite3.Connection) -> None:
        entered.set()
        gate.wait(10)

    blocker = asyncio.ensure_future(store._write("hold", hold))
    await asyncio.to_thread(entered.wait, 10)  # the writer is inside the hold's transaction
    tasks = [asyncio.ensure_future(call) for call in calls]
    for _ in range(3):
        await asyncio.sleep(0)  # let each call reach the writer's inbox (no timer involved)
    gate.set()
    await blocker
    return await asyncio.gather(*tasks, return_exceptions=True)


def test_a_group_of_accepts_is_one_transaction_of_few_statements(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = SQLiteStore(db_path(tmp_path))
        await store.open()
        first = await store.accept([inbound("K1")], dedupe_window=WINDOW, now=T0)
        statements: list[str] = []
        await store._write("trace", lambda conn: conn.set_trace_callback(statements.append))
        statements.clear()
        commits = store.commits
        calls = [store.accept([inbound(f"N{i}")], dedupe_window=WINDOW, now=T0) for i in range(8)]
        calls.append(store.accept([inbound("K1")], dedupe_window=WINDOW, now=T0))
        calls.append(
            store.accept(
                [inbound("K1", stamp="20250301093001")],
                dedupe_window=WINDOW,
                reject_collisions=True,
                now=T0,
            )
        )
        *stored, duplicate, refused = await _grouped(store, calls)
        assert store.commits - commits == 2  # the hold, then all ten accepts together
        assert [r[0].message_id for r in stored] == list(range(2, 10))  # ids in arrival order
        assert duplicate[0].duplicate_of == first[0].message_id
        assert (refused[0].message_id, refused[0].collision, refused[0].ack_code) == (
            None,
            True,
            "AE",
        )
        assert statements.count("BEGIN IMMEDIATE") == statements.count("COMMIT") == 2
        room = [s for s in statements if "pragma_page_count" in s]
        assert len(room) <= 1  # the page headroom: at most once a transaction, not per accept
        accepted = [s for s in statements if s not in {"BEGIN IMMEDIATE", "COMMIT", *room}]
        assert not [s for s in accepted if s.startswith(("PRAGMA", "SAVEPOINT", "RELEASE"))]
        # one look-up per sender key (K1 once for both of its copies), the ids, and per stored
        # message its row, key, identifier, entry and two events; a receipt and an event for
        # each of the two that were not stored
        assert len(accepted) == 9 + 1 + 8 * 6 + 2 * 2
        await store._write("trace", lambda conn: conn.set_trace_callback(None))
        await store.close()

    run(scenario())


def test_a_failing_accept_in_a_combined_group_fails_alone(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = SQLiteStore(db_path(tmp_path))
        await store.open()
        await TestSQLiteStore().inject_accept_failure(store, "FAIL")
        calls = [
            store.accept([inbound("A1")], dedupe_window=WINDOW, now=T0),
            store.accept([inbound("FAIL")], dedupe_window=WINDOW, now=T0),
            store.claim("epr", owner="w"),
            store.accept([inbound("A2"), inbound("A1")], dedupe_window=WINDOW, now=T0),
        ]
        first, failed, claimed, second = await _grouped(store, calls)
        assert isinstance(failed, StoreUnavailableError)
        assert first[0].message_id is not None
        assert second[0].message_id is not None and second[1].duplicate_of == first[0].message_id
        assert claimed is None or claimed.message_id == first[0].message_id
        found = {s.control_id for s in await store.search(MessageQuery())}
        assert found == {"A1", "A2"}
        await store.close()

    run(scenario())


def test_intake_over_the_page_reserve_is_refused_within_one_group(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = SQLiteStore(db_path(tmp_path), reserve_pages=24)
        await store.open()
        pages = await store.set_max_pages(1)
        await store.set_max_pages(pages + 40)  # room for a few 4 KiB messages over the reserve
        calls = [
            store.accept([big(f"R{i}", 4096)], dedupe_window=WINDOW, now=T0) for i in range(12)
        ]
        results = await _grouped(store, calls)
        refused = [r for r in results if isinstance(r, StoreUnavailableError)]
        kept = [r for r in results if not isinstance(r, BaseException)]
        assert refused and kept
        assert all("max_page_count" in str(r) for r in refused)
        assert results.index(refused[0]) == len(kept)  # the earliest arrivals were taken
        assert len(await store.search(MessageQuery(limit=100))) == len(kept)
        await store.set_max_pages(pages + 10_000)
        [outcome] = await store.accept([big("LATER", 4096)], dedupe_window=WINDOW, now=T0)
        assert outcome.message_id is not None
        await store.close()

    run(scenario())
    assert _integrity(db_path(tmp_path)) == "ok"
