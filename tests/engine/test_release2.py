"""MLLP Release 2 (policy 2.1: commit blocks are an opt-in per listener and per destination).

Listener: a committed frame is answered ``<VT>0x06<FS><CR>`` instead of an HL7 ACK (accepted or
stored as rejected alike), a frame the store refused ``0x15``. Destination: ``0x06`` is
delivered, ``0x15`` goes to ``on_error``, an HL7 ACK on an R2 link is no answer. Loopback only.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from eprlink.engine import ConfigError, Engine, dump_config
from eprlink.mllp import COMMIT_ACK, COMMIT_NAK
from eprlink.store import EntryState, MessageQuery, MessageStatus
from eprlink.store.memory import MemoryStore

from .conftest import (
    Peer,
    ack_for,
    adt,
    config,
    control_ids,
    exchange,
    listener,
    mllp_destination,
    port_of,
    run,
)
from .test_outbound import delivered, eventually, states

pytestmark = pytest.mark.network

R2 = "mllp_release = 2"


def test_r2_listener_answers_a_commit_block_after_the_commit(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = MemoryStore()
        cfg = config(listener(extra=R2), tmp_path)
        async with Engine(cfg, store=store) as engine:
            rejected = adt("MSG2", processing="T")  # AR 202 in release 1: stored as rejected
            replies = await exchange(port_of(engine), [adt("MSG1"), rejected, adt("MSG1")])
            snapshot = engine.metrics.snapshot()
            found = {s.control_id: s.status for s in await store.search(MessageQuery())}
        assert replies == [COMMIT_ACK, COMMIT_ACK, COMMIT_ACK]  # no HL7 ACK at all
        assert found == {"MSG1": MessageStatus.ACCEPTED, "MSG2": MessageStatus.REJECTED}
        assert snapshot.value("duplicates_received_total", channel="adt") == 1

    run(scenario())


def test_r2_listener_answers_a_nak_when_the_store_refuses(tmp_path: Path) -> None:
    store = MemoryStore(fail_accept=lambda m: True)

    async def scenario() -> list[bytes | None]:
        async with Engine(config(listener(extra=R2), tmp_path), store=store) as engine:
            return await exchange(port_of(engine), [adt("MSG1"), adt("MSG2")])

    assert run(scenario()) == [COMMIT_NAK, COMMIT_NAK]  # the connection stays open


def test_r2_listener_naks_an_oversize_frame(tmp_path: Path) -> None:
    async def scenario() -> list[bytes | None]:
        cfg = config(listener(extra=R2 + '\nmax_size = "200"'), tmp_path)
        async with Engine(cfg, store=MemoryStore()) as engine:
            return await exchange(port_of(engine), [adt("MSG1", extra="X" * 400)])

    assert run(scenario()) == [COMMIT_NAK]


def _commit_blocks(nak: set[str]) -> Peer:
    def script(payload: bytes, count: int) -> list[bytes]:
        control_id = payload.split(b"|")[9].decode()
        return [COMMIT_NAK if control_id in nak and count == 1 else COMMIT_ACK]

    return Peer(script)


def test_r2_destination_commit_ack_is_delivered_in_order(tmp_path: Path) -> None:
    async def scenario() -> None:
        peer = await _commit_blocks(set()).start()
        cfg = config(listener() + mllp_destination("pas", peer.port, extra=R2), tmp_path)
        store = MemoryStore()
        async with Engine(cfg, store=store) as engine:
            await exchange(port_of(engine), [adt(f"MSG{i}") for i in range(1, 6)])
            await delivered(engine, "pas", 5)
            [summary] = await store.search(MessageQuery(control_id="MSG3"))
            stored = await store.message(summary.message_id)
        assert control_ids(peer.received) == [f"MSG{i}" for i in range(1, 6)]
        assert stored is not None and [e[2] for e in stored.entries] == [EntryState.DELIVERED]
        await peer.close()

    run(scenario())


def test_r2_destination_nak_goes_to_on_error(tmp_path: Path) -> None:
    async def scenario() -> None:
        peer = await _commit_blocks({"MSG2"}).start()
        retry = R2 + '\non_error = "retry"'
        cfg = config(listener() + mllp_destination("pas", peer.port, extra=retry), tmp_path)
        async with Engine(cfg, store=MemoryStore()) as engine:
            await exchange(port_of(engine), [adt("MSG1"), adt("MSG2"), adt("MSG3")])
            await delivered(engine, "pas", 3)
            failures = engine.metrics.snapshot().value(
                "outbound_failures_total", destination="pas", result="error", decision="retry"
            )
        assert failures == 1
        assert control_ids(peer.received) == ["MSG1", "MSG2", "MSG2", "MSG3"]  # FIFO kept
        await peer.close()

    run(scenario())


def test_r2_destination_nak_holds_by_default(tmp_path: Path) -> None:
    async def scenario() -> None:
        peer = await _commit_blocks({"MSG1"}).start()
        cfg = config(listener() + mllp_destination("pas", peer.port, extra=R2), tmp_path)
        async with Engine(cfg, store=MemoryStore()) as engine:
            await exchange(port_of(engine), [adt("MSG1"), adt("MSG2")])

            async def held() -> bool:
                return (await states(engine, "pas")).get("MSG1") is EntryState.HELD

            await eventually(held)
            await asyncio.sleep(0.2)
        assert control_ids(peer.received) == ["MSG1"]  # nothing overtook the held head
        await peer.close()

    run(scenario())


def test_r2_destination_does_not_take_an_hl7_ack_as_a_commit(tmp_path: Path) -> None:
    async def scenario() -> None:
        peer = await Peer(lambda payload, count: [ack_for(payload)]).start()
        cfg = config(listener() + mllp_destination("pas", peer.port, extra=R2), tmp_path)
        async with Engine(cfg, store=MemoryStore()) as engine:
            await exchange(port_of(engine), [adt("MSG1")])
            await peer.wait_for(2, timeout=5)  # timed out (300 ms), closed, sent again
            snapshot = engine.metrics.snapshot()
            assert (await states(engine, "pas"))["MSG1"] is not EntryState.DELIVERED
        assert snapshot.value("outbound_ack_timeouts_total", destination="pas") >= 1
        await peer.close()

    run(scenario())


def test_r2_engine_to_engine_on_loopback(tmp_path: Path) -> None:
    """A release 2 destination delivering to a release 2 listener: commit blocks both ways."""

    async def scenario() -> None:
        far_store = MemoryStore()
        far = config(listener("far", extra=R2), tmp_path / "far")
        async with Engine(far, store=far_store) as receiving:
            near = config(
                listener() + mllp_destination("far", port_of(receiving, "far"), extra=R2),
                tmp_path / "near",
            )
            async with Engine(near, store=MemoryStore()) as sending:
                await exchange(port_of(sending), [adt("MSG1"), adt("MSG2")])
                await delivered(sending, "far", 2)
            found = [s.control_id for s in await far_store.search(MessageQuery())]
        assert sorted(found) == ["MSG1", "MSG2"]

    run(scenario())


@pytest.mark.parametrize("value", ["3", "0", '"2"'])
def test_mllp_release_must_be_1_or_2(value: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"mllp_release: expected an integer from 1 to 2"):
        config(listener(extra=f"mllp_release = {value}"), tmp_path)
    with pytest.raises(ConfigError, match=r"mllp_release: expected an integer from 1 to 2"):
        config(listener() + mllp_destination("pas", 1, extra=f"mllp_release = {value}"), tmp_path)


def test_mllp_release_appears_in_the_effective_configuration(tmp_path: Path) -> None:
    text = dump_config(config(listener(extra=R2) + mllp_destination("pas", 1, extra=R2), tmp_path))
    assert text.count("mllp_release = 2") == 2
