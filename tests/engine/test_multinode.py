"""Multi-node on PostgreSQL (issue item 6; policy F25): two engine processes share one database
and one destination. Exactly one holds the stream; killing it moves the stream to the other
within the lease ttl (order kept, one duplicate at most); a paused former holder can neither
record a stale delivery (fencing) nor start a send after its lease's local deadline.

The engines are subprocesses (``supervisor.py run … --schema … --lease-ttl 2``) so that they can
be SIGKILLed and SIGSTOPped like real nodes. Skipped without a PostgreSQL server, except in CI
(``CI=true``), where an unreachable server fails (``tests/store/pg.py``). The last tests check
:class:`~eprlink.engine.leases.StreamLease` on its own against a fake store (no database).
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from psycopg import sql

from eprlink.engine.leases import StreamLease
from eprlink.store import EntryState, MessageQuery
from eprlink.store.postgres import PostgresStore
from tests.store.pg import PgSchema, admin, empty_schema, fresh_schema

from .conftest import run
from .supervisor import Client, Downstream, EngineProcess, ack, adt, free_port, runner_command

TTL = 2.0  # seconds; the engine's default is 10
DESTINATION = "pas"


@pytest.fixture(scope="module")
def pg_module() -> Iterator[PgSchema]:
    with fresh_schema() as schema:
        yield schema


@pytest.fixture
def pg(pg_module: PgSchema) -> PgSchema:
    empty_schema(pg_module)
    return pg_module


def node_config(
    directory: Path, pg: PgSchema, *, node: str, port: int, downstream: int, transform: str = ""
) -> Path:
    line = f'transform = "{transform}"' if transform else ""
    text = f"""
[engine]
name = "EPRLINK"
facility = "RXX01"
data_dir = "{directory}"
node = "{node}"
poll_interval = "500ms"
stats_interval = "1s"
shutdown_timeout = "5s"

[store]
kind = "postgres"
dsn = "{pg.dsn}"

[profiles]
layers = []

[metrics]
listen = "off"

[[channels]]
name = "adt"
validate = false
{line}

[channels.source]
kind = "mllp_listener"
port = {port}
encoding = "utf-8"

[[channels.destinations]]
name = "{DESTINATION}"
kind = "mllp"
host = "127.0.0.1"
port = {downstream}
ack_timeout = "30s"
connect_timeout = "1s"
backoff_initial = "20ms"
backoff_max = "200ms"
"""
    path = directory / f"{node}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def start_node(
    tmp_path: Path,
    pg: PgSchema,
    downstream: Downstream,
    node: str,
    *,
    transform: str = "",
    environ: dict[str, str] | None = None,
) -> EngineProcess:
    port = free_port()
    path = node_config(
        tmp_path, pg, node=node, port=port, downstream=downstream.port, transform=transform
    )
    return EngineProcess(
        runner_command(path, schema=pg.schema, lease_ttl=TTL),
        port=port,
        log=tmp_path / f"{node}.log",
        environ=environ,
    )


async def start(*nodes: EngineProcess) -> None:
    for node in nodes:
        await node.start()
    for node in nodes:
        assert await node.ready(), f"{node.log.read_text()}"


def lease(pg: PgSchema) -> tuple[str, int] | None:
    """(owner, token) of the destination's lease while it is live, per the database clock."""
    with admin() as conn:
        row = conn.execute(
            sql.SQL(
                "SELECT owner, token FROM {} WHERE stream = %s AND expires_at > clock_timestamp()"
            ).format(sql.Identifier(pg.schema, "leases")),
            (DESTINATION,),
        ).fetchone()
    return None if row is None else (str(row[0]), int(str(row[1])))


async def holder(pg: PgSchema, *nodes: tuple[str, EngineProcess]) -> EngineProcess:
    async with asyncio.timeout(TTL * 3):
        while True:
            found = lease(pg)
            for name, node in nodes:
                if found is not None and found[0].startswith(f"{name}:"):
                    return node
            await asyncio.sleep(0.05)


