"""Crash and fault tests (policy 5.2, checked as in 5.3): SIGKILL at random instants and at the
named crash points (F1–F6, F37), a full disk (F8, P10), and downstreams that answer AE, AR,
garbage or nothing (P5, AK-4, AK-5, AK-6).

The engine runs as a subprocess (``eprlink run``, see ``supervisor.py``), fed by a client that
resends every unanswered message and delivering to recording downstreams on loopback. The
random-kill test is bounded for CI (1,500 messages, at least 20 kills, well under a minute);
``EPRLINK_SOAK=1`` runs the long variant by hand (20,000 messages, 200 kills;
``EPRLINK_SOAK_MESSAGES`` and ``EPRLINK_SOAK_KILLS`` override). ``EPRLINK_CRASH_SEED`` replays
a run: the seed is in every failure message.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sqlite3
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from eprlink.engine import Engine, crashpoints
from eprlink.store import EntryState, MessageQuery, MessageStatus
from eprlink.store.sqlite import SQLiteStore

from .conftest import (
    config,
    exchange,
    field_of,
    listener,
    mllp_destination,
    port_of,
    run,
)
from .supervisor import (
    Client,
    Downstream,
    EngineProcess,
    KillLog,
    Pacer,
    ack,
    adt,
    free_port,
    kill_loop,
    runner_command,
)

CHANNEL = "adt"
DESTINATIONS = ("pas", "ris")


def engine_config(
    directory: Path, *, port: int, downstreams: dict[str, int], checkpoint: str = "200ms"
) -> Path:
    """An SQLite engine: one listener, every message routed to every destination, and WAL
    checkpoints often enough that random kills (and ``mid_checkpoint``) land in them."""
    destinations = "".join(
        f"""
[[channels.destinations]]
name = "{name}"
kind = "mllp"
host = "127.0.0.1"
port = {downstream_port}
ack_timeout = "5s"
connect_timeout = "1s"
backoff_initial = "20ms"
backoff_max = "200ms"
"""
        for name, downstream_port in downstreams.items()
    )
    text = f"""
[engine]
name = "EPRLINK"
facility = "RXX01"
data_dir = "{directory / "data"}"
node = "crash-test"
poll_interval = "200ms"
stats_interval = "1s"
shutdown_timeout = "5s"

[store]
kind = "sqlite"
min_free_disk = "off"
checkpoint_interval = "{checkpoint}"

[profiles]
layers = []

[metrics]
listen = "off"

[[channels]]
name = "{CHANNEL}"
validate = false

