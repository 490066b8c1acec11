"""The in-memory reference store against the shared contract, plus its test seam."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from eprlink.store import InboundMessage, MessageQuery, Store, StoreUnavailableError
from eprlink.store.memory import MemoryStore
from tests.store.contract import T0, WINDOW, StoreContract, inbound


class TestMemoryStore(StoreContract):
    async def make_store(self, tmp_path: Path) -> Store:
        store = MemoryStore()
        await store.open()
        return store

    async def inject_accept_failure(self, store: Store, control_id: str) -> bool:
        assert isinstance(store, MemoryStore)
        store.fail_accept = lambda message: message.control_id == control_id
        return True


def test_fail_accept_simulates_an_unavailable_store() -> None:
    async def scenario() -> None:
        store = MemoryStore(fail_accept=lambda _: True)
        await store.open()
        with pytest.raises(StoreUnavailableError):
            await store.accept([inbound("M1")], dedupe_window=WINDOW, now=T0)
        store.fail_accept = None
        [outcome] = await store.accept([inbound("M1")], dedupe_window=WINDOW, now=T0)
        assert outcome.message_id == 1 and outcome.duplicate_of is None

    asyncio.run(scenario())


def test_naive_times_are_utc(t0: datetime, make_inbound: Callable[..., InboundMessage]) -> None:
    async def scenario() -> None:
        store = MemoryStore()
        await store.open()
        message = make_inbound("N1", received_at=t0.replace(tzinfo=None))
        [outcome] = await store.accept([message], dedupe_window=WINDOW, now=t0)
        [found] = await store.search(MessageQuery(received_from=t0))
        assert found.message_id == outcome.message_id and found.received_at == t0

    asyncio.run(scenario())
