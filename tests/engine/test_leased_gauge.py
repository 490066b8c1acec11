"""The ``destination_leased`` gauge: 1 on the node that delivers a destination, 0 elsewhere.

With leases (PostgreSQL, several nodes) that is the lease holder; the last test runs two engines
on one schema and moves the stream from one to the other. Without leases the single node's
running worker delivers, so its gauge is 1 while it runs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from eprlink.engine import Engine
from eprlink.store.memory import MemoryStore
from eprlink.store.postgres import PostgresStore
from tests.store.pg import PgSchema, fresh_schema

from .conftest import config, listener, run, until

ARCHIVE = """
[[channels.destinations]]
name = "archive"
kind = "file"
directory = "{directory}"
"""


def _config_text(tmp_path: Path) -> str:
    return listener() + ARCHIVE.format(directory=tmp_path / "out")


def _leased(engine: Engine) -> float:
    return engine.metrics.snapshot().value("destination_leased", destination="archive")


def test_without_leases_the_running_node_delivers(tmp_path: Path) -> None:
    async def scenario() -> None:
        engine = Engine(config(_config_text(tmp_path), tmp_path))
        async with engine:
            assert _leased(engine) == 1
        assert _leased(engine) == 0

    run(scenario())


class LeasingMemoryStore(MemoryStore):
    """A memory store that grants or refuses the stream lease on demand."""

    def __init__(self) -> None:
        super().__init__()
        self.grant = False
        self.tokens = 0

    async def acquire_lease(self, stream: str, owner: str, ttl: float) -> int | None:
        if not self.grant:
            return None
        self.tokens += 1
        return self.tokens

    async def renew_lease(self, stream: str, owner: str, token: int, ttl: float) -> bool:
        return self.grant

    async def release_lease(self, stream: str, owner: str, token: int) -> bool:
        return True


def test_gauge_follows_the_lease(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = LeasingMemoryStore()
        async with Engine(
            config(_config_text(tmp_path), tmp_path), store=store, lease_ttl=0.4
        ) as engine:
            await until(lambda: engine.workers["archive"].lease is not None)
            assert _leased(engine) == 0  # another node has the stream
            store.grant = True
            await until(lambda: _leased(engine) == 1)
            store.grant = False  # the next renewal is refused: the stream moved
            await until(lambda: _leased(engine) == 0)

    run(scenario())


@pytest.fixture
def pg() -> Iterator[PgSchema]:
    with fresh_schema() as schema:
        yield schema


def test_two_nodes_on_postgres_exactly_one_is_leased(pg: PgSchema, tmp_path: Path) -> None:
    async def scenario() -> None:
        cfg = config(_config_text(tmp_path), tmp_path)
        first = Engine(cfg, store=PostgresStore(pg.dsn, schema=pg.schema), lease_ttl=1.0)
        second = Engine(cfg, store=PostgresStore(pg.dsn, schema=pg.schema), lease_ttl=1.0)
        await first.start()
        try:
            await until(lambda: _leased(first) == 1)
            await second.start()
            try:
                await asyncio.sleep(0.3)  # a few of the second node's attempts to take it
                assert _leased(second) == 0
                assert _leased(first) == 1
                await first.stop()
                assert _leased(first) == 0
                await until(lambda: _leased(second) == 1)  # released on stop: taken at once
            finally:
                await second.stop()
        finally:
            await first.stop()

    run(scenario(), timeout=20.0)
