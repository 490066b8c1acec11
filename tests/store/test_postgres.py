"""PostgreSQL store: the shared contract, then multi-node, durability and fault tests (P1, F24,
F36, P3 across processes, leases and fencing, LISTEN/NOTIFY, group commit)."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Coroutine, Iterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import psycopg
import pytest
from psycopg import sql

from eprlink.store import (
    AckRecord,
    DurabilityError,
    EntryState,
    Failure,
    MessageQuery,
    Store,
    StoreError,
    StoreUnavailableError,
)
from eprlink.store.postgres import PostgresStore
from eprlink.store.postgres_sql import check_durability, migrations
from tests.store.contract import T0, WINDOW, StoreContract, inbound
from tests.store.pg import (
    PgSchema,
    admin,
    backends,
    drop_failure_trigger,
    empty_schema,
    fresh_schema,
    install_failure_trigger,
    terminate,
)

T = TypeVar("T")
AA = AckRecord("AA", "X", latency_seconds=0.01)


def run(coro: Coroutine[Any, Any, T], timeout: float = 10.0) -> T:
    """One scenario on a fresh loop, failing instead of hanging."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


@pytest.fixture(scope="module")
def pg_module() -> Iterator[PgSchema]:
    with fresh_schema() as schema:
        yield schema


@pytest.fixture
def pg(pg_module: PgSchema) -> PgSchema:
    """The module's schema, emptied: a fresh store for each test."""
    empty_schema(pg_module)
    return pg_module


@pytest.fixture
def pg_fresh() -> Iterator[PgSchema]:
    """A schema of its own, never migrated: for the start-up tests."""
    with fresh_schema() as schema:
        yield schema


@asynccontextmanager
async def opened(pg: PgSchema, **options: Any) -> AsyncIterator[PostgresStore]:
    store = PostgresStore(pg.dsn, schema=pg.schema, **options)
    await store.open()
    try:
        yield store
    finally:
        await store.close()


class TestPostgresContract(StoreContract):
    @pytest.fixture(autouse=True)
    def _schema(self, pg: PgSchema) -> Iterator[None]:
        self.pg = pg
        yield
        drop_failure_trigger(pg)  # the failure injected for one test must not outlive it

    async def make_store(self, tmp_path: Path) -> Store:
        store = PostgresStore(self.pg.dsn, schema=self.pg.schema)
        await store.open()
        return store

    async def inject_accept_failure(self, store: Store, control_id: str) -> bool:
        """A trigger that raises inside the accept transaction: no hook in the store itself."""
        install_failure_trigger(self.pg, control_id)
        return True


# -- start-up: durability (P1) and migrations ---------------------------------------------------


def test_durability_is_read_back_and_refused(pg: PgSchema) -> None:
    """P1. The settings are read per session, so a session-level synchronous_commit=off (what
    ALTER ROLE/DATABASE … SET would impose on every connection) is caught exactly as a server-
    wide one would be; the DSN's options are the non-invasive way to impose it in a test."""
    lax = PostgresStore(f"{pg.dsn} options='-c synchronous_commit=off'", schema=pg.schema)
    with pytest.raises(DurabilityError, match="synchronous_commit=off"):
        run(lax.open())
    run(lax.close())
    with pytest.raises(DurabilityError, match="fsync=off"):
        check_durability("on", "off")
    check_durability("remote_apply", "on")  # waits for the local flush too


def test_unreachable_server_is_unavailable_not_a_crash() -> None:
    store = PostgresStore(
        "host=127.0.0.1 port=1 dbname=test user=postgres", schema="x", connect_timeout=1
    )
    with pytest.raises(StoreUnavailableError):
        run(store.open())
    with pytest.raises(StoreError, match="not open"):
        run(store.claim("epr", owner="w"))


def test_migrations_race_free_and_versioned(pg_fresh: PgSchema) -> None:
    pg = pg_fresh

    async def scenario() -> None:
        stores = [PostgresStore(pg.dsn, schema=pg.schema) for _ in range(3)]
        await asyncio.gather(*(s.open() for s in stores))  # three nodes starting together
        for store in stores:
            await store.close()
        async with opened(pg):
            pass
        with admin() as conn:
            table = sql.Identifier(pg.schema, "schema_version")
            rows = conn.execute(sql.SQL("SELECT version FROM {}").format(table)).fetchall()
            assert rows == [(m.version,) for m in migrations()]  # each applied once
            conn.execute(sql.SQL("INSERT INTO {} (version, name) VALUES (99, 'x')").format(table))
        with pytest.raises(StoreError, match="newer than this eprlink"):
            await PostgresStore(pg.dsn, schema=pg.schema).open()

    run(scenario())


