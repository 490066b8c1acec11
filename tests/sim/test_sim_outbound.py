"""Outbound links: FIFO until AA/CA on MSA-2, one in flight, resend on timeout and reconnect,
AE/AR hold or skip, a queue that survives a restart, newer connections, TLS and mutual TLS."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from pathlib import Path

import pytest
import trustme

from eprlink.ack import Outcome, build_ack
from eprlink.hl7 import Message
from eprlink.mllp import Decoder, Frame, encode
from eprlink.sim import ListenerKind, OnNak, OnTimeout, Simulator, TLSConfig

from .conftest import Tie, adt, always, outbound, run, sim_config, until


def _feed(sim: Simulator, *ids: str) -> None:
    for cid in ids:
        assert sim.enqueue("adt", adt(cid))


def test_fifo_one_in_flight_and_removed_only_on_ack() -> None:
    async def scenario() -> None:
        async with Simulator(sim_config(outbound())) as sim:
            _feed(sim, "A1", "A2", "A3")
            tie = await Tie(sim.port("adt"), answer_delay=0.2).connect()
            await until(lambda: len(tie.received) == 1)
            await asyncio.sleep(0.1)
            assert tie.ids() == ["A1"]  # A2 waits for A1's ACK
            assert len(sim.links["adt"].queue) == 3
            await until(lambda: sim.pending() == 0)
            assert tie.ids() == ["A1", "A2", "A3"]
            finished = sim.links["adt"].queue.finished()
            assert [(f.control_id, f.outcome, f.code) for f in finished] == [
                ("A1", "acknowledged", "AA"),
                ("A2", "acknowledged", "AA"),
                ("A3", "acknowledged", "AA"),
            ]
            await tie.close()

    run(scenario())


class _StaleFirst(Tie):
    """Answers the first frame with an ACK naming another message (MSA-2 mismatch)."""

    async def _answer(self, payload: bytes, writer: asyncio.StreamWriter) -> None:
        if not self.received:
            self.received.append(payload)
            other = build_ack(None, Outcome.REJECT, sending_application="T", sending_facility="T")
            stale = other.to_er7().replace("MSA|AR|", "MSA|AA|OTHER").encode()
            writer.write(encode(stale))
            await writer.drain()
            return
        await super()._answer(payload, writer)


def test_stale_ack_is_ignored_and_the_head_resent_after_the_timeout() -> None:
    async def scenario() -> None:
        async with Simulator(sim_config(outbound(ack_timeout=0.3))) as sim:
            _feed(sim, "A1", "A2")
            tie = await _StaleFirst(sim.port("adt")).connect()
            await until(lambda: sim.pending() == 0)
            assert tie.ids() == ["A1", "A1", "A2"]
            stats = sim.links["adt"].stats
            assert (stats.stale, stats.timeouts, stats.acknowledged) == (1, 1, 2)
            await tie.close()

    run(scenario())


def test_silence_means_resend_on_the_same_connection() -> None:
    async def scenario() -> None:
        async with Simulator(sim_config(outbound(ack_timeout=0.2))) as sim:
            _feed(sim, "A1", "A2")
            first_silent = lambda m, seen: None if (m.control_id, seen) == ("A1", 1) else "AA"  # noqa: E731
            tie = await Tie(sim.port("adt"), first_silent).connect()
            await until(lambda: sim.pending() == 0)
            assert tie.ids() == ["A1", "A1", "A2"]
            assert sim.links["adt"].stats.connections == 1
            await tie.close()

    run(scenario())


@pytest.mark.parametrize("mode", [OnTimeout.RESEND, OnTimeout.RECONNECT])
def test_the_head_is_resent_first_when_the_peer_reconnects(mode: OnTimeout) -> None:
    async def scenario() -> None:
        async with Simulator(sim_config(outbound(ack_timeout=0.2, on_timeout=mode))) as sim:
            _feed(sim, "A1", "A2")
            silent = await Tie(sim.port("adt"), always("AA")).connect()
            silent.script = lambda m, seen: None
            await until(lambda: len(silent.received) >= 1)
            await silent.close()
            second = await Tie(sim.port("adt")).connect()
            await until(lambda: sim.pending() == 0)
            assert second.ids() == ["A1", "A2"]
            assert sim.links["adt"].stats.connections == 2
            await second.close()

    run(scenario())


def test_ae_holds_the_head_and_retries_it() -> None:
    async def scenario() -> None:
        async with Simulator(sim_config(outbound(on_error=OnNak.HOLD))) as sim:
            _feed(sim, "A1", "A2")
            first_ae = lambda m, seen: "AE" if (m.control_id, seen) == ("A1", 1) else "AA"  # noqa: E731
            tie = await Tie(sim.port("adt"), first_ae).connect()
            await until(lambda: sim.pending() == 0)
            assert tie.ids() == ["A1", "A1", "A2"]
            stats = sim.links["adt"].stats
            assert (stats.errors, stats.skipped, stats.acknowledged) == (1, 0, 2)
            assert sim.links["adt"].queue.finished()[0].attempts == 2
            await tie.close()

    run(scenario())


def test_a_poison_message_blocks_the_link_under_hold() -> None:
    async def scenario() -> None:
        async with Simulator(sim_config(outbound(on_reject=OnNak.HOLD))) as sim:
            _feed(sim, "BAD", "A2")
            tie = await Tie(sim.port("adt"), always("AR")).connect()
            await until(lambda: len(tie.received) >= 3)
            assert set(tie.ids()) == {"BAD"}  # nothing overtakes the held message
            assert sim.links["adt"].queue.head() is not None
            await tie.close()

    run(scenario())


def test_ar_skip_sets_the_message_aside_and_carries_on() -> None:
    async def scenario() -> None:
        async with Simulator(sim_config(outbound(on_reject=OnNak.SKIP))) as sim:
            _feed(sim, "BAD", "A2")

            def script(message: Message, seen: int) -> str:
                return "AR" if message.control_id == "BAD" else "AA"

            tie = await Tie(sim.port("adt"), script).connect()
            await until(lambda: sim.pending() == 0)
            assert tie.ids() == ["BAD", "A2"]
            finished = sim.links["adt"].queue.finished()
            assert [(f.control_id, f.outcome, f.code) for f in finished] == [
                ("BAD", "skipped", "AR"),
                ("A2", "acknowledged", "AA"),
            ]
            await tie.close()

    run(scenario())


def test_the_queue_survives_a_restart(tmp_path: Path) -> None:
    async def scenario() -> None:
        config = sim_config(outbound(), data_dir=tmp_path)
        async with Simulator(config) as sim:
            _feed(sim, "A1", "A2")
        assert (tmp_path / "adt-queue.sqlite").exists()
        async with Simulator(config) as again:
            tie = await Tie(again.port("adt")).connect()
            await until(lambda: again.pending() == 0)
            assert tie.ids() == ["A1", "A2"]
            await tie.close()

    run(scenario())


def test_a_newer_connection_takes_over() -> None:
    async def scenario() -> None:
        async with Simulator(sim_config(outbound(ack_timeout=5.0))) as sim:
            _feed(sim, "A1")
            old = await Tie(sim.port("adt"), lambda m, seen: None).connect()
            await until(lambda: len(old.received) == 1)
            new = await Tie(sim.port("adt")).connect()
            await until(lambda: sim.pending() == 0)
            assert new.ids() == ["A1"]
            assert old._task is not None
            await asyncio.wait_for(old._task, 2)  # the old connection was closed
            await new.close()

    run(scenario())


async def _receive_one(port: int, context: ssl.SSLContext) -> bytes | None:
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", port, ssl=context, server_hostname="localhost"
    )
    decoder = Decoder()
    try:
        async with asyncio.timeout(3):
            while True:
                data = await reader.read(65536)
                if not data:
                    return None
                for event in decoder.feed(data):
                    if isinstance(event, Frame):
                        writer.write(encode(b"MSH|^~\\&|T|T|||1||ACK|X|P|2.4\rMSA|AA|A1\r"))
                        await writer.drain()
                        return event.payload
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError, ssl.SSLError):
            await writer.wait_closed()


def test_tls_and_mutual_tls(tmp_path: Path) -> None:
    ca = trustme.CA()
    server = ca.issue_cert("localhost", "127.0.0.1")
    client = ca.issue_cert("tie.example")
    cert, ca_file, client_file = tmp_path / "s.pem", tmp_path / "ca.pem", tmp_path / "c.pem"
    server.private_key_and_cert_chain_pem.write_to_path(str(cert))
    ca.cert_pem.write_to_path(str(ca_file))
    client.private_key_and_cert_chain_pem.write_to_path(str(client_file))
    tls = TLSConfig(cert=cert, client_ca=ca_file, require_client_cert=True)

    async def scenario() -> None:
        async with Simulator(sim_config(outbound(ListenerKind.ADT, tls=tls))) as sim:
            _feed(sim, "A1")
            anonymous = ssl.create_default_context(cafile=str(ca_file))
            with pytest.raises((ssl.SSLError, ConnectionError)):
                payload = await _receive_one(sim.port("adt"), anonymous)
                assert payload is None  # TLS 1.3 reports a refused certificate on first read
                raise ConnectionError("no frame without a client certificate")
            mutual = ssl.create_default_context(cafile=str(ca_file))
            mutual.load_cert_chain(str(client_file))
            assert await _receive_one(sim.port("adt"), mutual) == adt("A1")
            await until(lambda: sim.pending() == 0)

    run(scenario())