async def send(node: EngineProcess, *control_ids: str) -> None:
    """Send through ``node``'s listener on one connection; each must get AA."""
    client = Client(node.port)
    try:
        for control_id in control_ids:
            assert await client.send(control_id, adt(control_id)) == "AA"
    finally:
        client.close()


async def entry(pg: PgSchema, control_id: str) -> tuple[EntryState, int]:
    """State and attempts of the message's queue entry, read through a store of our own."""
    store = PostgresStore(pg.dsn, schema=pg.schema, application_name="multinode-check")
    await store.open()
    try:
        [summary] = await store.search(MessageQuery(control_id=control_id))
        message = await store.message(summary.message_id)
    finally:
        await store.close()
    assert message is not None
    [(_id, _name, state, attempts)] = message.entries
    return state, attempts


def test_one_holder_delivers_and_a_killed_holder_hands_over_within_ttl(
    pg: PgSchema, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async def respond(control_id: str, count: int) -> bytes | None:
            return None if control_id == "HOLD" and count == 1 else ack(control_id)

        downstream = await Downstream(respond).start()
        a = start_node(tmp_path, pg, downstream, "node-a")
        b = start_node(tmp_path, pg, downstream, "node-b")
        try:
            await start(a, b)
            first = [f"M{i}" for i in range(1, 7)]
            for index, control_id in enumerate(first):  # intake on both nodes, in turn
                await send((a, b)[index % 2], control_id)
            await downstream.wait_for(first, timeout=10)
            assert downstream.connections == 1  # exactly one node delivers the stream
            owner = await holder(pg, ("node-a", a), ("node-b", b))
            other = b if owner is a else a
            before = lease(pg)
            assert before is not None

            await send(other, "HOLD")
            await downstream.wait_for(["HOLD"], timeout=10)  # in flight at the holder
            loop = asyncio.get_running_loop()
            killed_at = loop.time()
            await owner.kill()  # no release: the lease must lapse
            await send(other, "N1", "N2", "N3")
            await downstream.wait_for(["N1", "N2", "N3"], timeout=TTL * 4)

            taken = next(r for r in downstream.receipts if r.connection == 2)
            assert taken.control_id == "HOLD"  # the head in flight is taken over first
            assert taken.at - killed_at < TTL * 1.25 + 1.0  # ttl, plus one retry interval
            assert downstream.first_order() == [*first, "HOLD", "N1", "N2", "N3"]
            assert downstream.duplicates() == 1  # HOLD, the one P4 allows per crash
            assert downstream.most_open == 1  # never two senders at once
            after = lease(pg)
            assert after is not None and after[1] > before[1]
            assert after[0].startswith("node-a:" if other is a else "node-b:")
            assert await entry(pg, "HOLD") == (EntryState.DELIVERED, 2)
            assert await other.stop() == 0
        finally:
            for node in (a, b):
                if node.alive:
                    await node.kill()
            await downstream.close()

    run(scenario(), timeout=60)


def test_paused_holder_cannot_record_a_stale_delivery_or_send_again(
    pg: PgSchema, tmp_path: Path
) -> None:
    async def scenario() -> None:
        release = asyncio.Event()

        async def respond(control_id: str, count: int) -> bytes | None:
            if control_id == "P4" and count == 1:
                await release.wait()  # answered only once the holder is frozen
            return ack(control_id)

        downstream = await Downstream(respond).start()
        a = start_node(tmp_path, pg, downstream, "node-a")
        b = start_node(tmp_path, pg, downstream, "node-b")
        try:
            await start(a, b)
            await send(a, "M1", "M2", "M3")
            await downstream.wait_for(["M1", "M2", "M3"], timeout=10)
            owner = await holder(pg, ("node-a", a), ("node-b", b))
            other = b if owner is a else a

            await send(other, "P4")
            await downstream.wait_for(["P4"], timeout=10)
            owner.signal(signal.SIGSTOP)  # frozen mid-exchange, past its lease
            release.set()  # the AA for P4 waits in the frozen node's socket
            await send(other, "P5", "P6")
            await downstream.wait_for(["P5", "P6"], timeout=TTL * 4)
            owner.signal(signal.SIGCONT)
            await asyncio.sleep(TTL)  # it reads the AA, renews, tries to settle and to go on
            await send(owner, "P7")  # its intake still works; delivery is elsewhere
            await downstream.wait_for(["P7"], timeout=TTL * 2)
            await asyncio.sleep(TTL / 2)

            assert downstream.on(1) == ["M1", "M2", "M3", "P4"]  # nothing after the pause
            assert downstream.connections == 2
            assert downstream.first_order() == ["M1", "M2", "M3", "P4", "P5", "P6", "P7"]
            assert downstream.duplicates() == 1
            assert await entry(pg, "P4") == (EntryState.DELIVERED, 2)  # settled by the new holder
            holder_now = lease(pg)
            assert holder_now is not None
            assert holder_now[0].startswith("node-a:" if other is a else "node-b:")
            log = owner.log.read_text()
            assert "settle refused" in log or "outcome not recorded" in log
            assert await owner.stop() == 0
            assert await other.stop() == 0
        finally:
            for node in (a, b):
                if node.alive:
                    node.signal(signal.SIGCONT)
                    await node.kill()
            await downstream.close()

    run(scenario(), timeout=60)


def test_holder_paused_between_claim_and_send_does_not_send(pg: PgSchema, tmp_path: Path) -> None:
    async def scenario() -> None:
        downstream = await Downstream().start()
        a = start_node(
            tmp_path,
            pg,
            downstream,
            "node-a",
            transform="tests.engine.supervisor:pause_once",
            environ={"EPRLINK_TEST_PAUSE": f"SLOW:{TTL * 2}"},
        )
        b = start_node(tmp_path, pg, downstream, "node-b")
        try:
            await start(a)
            assert await holder(pg, ("node-a", a)) is a
            await start(b)
            await send(a, "S1")
            await downstream.wait_for(["S1"], timeout=10)
            # A claims SLOW and freezes for two ttl before it could send it
            await send(b, "SLOW", "S2", "S3")
            await downstream.wait_for(["SLOW", "S2", "S3"], timeout=TTL * 5)
            # A froze before B could take over, so it is awake (SLOW in hand, lease lapsed)
            # one pause after B delivered, plus time to act on it
            await asyncio.sleep(TTL * 2 + 1.0)

            assert downstream.on(1) == ["S1"]  # A sent nothing after its deadline
            assert downstream.first_order() == ["S1", "SLOW", "S2", "S3"]
            assert downstream.duplicates() == 0
            assert "not sent" in a.log.read_text()
            assert await entry(pg, "SLOW") == (EntryState.DELIVERED, 2)
            assert await a.stop() == 0
            assert await b.stop() == 0
        finally:
            for node in (a, b):
                if node.alive:
                    await node.kill()
            await downstream.close()

    run(scenario(), timeout=60)


def test_clean_stop_hands_the_stream_over_at_once(pg: PgSchema, tmp_path: Path) -> None:
    async def scenario() -> None:
        downstream = await Downstream().start()
        a = start_node(tmp_path, pg, downstream, "node-a")
        b = start_node(tmp_path, pg, downstream, "node-b")
        try:
            await start(a, b)
            await send(a, "C1")
            await downstream.wait_for(["C1"], timeout=10)
            owner = await holder(pg, ("node-a", a), ("node-b", b))
            other = b if owner is a else a
            assert await owner.stop() == 0  # SIGTERM: finish, release the lease (F33)
            loop = asyncio.get_running_loop()
            stopped_at = loop.time()
            await send(other, "C2")
            await downstream.wait_for(["C2"], timeout=TTL * 2)
            assert downstream.receipts[-1].at - stopped_at < TTL * 0.75  # no wait for expiry
            assert downstream.first_order() == ["C1", "C2"]
            assert downstream.duplicates() == 0
            assert await other.stop() == 0
        finally:
            for node in (a, b):
                if node.alive:
                    await node.kill()
            await downstream.close()

    run(scenario(), timeout=40)


# -- the lease on its own (no database) -------------------------------------------------------


class FakeLeases:
    """The store side of leases, by the rules of docs/store-postgres.md, on a fake clock."""

    def __init__(self, clock: list[float]) -> None:
        self.clock = clock
        self.rows: dict[str, tuple[str, int, float]] = {}  # stream -> owner, token, expiry
        self.delay = 0.0  # how long a call "takes" (the clock moves on during it)
        self.fail_renew = False

    def _now(self) -> float:
        self.clock[0] += self.delay
        return self.clock[0]

    async def acquire_lease(self, stream: str, owner: str, ttl: float) -> int | None:
        now = self._now()
        current = self.rows.get(stream)
        if current is not None and current[0] != owner and current[2] > now:
            return None
        if current is None:
            token = 1
        elif current[0] == owner and current[2] > now:
            token = current[1]
        else:
            token = current[1] + 1
        self.rows[stream] = (owner, token, now + ttl)
        return token

    async def renew_lease(self, stream: str, owner: str, token: int, ttl: float) -> bool:
        if self.fail_renew:
            raise ConnectionError("database gone")
        now = self._now()
        current = self.rows.get(stream)
        if current is None or current[:2] != (owner, token) or current[2] <= now:
            return False
        self.rows[stream] = (owner, token, now + ttl)
        return True

    async def release_lease(self, stream: str, owner: str, token: int) -> bool:
        now = self._now()
        current = self.rows.get(stream)
        if current is None or current[:2] != (owner, token) or current[2] <= now:
            return False
        self.rows[stream] = (owner, token, now)
        return True


class LoopLeases(FakeLeases):
    """The same rules on the event loop's clock, for tests that let the heartbeat run."""

    def _now(self) -> float:
        return asyncio.get_running_loop().time()


def test_lease_deadline_is_measured_from_before_the_request() -> None:
    async def scenario() -> None:
        clock = [100.0]
        store = FakeLeases(clock)
        store.delay = 0.5  # the database stamps the expiry half a second after we asked
        lease = StreamLease(store, "pas", owner="a", ttl=10.0, clock=lambda: clock[0])
        assert await lease.acquire()
        assert lease.token == 1
        assert store.rows["pas"][2] == 110.5
        assert lease.remaining == pytest.approx(100.0 + 10.0 - 1.0 - 100.5)  # ttl - margin
        clock[0] = 108.9
        assert lease.held
        clock[0] = 109.0  # never later than the database's expiry, whatever the delay
        assert not lease.held and not lease.lost
        await lease.release()

    run(scenario())


def test_lease_lost_by_renewal_reports_and_reacquires_under_a_new_name() -> None:
    async def scenario() -> None:
        store = LoopLeases([0.0])
        lost: list[str] = []
        lease = StreamLease(store, "pas", owner="node", ttl=0.3, on_lost=lambda: lost.append("x"))
        assert await lease.acquire()
        await asyncio.sleep(0.35)  # renewed by the heartbeat, still held
        assert lease.held
        store.fail_renew = True
        await asyncio.sleep(0.15)
        assert lease.lost and not lease.held and lost == ["x"]
        store.fail_renew = False
        assert await lease.acquire()  # released, then taken again under a new owner name
        assert lease.owner == "node/1"
        assert lease.token == 2  # a newer token: the old claim can be taken over
        await lease.release()
        assert store.rows["pas"][2] <= asyncio.get_running_loop().time()

    run(scenario())


def test_other_holder_blocks_until_expiry_or_release() -> None:
    async def scenario() -> None:
        clock = [0.0]
        store = FakeLeases(clock)
        a = StreamLease(store, "pas", owner="a", ttl=10.0, clock=lambda: clock[0])
        b = StreamLease(store, "pas", owner="b", ttl=10.0, clock=lambda: clock[0])
        assert await a.acquire()
        assert not await b.acquire()
        await a.release()  # clean stop: the stream moves at once
        assert await b.acquire() and b.token == 2
        clock[0] = 10.5  # b stopped renewing (crashed): a takes over after the expiry
        assert await a.acquire() and a.token == 3
        await a.release()
        await b.release()

    run(scenario())