def test_schema_name_is_checked() -> None:
    with pytest.raises(StoreError, match="schema name"):
        PostgresStore("", schema='x"; DROP TABLE y; --')


# -- accept: F36 across sessions, group commit ---------------------------------------------------


def test_concurrent_resends_on_several_sessions_store_one(pg: PgSchema) -> None:
    async def scenario() -> None:  # F36 with four "nodes", each its own writer session
        async with (
            opened(pg) as a,
            opened(pg) as b,
            opened(pg) as c,
            opened(pg) as d,
        ):
            message = inbound("RACE-PG")
            calls = [s.accept([message], dedupe_window=WINDOW, now=T0) for s in (a, b, c, d) * 3]
            outcomes = [r[0] for r in await asyncio.gather(*calls)]
            stored = {o.message_id for o in outcomes if o.message_id is not None}
            assert len(stored) == 1
            assert all(o.duplicate_of in stored for o in outcomes if o.message_id is None)
            assert len(await a.search(MessageQuery(control_id="RACE-PG"))) == 1
            assert (await b.reconcile("adt", T0.date())).duplicates == 11

    run(scenario())


def test_group_commit_shares_transactions(pg: PgSchema) -> None:
    async def scenario() -> None:
        async with opened(pg) as store:
            messages = [inbound(f"G{i}") for i in range(40)]
            results = await asyncio.gather(
                *(store.accept([m], dedupe_window=WINDOW, now=T0) for m in messages)
            )
            assert all(r[0].message_id is not None for r in results)
            assert 1 <= store.accept_transactions <= 3  # 40 callers, a few commits
            ids = [r[0].message_id or 0 for r in results]
            assert ids == sorted(ids)  # callers are served in arrival order

    run(scenario())


def test_close_lets_waiting_accepts_commit(pg: PgSchema) -> None:
    async def scenario() -> None:
        store = PostgresStore(pg.dsn, schema=pg.schema)
        await store.open()
        pending = [
            asyncio.ensure_future(store.accept([inbound(f"Z{i}")], dedupe_window=WINDOW, now=T0))
            for i in range(5)
        ]
        await asyncio.sleep(0)  # all five are queued or committing
        await store.close()
        assert all(p.done() and p.result()[0].message_id is not None for p in pending)
        with pytest.raises(StoreError, match="not open"):
            await store.accept([inbound("Z9")], dedupe_window=WINDOW, now=T0)

    run(scenario())


# -- claim across nodes (P3) ---------------------------------------------------------------------


def test_two_nodes_never_both_have_the_destination_in_flight(pg: PgSchema) -> None:
    async def scenario() -> None:
        async with opened(pg) as one, opened(pg) as two:
            ids = [
                o.message_id
                for o in await one.accept(
                    [inbound(f"N{i}") for i in range(30)], dedupe_window=WINDOW, now=T0
                )
            ]
            in_flight = 0
            delivered: list[int] = []

            async def worker(store: PostgresStore, owner: str) -> None:
                nonlocal in_flight
                idle = 0
                while len(delivered) < len(ids) and idle < 200:
                    delivery = await store.claim("epr", owner=owner)
                    if delivery is None:
                        idle += 1
                        await asyncio.sleep(0)
                        continue
                    in_flight += 1
                    assert in_flight == 1, "two nodes hold the same destination"
                    delivered.append(delivery.message_id)
                    await asyncio.sleep(0.001)  # "sending"
                    in_flight -= 1
                    assert await store.settle(delivery, ack=AA)

            await asyncio.gather(worker(one, "node-1"), worker(two, "node-2"))
            assert delivered == ids  # each once, in acceptance order

    run(scenario())


def test_claim_skips_a_locked_head_instead_of_waiting(pg: PgSchema) -> None:
    async def scenario() -> None:
        async with opened(pg) as store:
            await store.accept([inbound("H1")], dedupe_window=WINDOW, now=T0)
            with psycopg.connect(pg.dsn) as other:  # another node, mid-claim
                other.execute(
                    sql.SQL(
                        "SELECT 1 FROM {} WHERE destination = 'epr' AND lock = 'head' FOR UPDATE"
                    ).format(sql.Identifier(pg.schema, "streams"))
                )
                started = time.monotonic()
                assert await store.claim("epr", owner="w") is None
                assert time.monotonic() - started < 1.0
            assert await store.claim("epr", owner="w") is not None

    run(scenario())


