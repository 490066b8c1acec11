"""An MLLP destination in enhanced mode that answers CA, then the application ACK.

With ``await_application_ack = true`` a CA to a message whose MSH-16 is ``AL`` only says the
partner committed it: the delivery is judged by the AA/AE/AR that follows on the connection
(within ``ack_timeout``), and the CA is not counted as a stale ACK. Loopback only.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from eprlink.engine import ConfigError, Engine, dump_config
from eprlink.engine.config import MLLPDestination
from eprlink.store import EntryState
from eprlink.store.memory import MemoryStore

from .conftest import (
    Peer,
    ack_for,
    config,
    control_ids,
    exchange,
    listener,
    mllp_destination,
    port_of,
    run,
)
from .test_appack import enhanced
from .test_outbound import delivered, eventually, states

pytestmark = pytest.mark.network

AWAIT = "await_application_ack = true"


def _commit_then(code: str | None) -> Peer:
    """A partner answering CA at once and then, if ``code`` is given, its application ACK."""
    return Peer(
        lambda payload, count: (
            [ack_for(payload, "CA")] + ([ack_for(payload, code)] if code is not None else [])
        )
    )


def _stale(engine: Engine) -> float:
    return engine.metrics.snapshot().value("outbound_stale_acks_total", destination="pas")


def test_the_application_ack_after_the_ca_decides_delivery(tmp_path: Path) -> None:
    async def scenario() -> None:
        peer = await _commit_then("AA").start()
        cfg = config(listener() + mllp_destination("pas", peer.port, extra=AWAIT), tmp_path)
        async with Engine(cfg, store=MemoryStore()) as engine:
            await exchange(port_of(engine), [enhanced("MSG1"), enhanced("MSG2")])
            await delivered(engine, "pas", 2)
            assert _stale(engine) == 0  # the CAs were expected, not stale
        assert control_ids(peer.received) == ["MSG1", "MSG2"]  # each sent once
        await peer.close()

    run(scenario())


def test_an_ae_after_the_ca_goes_to_on_error(tmp_path: Path) -> None:
    async def scenario() -> None:
        peer = await _commit_then("AE").start()
        cfg = config(listener() + mllp_destination("pas", peer.port, extra=AWAIT), tmp_path)
        async with Engine(cfg, store=MemoryStore()) as engine:
            await exchange(port_of(engine), [enhanced("MSG1"), enhanced("MSG2")])

            async def held() -> bool:
                return (await states(engine, "pas")).get("MSG1") is EntryState.HELD

            await eventually(held)  # the default on_error holds the stream
            await asyncio.sleep(0.1)
        assert control_ids(peer.received) == ["MSG1"]  # nothing overtook it
        await peer.close()

    run(scenario())


def test_a_ca_alone_is_final_when_no_application_ack_is_asked_for(tmp_path: Path) -> None:
    async def scenario() -> None:
        peer = await _commit_then(None).start()
        cfg = config(listener() + mllp_destination("pas", peer.port, extra=AWAIT), tmp_path)
        async with Engine(cfg, store=MemoryStore()) as engine:
            await exchange(port_of(engine), [enhanced("MSG1", application="NE")])
            await delivered(engine, "pas", 1)
        assert control_ids(peer.received) == ["MSG1"]
        await peer.close()

    run(scenario())


def test_without_the_setting_a_ca_is_delivery_as_before(tmp_path: Path) -> None:
    async def scenario() -> None:
        peer = await _commit_then(None).start()
        cfg = config(listener() + mllp_destination("pas", peer.port), tmp_path)
        async with Engine(cfg, store=MemoryStore()) as engine:
            await exchange(port_of(engine), [enhanced("MSG1")])
            await delivered(engine, "pas", 1)
        await peer.close()

    run(scenario())


def test_a_missing_application_ack_is_a_timeout(tmp_path: Path) -> None:
    async def scenario() -> None:
        peer = await _commit_then(None).start()
        cfg = config(listener() + mllp_destination("pas", peer.port, extra=AWAIT), tmp_path)
        async with Engine(cfg, store=MemoryStore()) as engine:
            await exchange(port_of(engine), [enhanced("MSG1")])
            await peer.wait_for(2, timeout=5)  # ack_timeout (300 ms) passed: closed, resent
            assert (await states(engine, "pas"))["MSG1"] is not EntryState.DELIVERED
            timeouts = engine.metrics.snapshot().value(
                "outbound_ack_timeouts_total", destination="pas"
            )
        assert timeouts >= 1
        await peer.close()

    run(scenario())


def test_setting_is_read_dumped_and_refused_with_release_2(tmp_path: Path) -> None:
    loaded = config(listener() + mllp_destination("pas", 2575, extra=AWAIT), tmp_path)
    transport = loaded.destinations[0].transport
    assert isinstance(transport, MLLPDestination) and transport.await_application_ack
    assert "await_application_ack = true" in dump_config(loaded)
    with pytest.raises(ConfigError, match="await_application_ack"):
        config(
            listener() + mllp_destination("pas", 2575, extra=AWAIT + "\nmllp_release = 2"),
            tmp_path,
        )