[channels.source]
kind = "mllp_listener"
port = {port}
encoding = "utf-8"
{destinations}"""
    path = directory / "eprlink.toml"
    path.write_text(text, encoding="utf-8")
    return path


@dataclass
class Rig:
    """One engine configuration with its downstreams, started as often as a test needs."""

    directory: Path
    port: int
    downstreams: dict[str, Downstream]
    config: Path

    @classmethod
    async def create(
        cls, directory: Path, names: tuple[str, ...] = DESTINATIONS, *, checkpoint: str = "200ms"
    ) -> Rig:
        downstreams = {name: await Downstream().start() for name in names}
        port = free_port()
        path = engine_config(
            directory,
            port=port,
            downstreams={n: d.port for n, d in downstreams.items()},
            checkpoint=checkpoint,
        )
        return cls(directory, port, downstreams, path)

    def process(self, crashpoint: str | None = None) -> EngineProcess:
        return EngineProcess(
            runner_command(self.config),
            port=self.port,
            log=self.directory / "engine.log",
            crashpoint=crashpoint,
        )

    @property
    def database(self) -> Path:
        return self.directory / "data" / "eprlink.db"

    async def close(self) -> None:
        for downstream in self.downstreams.values():
            await downstream.close()


@dataclass(frozen=True, slots=True)
class Stored:
    """What the store says after the run."""

    accepted: list[str]  # control ids of accepted messages, in acceptance (message id) order
    rejected: set[str]
    copies: dict[str, int]  # control id -> stored messages with it
    pending: dict[str, int]  # destination -> entries not delivered
    balanced: bool


async def read_store(path: Path) -> Stored:
    store = SQLiteStore(path)
    await store.open()  # quick_check at open: a damaged file is refused (F29)
    try:
        summaries = sorted(
            await store.search(MessageQuery(limit=1_000_000)), key=lambda s: s.message_id
        )
        copies: dict[str, int] = {}
        for summary in summaries:
            copies[summary.control_id or ""] = copies.get(summary.control_id or "", 0) + 1
        accepted = [s.control_id or "" for s in summaries if s.status is MessageStatus.ACCEPTED]
        rejected = {s.control_id or "" for s in summaries if s.status is MessageStatus.REJECTED}
        pending = {
            stats.destination: sum(
                n for state, n in stats.counts.items() if state is not EntryState.DELIVERED
            )
            for stats in await store.stats()
        }
        days: set[date] = {s.received_at.date() for s in summaries}
        balanced = all([(await store.reconcile(CHANNEL, day)).balanced for day in days])
    finally:
        await store.close()
    return Stored(accepted, rejected, copies, pending, balanced)


async def duplicates_audited(path: Path, control_id: str) -> int:
    """How many resends of ``control_id`` the store recorded as duplicates (HD-11)."""
    store = SQLiteStore(path)
    await store.open()
    try:
        [summary] = await store.search(MessageQuery(control_id=control_id))
        events = await store.events(message_id=summary.message_id)
    finally:
        await store.close()
    return sum(event.action == "duplicate" for event in events)


def integrity(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


def check(
    stored: Stored,
    clients: list[Client],
    downstreams: dict[str, Downstream],
    *,
    kills: int,
    context: str,
) -> None:
    """Policy 5.3, invariants 1–6 (7 and 8 are checked by the callers)."""
    answers = {cid: code for client in clients for cid, code in client.answers.items()}
    acked = {cid for cid, code in answers.items() if code == "AA"}
    refused = {cid for cid, code in answers.items() if code != "AA"}
    # 1. every AA'd message is stored, once (resends were duplicates, not new messages)
    assert acked <= set(stored.accepted), f"AA'd but not stored ({context})"
    assert all(stored.copies[cid] == 1 for cid in answers), f"stored twice ({context})"
    assert set(stored.accepted) == acked, f"accepted without an AA ever seen ({context})"
    # each client's answers came in its own sending order, which acceptance order respects
    position = {cid: index for index, cid in enumerate(stored.accepted)}
    for client in clients:
        mine = [cid for cid in client.order if cid in position]
        assert mine == sorted(mine, key=position.__getitem__), f"client order ({context})"
    for name, downstream in downstreams.items():
        # 2. and 3. everything reached the downstream; first deliveries in acceptance order
        assert downstream.first_order() == stored.accepted, f"{name}: order ({context})"
        # 4. duplicates bounded by the crashes (no ACK timeouts in these runs)
        assert downstream.duplicates() <= kills, f"{name}: duplicates ({context})"
        # 5. nothing refused was forwarded
        assert not refused & set(downstream.first_order()), f"{name}: AR forwarded ({context})"
        assert stored.pending.get(name, 0) == 0, f"{name}: still pending ({context})"
    assert refused == stored.rejected, f"refusals ({context})"
    # 6. reconciliation balances
    assert stored.balanced, f"reconciliation ({context})"


def messages_for(sender: int, count: int, *, every_refused: int = 50) -> list[tuple[str, bytes]]:
    """``count`` messages; every ``every_refused``-th one has MSH-11 T: AR 202, never forwarded."""
    batch = []
    for index in range(count):
        control_id = f"S{sender}-{index:06d}"
        processing = "T" if every_refused and index % every_refused == every_refused - 1 else "P"
        batch.append((control_id, adt(control_id, processing=processing)))
    return batch


async def random_kills(tmp_path: Path, *, messages: int, kills: int, seed: int) -> None:
    rng = random.Random(seed)
    context = f"seed {seed}"
    rig = await Rig.create(tmp_path)
    senders = 3
    per_sender = messages // senders
    pacer = Pacer(per_sender // kills)
    clients = [Client(rig.port) for _ in range(senders)]
    traffic = [
        asyncio.ensure_future(client.send_all(messages_for(n, per_sender), pacer=pacer))
        for n, client in enumerate(clients)
    ]

    def on_kill(done: int) -> None:  # spread the traffic over the kills
        pacer.allow(per_sender * (done + 1) // kills)

    try:
        log = await kill_loop(
            rig.process,
            kills=kills,
            rng=rng,
            on_kill=on_kill,
            points=tuple(sorted(crashpoints.POINTS)),
            deadline=max(50.0, kills * 3.0),
        )
        final = rig.process()
        await final.start()
        assert await final.ready(), context
        await asyncio.wait_for(asyncio.gather(*traffic), 60)
        expected = {
            cid for client in clients for cid, code in client.answers.items() if code == "AA"
        }
        for downstream in rig.downstreams.values():
            await downstream.wait_for(expected, timeout=30)
        assert await final.stop() == 0, f"clean stop after the run ({context})"  # 8.
    finally:
        for task in traffic:
            task.cancel()
        await rig.close()
    assert log.kills >= kills
    assert integrity(rig.database) == "ok", context  # 7.
    stored = await read_store(rig.database)
    check(stored, clients, rig.downstreams, kills=log.kills, context=f"{context}, {log}")
    assert len(stored.accepted) + len(stored.rejected) == per_sender * senders
    print(f"random kills: {summary(log, clients, rig.downstreams)} ({context})")


def summary(log: KillLog, clients: list[Client], downstreams: dict[str, Downstream]) -> str:
    dups = {name: d.duplicates() for name, d in downstreams.items()}
    resent = sum(c.resends for c in clients)
    points = dict(sorted(log.crashpoint_kills.items()))
    return f"{log.kills} kills ({points} at crash points), {resent} resends, duplicates {dups}"


def seed() -> int:
    text = os.environ.get("EPRLINK_CRASH_SEED")
    return int(text) if text else random.randrange(1 << 32)


@pytest.mark.timeout(120)
def test_f6_random_sigkills_lose_nothing_and_keep_order(tmp_path: Path) -> None:
    run(random_kills(tmp_path, messages=1500, kills=20, seed=seed()), timeout=110)


@pytest.mark.skipif(not os.environ.get("EPRLINK_SOAK"), reason="long variant: EPRLINK_SOAK=1")
@pytest.mark.timeout(7200)
def test_f6_soak_random_sigkills(tmp_path: Path) -> None:
    messages = int(os.environ.get("EPRLINK_SOAK_MESSAGES", "20000"))
    kills = int(os.environ.get("EPRLINK_SOAK_KILLS", "200"))
    run(random_kills(tmp_path, messages=messages, kills=kills, seed=seed()), timeout=7000)


# -- each crash point, once (F1–F5, F37) ------------------------------------------------------

INBOUND_POINTS = ("after_frame_read", "before_commit", "after_commit_before_ack", "after_ack_write")
OUTBOUND_POINTS = (
    "after_dequeue_before_send",
    "after_send_before_ack_read",
    "after_downstream_ack_before_mark",
)


@pytest.mark.parametrize("point", INBOUND_POINTS + OUTBOUND_POINTS)
def test_crash_point_kills_there_and_restart_recovers(point: str, tmp_path: Path) -> None:
    async def scenario() -> None:
        rig = await Rig.create(tmp_path, names=("pas",))
        downstream = rig.downstreams["pas"]
        client = Client(rig.port, reply_timeout=5.0)
        batch = messages_for(0, 4, every_refused=0)
        engine = rig.process(f"{point}:2")  # the second pass: MSG 2 in, or the 2nd delivery
        await engine.start()
        assert await engine.ready()
        sending = asyncio.ensure_future(client.send_all(batch))
        assert await engine.wait(10) == -signal.SIGKILL  # died at the point, by itself
        await asyncio.sleep(0.2)  # let the downstream read what reached it
        before = list(downstream.receipts)
        restarted = rig.process()
        await restarted.start()
        assert await restarted.ready()
        await asyncio.wait_for(sending, 10)
        await downstream.wait_for([cid for cid, _ in batch], timeout=10)
        assert await restarted.stop() == 0
        await rig.close()
        stored = await read_store(rig.database)
        check(stored, [client], rig.downstreams, kills=1, context=point)
        second = batch[1][0]
        if point in ("after_frame_read", "before_commit"):  # F1: no reply; resent, stored once
            assert client.attempts[second] >= 2
            assert await duplicates_audited(rig.database, second) == 0  # nothing was committed
        if point == "after_commit_before_ack":  # F2: the resend met dedupe and got AA again
            assert client.attempts[second] >= 2
            assert await duplicates_audited(rig.database, second) == 1
        if point == "after_ack_write":  # F3: the AA reached the client before the kill
            assert client.attempts[second] == 1
        if point == "after_dequeue_before_send":  # F37: claimed, never sent: no extra copy
            assert downstream.duplicates() == 0
            assert [r.control_id for r in before] == [batch[0][0]]
        if point in ("after_send_before_ack_read", "after_downstream_ack_before_mark"):
            # F4/F5: the head was sent, the kill came before it was marked: sent once more
            assert [r.control_id for r in before][-1] == batch[1][0]
            assert downstream.duplicates() == 1

    run(scenario(), timeout=40)


def test_f37_restart_storm_on_a_claimed_head_adds_no_copies(tmp_path: Path) -> None:
    async def scenario() -> None:
        rig = await Rig.create(tmp_path, names=("pas",))
        downstream = rig.downstreams["pas"]
        client = Client(rig.port)
        batch = messages_for(0, 3, every_refused=0)
        first = asyncio.ensure_future(client.send_all(batch[:1]))
        for _ in range(5):  # every start claims the head and dies before sending it
            storm = rig.process("after_dequeue_before_send:1")
            await storm.start()
            assert await storm.wait(10) == -signal.SIGKILL
        final = rig.process()
        await final.start()
        assert await final.ready()
        await asyncio.wait_for(first, 10)
        await client.send_all(batch[1:])
        await downstream.wait_for([cid for cid, _ in batch], timeout=10)
        assert await final.stop() == 0
        await rig.close()
        assert [r.control_id for r in downstream.receipts] == [cid for cid, _ in batch]
        stored = await read_store(rig.database)
        check(stored, [client], rig.downstreams, kills=0, context="restart storm")
        store = SQLiteStore(rig.database)
        await store.open()
        [head] = await store.search(MessageQuery(control_id=batch[0][0]))
        message = await store.message(head.message_id)
        await store.close()
        assert message is not None
        [(_entry, _name, state, attempts)] = message.entries  # one entry, one delivery
        assert state is EntryState.DELIVERED and attempts >= 5

    run(scenario(), timeout=40)


def test_crash_points_are_test_only() -> None:
    assert crashpoints.from_environment({}) is None
    with pytest.raises(crashpoints.CrashpointError, match="EPRLINK_TEST_HOOKS"):
        crashpoints.from_environment({"EPRLINK_CRASHPOINT": "before_commit"})
    with pytest.raises(crashpoints.CrashpointError, match="unknown crash point"):
        crashpoints.parse("before_lunch")
    with pytest.raises(crashpoints.CrashpointError, match="at least 1"):
        crashpoints.parse("before_commit:0")
    assert crashpoints.parse("after_ack_write:7") == ("after_ack_write", 7)
    assert not crashpoints.armed()
    crashpoints.hit("before_commit")  # unarmed: passes


def test_release_runner_refuses_to_start_with_a_crash_point(tmp_path: Path) -> None:
    async def scenario() -> None:
        rig = await Rig.create(tmp_path, names=("pas",))
        engine = rig.process()
        engine.environ["EPRLINK_CRASHPOINT"] = "before_commit"  # without EPRLINK_TEST_HOOKS
        await engine.start()
        assert await engine.wait(15) != 0
        assert not (rig.directory / "data" / "eprlink.db").exists()
        await rig.close()

    run(scenario(), timeout=20)
    assert "EPRLINK_TEST_HOOKS" in (tmp_path / "engine.log").read_text()


# -- disk full (F8, P10) ----------------------------------------------------------------------


def big(control_id: str) -> bytes:
    return adt(control_id).replace(b"PV1|1|I|WARD1^BED1", b"PV1|1|I|WARD1^BED1|" + b"X" * 4000)


@pytest.mark.parametrize("reply", ["close", "ar207"])
def test_f8_disk_full_refuses_intake_drains_queues_and_recovers(reply: str, tmp_path: Path) -> None:
    async def scenario() -> None:
        held = asyncio.Event()

        async def respond(control_id: str, count: int) -> bytes | None:
            await held.wait()  # downstream slow: the queue backs up while the disk fills
            return ack(control_id)

        downstream = await Downstream(respond).start()
        store = SQLiteStore(tmp_path / "eprlink.db", reserve_pages=24)
        extra = f'failure_reply = "{reply}"'
        cfg = config(
            listener(extra=extra)
            + mllp_destination("pas", downstream.port).replace("300ms", "10s"),
            tmp_path,
        )
        async with Engine(cfg, store=store) as engine:
            pages = await store.set_max_pages(1)  # never below the current size
            await store.set_max_pages(pages + 48)
            port = port_of(engine)
            accepted = 0
            refused: bytes | None = b""
            while accepted < 60:
                [refused] = await exchange(port, [big(f"D{accepted}")])
                if refused is None or field_of(refused, "MSA", 1) != "AA":
                    break
                accepted += 1
            assert 0 < accepted < 60  # P2: no AA once full
            if reply == "close":
                assert refused is None  # no reply, connection closed (the default)
            else:
                assert refused is not None
                assert field_of(refused, "MSA", 3) == "temporarily unavailable"
                assert b"207" in refused
            snapshot = engine.metrics.snapshot()
            assert snapshot.value("alerts_total", alert="store_unavailable") >= 1
            held.set()  # the queue drains while intake is still refused
            await downstream.wait_for([f"D{i}" for i in range(accepted)], timeout=10)
            [again] = await exchange(port, [big("STILL")])
            assert again is None or field_of(again, "MSA", 1) != "AA"
            await store.set_max_pages(pages + 100_000)  # space returns: no restart
            [after] = await exchange(port, [big("BACK")])
            assert after is not None and field_of(after, "MSA", 1) == "AA"
            await downstream.wait_for(["BACK"], timeout=10)
        assert [r.control_id for r in downstream.receipts] == [
            *(f"D{i}" for i in range(accepted)),
            "BACK",
        ]
        await downstream.close()

    run(scenario(), timeout=40)
    assert integrity(tmp_path / "eprlink.db") == "ok"


# -- downstream faults (P5, AK-4, AK-5, AK-6) -------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "policy", "outcome"),
    [
        ("AE", "", EntryState.HELD),  # default on_error = hold: the stream blocks, alert
        ("AR", "", EntryState.HELD),  # default on_reject = hold
        ("AE", 'on_error = "dead"', EntryState.DEAD),  # dead-letter and continue
        ("AR", 'on_reject = "dead"', EntryState.DEAD),
        ("garbage", "", EntryState.DELIVERED),  # no usable ACK = timeout: resent, then AA
        ("nothing", "", EntryState.DELIVERED),  # silence = timeout: resent, then AA
        ("nothing", 'max_attempts = 2\non_exhausted = "dead"', EntryState.DEAD),
    ],
)
def test_downstream_faults_follow_the_policy(
    fault: str, policy: str, outcome: EntryState, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async def respond(control_id: str, count: int) -> bytes | None:
            if control_id != "BAD":
                return ack(control_id)
            if fault in ("AE", "AR"):
                return ack(control_id, fault)
            if fault == "garbage":
                return b"OK\r" if count == 1 else ack(control_id)  # framed, not HL7
            return None if count == 1 or "max_attempts" in policy else ack(control_id)

        downstream = await Downstream(respond).start()
        store = SQLiteStore(tmp_path / "eprlink.db")
        cfg = config(listener() + mllp_destination("pas", downstream.port, extra=policy), tmp_path)
        async with Engine(cfg, store=store) as engine:
            port = port_of(engine)
            await exchange(port, [adt("GOOD1"), adt("BAD"), adt("GOOD2")])

            async def settled() -> bool:
                found = {}
                for summary in await store.search(MessageQuery(limit=10)):
                    stored = await store.message(summary.message_id)
                    assert stored is not None
                    found[summary.control_id] = stored.entries[0][2]
                if outcome is EntryState.HELD:
                    return found.get("BAD") is EntryState.HELD
                return found.get("GOOD2") is EntryState.DELIVERED and found["BAD"] is outcome

            async with asyncio.timeout(10):
                while not await settled():
                    await asyncio.sleep(0.02)
            firsts = downstream.first_order()
            snapshot = engine.metrics.snapshot()
            if outcome is EntryState.HELD:
                assert firsts == ["GOOD1", "BAD"]  # GOOD2 waits behind the held head (P3, P5)
                assert snapshot.value("alerts_total", alert="destination_blocked") == 1
                await engine.api.release("pas", operator="ops", reason="fixed downstream")
            else:
                assert firsts == ["GOOD1", "BAD", "GOOD2"]
            if fault in ("garbage", "nothing"):
                assert snapshot.total("outbound_ack_timeouts_total") >= 1
                assert downstream.duplicates() >= 1  # resent after the timeout (AK-4)
        await downstream.close()

    run(scenario(), timeout=30)