def test_database_allows_one_in_flight_entry_per_destination(pg: PgSchema) -> None:
    async def scenario() -> None:
        async with opened(pg) as store:
            await store.accept([inbound("U1"), inbound("U2")], dedupe_window=WINDOW, now=T0)
        with admin() as conn, pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute(
                sql.SQL("UPDATE {} SET state = 'in_flight'").format(
                    sql.Identifier(pg.schema, "entries")
                )
            )

    run(scenario())


# -- leases and fencing (multi-node) -------------------------------------------------------------


def test_lease_handover_fences_the_paused_holder(pg: PgSchema) -> None:
    async def scenario() -> None:
        async with opened(pg) as node_a, opened(pg) as node_b:
            [first] = await node_a.accept([inbound("L1")], dedupe_window=WINDOW, now=T0)
            token_a = await node_a.acquire_lease("epr", "node-a", 0.3)
            assert token_a == 1
            assert await node_b.acquire_lease("epr", "node-b", 0.3) is None
            assert await node_b.claim("epr", owner="node-b", fence=1) is None  # not the holder
            paused = await node_a.claim("epr", owner="node-a", fence=token_a)
            assert paused is not None
            await asyncio.sleep(0.4)  # node A pauses past its lease (database clock)
            token_b = await node_b.acquire_lease("epr", "node-b", 5.0)
            assert token_b == 2
            assert not await node_a.renew_lease("epr", "node-a", token_a, 0.3)
            assert not await node_a.settle(paused, ack=AA)  # stale fence
            assert await node_a.claim("epr", owner="node-a", fence=token_a) is None
            taken = await node_b.claim("epr", owner="node-b", fence=token_b)
            assert taken is not None  # B takes over A's in-flight head, same entry
            assert (taken.entry_id, taken.attempts) == (paused.entry_id, 2)
            assert await node_b.settle(taken, ack=AA)
            stored = await node_b.message(first.message_id or 0)
            assert stored is not None and stored.entries[0][2] is EntryState.DELIVERED

    run(scenario())


def test_lease_renew_release_and_database_clock(pg: PgSchema) -> None:
    async def scenario() -> None:
        async with opened(pg) as store:
            token = await store.acquire_lease("s", "a", 30.0)
            assert token == 1
            assert await store.acquire_lease("s", "a", 30.0) == 1  # still held: renewed
            assert await store.renew_lease("s", "a", token, 30.0)
            assert not await store.renew_lease("s", "b", token, 30.0)
            assert await store.release_lease("s", "a", token)
            assert await store.acquire_lease("s", "b", 30.0) == 2  # no wait after a release
            # expiry is judged only by the database clock: move it there, not here
            with admin() as conn:
                conn.execute(
                    sql.SQL("UPDATE {} SET expires_at = clock_timestamp() - interval '1 s'").format(
                        sql.Identifier(pg.schema, "leases")
                    )
                )
            assert await store.acquire_lease("s", "a", 30.0) == 3

    run(scenario())


# -- LISTEN/NOTIFY --------------------------------------------------------------------------------


def test_wait_for_work_wakes_on_another_nodes_accept(pg: PgSchema) -> None:
    async def scenario() -> None:
        async with opened(pg) as worker, opened(pg) as intake:
            for destination in ("epr", "lab"):
                assert await worker.wait_for_work(destination, 0.1)  # first wait: look once
            assert not await worker.wait_for_work("epr", 0.1)
            waiting = asyncio.ensure_future(worker.wait_for_work("epr", 5.0))
            other = asyncio.ensure_future(worker.wait_for_work("lab", 0.3))
            await asyncio.sleep(0.05)
            started = time.monotonic()
            await intake.accept([inbound("W1")], dedupe_window=WINDOW, now=T0)
            assert await waiting
            assert time.monotonic() - started < 1.0
            assert not await other
            await intake.accept([inbound("W2")], dedupe_window=WINDOW, now=T0)
            await asyncio.sleep(0.2)  # nobody waits: the wake-up is kept
            assert await worker.wait_for_work("epr", 0.0)
            held = await intake.claim("epr", owner="intake")
            assert held is not None
            assert await intake.settle(held, ack=AA, failure=Failure.HOLD)
            assert not await worker.wait_for_work("epr", 0.0)
            released = asyncio.ensure_future(worker.wait_for_work("epr", 5.0))
            await asyncio.sleep(0.05)
            assert await intake.release("epr", operator="op", reason="fixed") == 1
            assert await released  # a release on another node wakes this one too

    run(scenario())


# -- faults (F24) ---------------------------------------------------------------------------------


async def _blocked_on_lock(application_name: str) -> list[int]:
    for _ in range(100):
        blocked = [pid for pid, kind in backends(application_name) if kind == "Lock"]
        if blocked:
            return blocked
        await asyncio.sleep(0.02)
    raise AssertionError("the accept never reached the lock")


def test_connection_killed_mid_accept_then_recovery(pg: PgSchema) -> None:
    """F24. A session lost before COMMIT is replaced once, transparently (nothing was
    committed); lost again, the accept fails with StoreUnavailableError, no PHI in it, and the
    next call reconnects."""

    async def scenario() -> None:
        name = f"eprlink-test-{secrets.token_hex(4)}"
        async with opened(pg, application_name=name) as store:
            await store.accept([inbound("K0")], dedupe_window=WINDOW, now=T0)
            message = inbound("K1")
            with psycopg.connect(pg.dsn) as blocker:
                blocker.execute(
                    sql.SQL(
                        "SELECT 1 FROM {} WHERE destination = 'epr' AND lock = 'tail' FOR UPDATE"
                    ).format(sql.Identifier(pg.schema, "streams"))
                )
                pending = asyncio.ensure_future(
                    store.accept([message], dedupe_window=WINDOW, now=T0)
                )
                first = await _blocked_on_lock(name)
                terminate(first)
                second = await _blocked_on_lock(name)  # retried on a new session
                assert second != first
                terminate(second)
                with pytest.raises(StoreUnavailableError) as caught:
                    await pending
                text = str(caught.value)
                assert "K1" not in text and "9990000018" not in text and "MSH" not in text
            [again] = await store.accept([message], dedupe_window=WINDOW, now=T0)
            assert again.message_id is not None and again.duplicate_of is None  # nothing half-kept

    run(scenario())


def test_sessions_killed_while_idle(pg: PgSchema) -> None:
    """F24 after a server restart: every pooled session is dead. A write reports
    StoreUnavailableError (it cannot know whether its statement ran) and the next call
    reconnects; reads and accepts (lost before COMMIT) reconnect by themselves."""

    async def scenario() -> None:
        name = f"eprlink-test-{secrets.token_hex(4)}"
        async with opened(pg, application_name=name) as store:
            await store.accept([inbound("I0"), inbound("I1")], dedupe_window=WINDOW, now=T0)
            assert await store.claim("epr", owner="w") is not None
            assert await store.wait_for_work("epr", 0.1)  # LISTEN session up, first look
            listening = asyncio.ensure_future(store.wait_for_work("epr", 5.0))
            await asyncio.sleep(0.05)
            terminate([pid for pid, _ in backends(name)])
            assert await listening  # a lost LISTEN session wakes its waiters
            with pytest.raises(StoreUnavailableError):
                await store.claim("epr", owner="w")
            stats = await store.stats()
            assert stats[0].counts[EntryState.IN_FLIGHT] == 1
            terminate([pid for pid, _ in backends(name)])
            assert len(await store.search(MessageQuery())) == 2
            [outcome] = await store.accept([inbound("I2")], dedupe_window=WINDOW, now=T0)
            assert outcome.message_id is not None
            assert await store.wait_for_work("epr", 0.1)  # LISTEN again: look once
            assert not await store.wait_for_work("epr", 0.1)

    run(scenario())


def test_prune_deletes_in_batches(pg: PgSchema) -> None:
    async def scenario() -> None:
        async with opened(pg, prune_batch=2) as store:
            old = T0 - timedelta(days=40)
            batch = [inbound(f"P{i}", destinations=(), received_at=old) for i in range(5)]
            await store.accept(batch, dedupe_window=WINDOW, now=old)
            result = await store.prune(older_than=T0)
            assert (result.messages, result.entries) == (5, 0)
            assert result.bytes_reclaimed == sum(len(m.payload) for m in batch)
            assert await store.search(MessageQuery()) == []
            [event] = await store.events(limit=1)
            assert (event.action, event.details) == ("pruned", "messages=5 entries=0")

    run(scenario())
