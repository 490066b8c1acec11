"""Enhanced mode's synchronous application ACK (HD-10, policy 2.1): CA once committed (P1), then
on the same connection AA/AE/AR from the relayed destination's settled answer, PHI-free (2.4).

Loopback only; every wait is bounded. Downstream answers come from a scriptable MLLP peer that
can answer AA, AE, AR, CE, nothing, or wait for a gate.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from eprlink.engine import ConfigError, Engine, dump_config, effective_config, load_config_text
from eprlink.engine.config import ApplicationAck, MLLPListenerSource
from eprlink.store import PENDING_STATES, EntryState
from eprlink.store.memory import MemoryStore

from .conftest import (
    NHS_NUMBER,
    Peer,
    Script,
    adt,
    config,
    field_of,
    frame,
    listener,
    mllp_destination,
    port_of,
    read_frame,
    run,
    until,
)
from .test_outbound import eventually, states

pytestmark = pytest.mark.network

RELAY = 'enhanced = true\napplication_ack = "relay"\napplication_ack_destination = "pas"'
DOWNSTREAM_TEXT = "Unknown patient TESTPATIENT ALPHA"


def enhanced(control_id: str, *, accept: str = "AL", application: str = "AL") -> bytes:
    """Synthetic ADT in enhanced mode: MSH-15 and MSH-16 after the version."""
    tail = f"|P|2.4|||{accept}|{application}\r".encode()
    return adt(control_id).replace(b"|P|2.4\r", tail, 1)


def answer(code: str, err: str = "") -> bytes:
    """A downstream ACK quoting the patient in MSA-3 and ERR, as careless systems do."""
    return (
        "MSH|^~\\&|PAS|RXX01|EPRLINK|RXX01|20240101120001||ACK^A01^ACK|R1|P|2.4\r"
        f"MSA|{code}|{{cid}}|{DOWNSTREAM_TEXT}\r" + (f"ERR|{err}\r" if err else "")
    )


def scripted(*answers: str | None) -> Script:
    """Answer the n-th receipt of a payload with ``answers[n-1]`` (the last one repeats);
    None sends nothing, so the attempt times out."""

    def script(payload: bytes, count: int) -> list[bytes] | None:
        chosen = answers[min(count, len(answers)) - 1]
        if chosen is None:
            return None
        control_id = field_of(payload, "MSH", 9) or ""
        return [chosen.replace("{cid}", control_id).encode()]

    return script


def msa(reply: bytes | None) -> tuple[str | None, str | None, str | None]:
    assert reply is not None
    return field_of(reply, "MSA", 1), field_of(reply, "MSA", 2), field_of(reply, "MSA", 3)


class Sender:
    """One partner connection: frames out, frames in, each read bounded."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, port: int) -> Sender:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def send(self, payload: bytes) -> None:
        self.writer.write(frame(payload))
        await self.writer.drain()

    async def read(self, timeout: float = 5.0) -> bytes | None:
        return await asyncio.wait_for(read_frame(self.reader), timeout)

    async def nothing(self, within: float = 0.3) -> bool:
        """True when no frame arrives within ``within`` seconds."""
        try:
            await asyncio.wait_for(read_frame(self.reader), within)
        except TimeoutError:
            return True
        return False

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


def relay_config(
    tmp_path: Path, port: int, *, source: str = "", destination: str = "", timeout: str = "5s"
) -> str:
    return listener(
        extra=f'{RELAY}\napplication_ack_timeout = "{timeout}"\n{source}'
    ) + mllp_destination("pas", port, extra=destination)


def counted(engine: Engine, name: str, **labels: str) -> Callable[[], bool]:
    return lambda: engine.metrics.snapshot().value(name, channel="adt", **labels) >= 1


async def settled(engine: Engine, control_id: str, state: EntryState) -> None:
    async def check() -> bool:
        return (await states(engine, "pas")).get(control_id) is state

    await eventually(check)


def test_aa_is_relayed_after_the_ca_on_the_same_connection(tmp_path: Path) -> None:
    async def scenario() -> None:
        peer = await Peer().start()
        cfg = config(relay_config(tmp_path, peer.port), tmp_path)
        async with Engine(cfg, store=MemoryStore()) as engine:
            sender = await Sender.open(port_of(engine))
            await sender.send(enhanced("MSG1"))
            commit, application = await sender.read(), await sender.read()
            await sender.send(enhanced("MSG1"))  # a duplicate: CA again, no second relay
            again = await sender.read()
            quiet = await sender.nothing()
            await sender.close()
            snapshot = engine.metrics.snapshot()
        assert msa(commit) == ("CA", "MSG1", "")
        assert msa(application) == ("AA", "MSG1", "")
        assert application is not None
        assert field_of(application, "MSH", 8) == "ACK^A01^ACK"
        assert (field_of(application, "MSH", 14), field_of(application, "MSH", 15)) == ("NE", "NE")
        assert msa(again)[:2] == ("CA", "MSG1") and quiet
        assert peer.received == [enhanced("MSG1")]  # the stored bytes, unchanged
        assert snapshot.value("application_acks_relayed_total", channel="adt", code="AA") == 1
        assert snapshot.total("application_acks_dropped_total") == 0
        await peer.close()

    run(scenario())


@pytest.mark.parametrize(
    ("downstream", "err", "expected"),
    [
        ("AE", "PID^1^3^103&Table value not found TESTPATIENT&HL70357",
         ("AE", "103", "table value not found")),
        ("CE", "PID^1^5^102&Bad name TESTPATIENT&HL70357", ("AE", "102", "data type error")),
        ("AR", "^^^200&Unsupported TESTPATIENT&HL70357",
         ("AR", "200", "unsupported message type")),
        ("CR", "^^^203&Version&HL70357~^^^202&Processing&HL70357",
         ("AR", "203", "unsupported version id")),
        ("AE", "^^^9001&Local TESTPATIENT&L", ("AE", "207", "application internal error")),
    ],
)  # fmt: skip
def test_downstream_error_is_relayed_with_its_0357_codes_only(
    downstream: str, err: str, expected: tuple[str, str, str], tmp_path: Path
) -> None:
    relayed, code, reason = expected

    async def scenario() -> None:
        peer = await Peer(scripted(answer(downstream, err))).start()
        policy = 'on_error = "dead"\non_reject = "dead"'
        cfg = config(relay_config(tmp_path, peer.port, destination=policy), tmp_path)
        async with Engine(cfg, store=MemoryStore()) as engine:
            sender = await Sender.open(port_of(engine))
            await sender.send(enhanced("MSG1"))
            commit, application = await sender.read(), await sender.read()
            await settled(engine, "MSG1", EntryState.DEAD)
            await sender.close()
            snapshot = engine.metrics.snapshot()
        assert msa(commit)[0] == "CA"
        assert msa(application) == (relayed, "MSG1", reason)
        assert application is not None
        assert (field_of(application, "ERR", 1) or "").startswith(f"^^^{code}&")
        text = application.decode()
        assert "TESTPATIENT" not in text and DOWNSTREAM_TEXT not in text
        assert NHS_NUMBER not in text
        assert snapshot.value("application_acks_relayed_total", channel="adt", code=relayed) == 1
        await peer.close()

    run(scenario())


def test_a_retried_error_does_not_resolve_the_relay(tmp_path: Path) -> None:
    async def scenario() -> None:
        peer = await Peer(scripted(answer("AE", "^^^206&Locked&HL70357"), answer("AA"))).start()
        cfg = config(relay_config(tmp_path, peer.port, destination='on_error = "retry"'), tmp_path)
        async with Engine(cfg, store=MemoryStore()) as engine:
            sender = await Sender.open(port_of(engine))
            await sender.send(enhanced("MSG1"))
            commit, application = await sender.read(), await sender.read()
            quiet = await sender.nothing()
            await sender.close()
        assert [msa(commit)[0], msa(application)[0]] == ["CA", "AA"] and quiet
        assert len(peer.received) == 2  # the AE was retried; only the final AA was relayed
        await peer.close()

    run(scenario())


def test_timeout_answers_ae_207_and_the_message_is_still_delivered(tmp_path: Path) -> None:
    async def scenario() -> None:
        peer = await Peer(scripted(None, None, None, answer("AA"))).start()
        cfg = config(relay_config(tmp_path, peer.port, timeout="300ms"), tmp_path)
        async with Engine(cfg, store=MemoryStore()) as engine:
            sender = await Sender.open(port_of(engine))
            await sender.send(enhanced("MSG1"))
            commit, application = await sender.read(), await sender.read()
            await settled(engine, "MSG1", EntryState.DELIVERED)
            quiet = await sender.nothing()  # the late delivery is not relayed as well
            await sender.close()
            snapshot = engine.metrics.snapshot()
        assert msa(commit)[0] == "CA"
        assert msa(application) == ("AE", "MSG1", "application internal error")
        assert application is not None
        assert (field_of(application, "ERR", 1) or "").startswith("^^^207&")
        assert quiet
        dropped = snapshot.value("application_acks_dropped_total", channel="adt", reason="timeout")
        assert dropped == 1
        assert snapshot.total("application_acks_relayed_total") == 0
        await peer.close()

    run(scenario())


def test_success_only_sender_gets_nothing_on_timeout(tmp_path: Path) -> None:
    async def scenario() -> None:
        peer = await Peer(scripted(None)).start()
        cfg = config(relay_config(tmp_path, peer.port, timeout="200ms"), tmp_path)
        async with Engine(cfg, store=MemoryStore()) as engine:
            sender = await Sender.open(port_of(engine))
            await sender.send(enhanced("MSG1", application="SU"))
            commit = await sender.read()
            await until(counted(engine, "application_acks_dropped_total", reason="timeout"))
            quiet = await sender.nothing()
            await sender.close()
        assert msa(commit)[0] == "CA" and quiet
        await peer.close()

    run(scenario())


def test_another_node_delivering_is_found_in_the_store_on_timeout(tmp_path: Path) -> None:
    """Only the delivering node hears the settlement; the receiving node reads it on timeout."""

    async def scenario() -> None:
        peer = await Peer().start()
        cfg = config(relay_config(tmp_path, peer.port, timeout="300ms"), tmp_path)
        async with Engine(cfg, store=MemoryStore()) as engine:
            engine.workers["pas"].on_settled = None  # as if another node held the stream
            sender = await Sender.open(port_of(engine))
            await sender.send(enhanced("MSG1"))
            commit, application = await sender.read(), await sender.read()
            await sender.close()
            snapshot = engine.metrics.snapshot()
        assert [msa(commit)[0], msa(application)[0]] == ["CA", "AA"]
        assert snapshot.value("application_acks_relayed_total", channel="adt", code="AA") == 1
        await peer.close()

    run(scenario())


def test_closed_connection_is_a_counted_drop_and_the_message_is_delivered(tmp_path: Path) -> None:
    async def scenario() -> None:
        gate = asyncio.Event()
        peer = await Peer(gate=gate).start()
        cfg = config(relay_config(tmp_path, peer.port), tmp_path)
        async with Engine(cfg, store=MemoryStore()) as engine:
            sender = await Sender.open(port_of(engine))
            await sender.send(enhanced("MSG1"))
            commit = await sender.read()
            await sender.close()
            await until(lambda: engine.sources["adt"].connections == 0)
            gate.set()
            await settled(engine, "MSG1", EntryState.DELIVERED)
            await until(counted(engine, "application_acks_dropped_total", reason="closed"))
            snapshot = engine.metrics.snapshot()
            relay = engine.relays["adt"]
            assert relay.pending == 0
        assert msa(commit)[0] == "CA"
        assert snapshot.total("application_acks_relayed_total") == 0
        assert snapshot.value("outbound_delivered_total", destination="pas") == 1
        await peer.close()

    run(scenario())


def test_shutdown_ends_open_waiters_as_closed_and_keeps_the_message(tmp_path: Path) -> None:
    async def scenario() -> None:
        gate = asyncio.Event()
        peer = await Peer(gate=gate).start()
        store = MemoryStore()
        engine = Engine(config(relay_config(tmp_path, peer.port), tmp_path), store=store)
        await engine.start()
        sender = await Sender.open(port_of(engine))
        await sender.send(enhanced("MSG1"))
        commit = await sender.read()
        await peer.wait_for(1)
        await engine.stop(timeout=0.5)
        ended = await sender.read()  # the listener closed the connection without a frame
        await sender.close()
        snapshot = engine.metrics.snapshot()
        assert msa(commit)[0] == "CA" and ended is None
        dropped = snapshot.value("application_acks_dropped_total", channel="adt", reason="closed")
        assert dropped == 1 and engine.relays["adt"].pending == 0
        await store.open()  # what the next start finds: the message, still to deliver
        assert (await states(engine, "pas"))["MSG1"] in PENDING_STATES
        gate.set()
        await peer.close()

    run(scenario())


def test_waiting_blocks_neither_the_connection_nor_other_senders(tmp_path: Path) -> None:
    async def scenario() -> None:
        gate = asyncio.Event()
        peer = await Peer(gate=gate).start()
        cfg = config(relay_config(tmp_path, peer.port), tmp_path)
        async with Engine(cfg, store=MemoryStore()) as engine:
            first = await Sender.open(port_of(engine))
            second = await Sender.open(port_of(engine))
            await first.send(enhanced("MSG1"))
            first_commit = await first.read()
            await second.send(enhanced("MSG2"))
            second_commit = await second.read()  # while MSG1's relay is still waiting
            await first.send(enhanced("MSG3"))
            third_commit = await first.read()  # same connection, not held up either
            waiting = engine.relays["adt"].pending
            gauge = engine.metrics.snapshot().value("application_acks_pending", channel="adt")
            gate.set()
            first_apps = [await first.read(), await first.read()]
            second_app = await second.read()
            await first.close()
            await second.close()
        assert [msa(r)[:2] for r in (first_commit, second_commit, third_commit)] == [
            ("CA", "MSG1"),
            ("CA", "MSG2"),
            ("CA", "MSG3"),
        ]
        assert waiting == 3
        assert gauge == 3  # the metric shows the same waiters
        assert [msa(r)[:2] for r in first_apps] == [("AA", "MSG1"), ("AA", "MSG3")]
        assert msa(second_app)[:2] == ("AA", "MSG2")
        await peer.close()

    run(scenario())


@pytest.mark.parametrize(
    ("conditions", "downstream", "outcome"),
    [
        (("AL", "NE"), "AA", (None, None)),
        (("AL", ""), "AA", (None, None)),  # blank MSH-16: no application ACK unasked
        (("AL", "ER"), "AA", (None, "none")),
        (("AL", "ER"), "AE", ("AE", "AE")),
        (("AL", "SU"), "AA", ("AA", "AA")),
        (("AL", "SU"), "AE", (None, "none")),
        (("NE", "AL"), "AA", ("AA", "AA")),  # no CA wanted, the application ACK still is
    ],
)
def test_msh16_decides_whether_an_application_ack_is_sent(
    conditions: tuple[str, str],
    downstream: str,
    outcome: tuple[str | None, str | None],
    tmp_path: Path,
) -> None:
    """MSH-16 (table 0155) as MSH-15 is for the CA: the expected application ACK code (None:
    nothing written) and the relayed counter's code (None: no waiter at all)."""
    accept, application = conditions
    expected, metric = outcome

    async def scenario() -> None:
        peer = await Peer(scripted(answer(downstream, "^^^103&x&HL70357"))).start()
        policy = 'on_error = "dead"'
        cfg = config(relay_config(tmp_path, peer.port, destination=policy), tmp_path)
        async with Engine(cfg, store=MemoryStore()) as engine:
            sender = await Sender.open(port_of(engine))
            await sender.send(enhanced("MSG1", accept=accept, application=application))
            commit = await sender.read() if accept == "AL" else None
            final = EntryState.DELIVERED if downstream == "AA" else EntryState.DEAD
            await settled(engine, "MSG1", final)
            if metric is not None:
                await until(counted(engine, "application_acks_relayed_total", code=metric))
            reply = None if expected is None else await sender.read()
            quiet = await sender.nothing()
            pending = engine.relays["adt"].pending
            await sender.close()
        if accept == "AL":
            assert msa(commit)[0] == "CA"
        if expected is not None:
            assert msa(reply)[:2] == (expected, "MSG1")
        assert quiet and pending == 0
        await peer.close()

    run(scenario())


def test_messages_not_routed_to_the_relayed_destination_get_no_application_ack(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        peer, other = await Peer().start(), await Peer().start()
        routes = '\n[[channels.routes]]\ntypes = ["ADT"]\ndestinations = ["other"]\n'
        text = relay_config(tmp_path, peer.port) + mllp_destination("other", other.port) + routes
        async with Engine(config(text, tmp_path), store=MemoryStore()) as engine:
            sender = await Sender.open(port_of(engine))
            await sender.send(enhanced("MSG1"))
            commit = await sender.read()
            await other.wait_for(1)
            quiet = await sender.nothing()
            pending = engine.relays["adt"].pending
            await sender.close()
        assert msa(commit)[0] == "CA" and quiet and pending == 0
        assert peer.received == []
        await peer.close()
        await other.close()

    run(scenario())


CHANNEL = """
[[channels]]
name = "alerts"

[channels.source]
kind = "mllp_listener"
port = 2575
encoding = "utf-8"
enhanced = true
mllp_release = 1
application_ack = "relay"
application_ack_destination = "pas"

[[channels.destinations]]
name = "pas"
kind = "mllp"
host = "pas.example"
port = 6661

[[channels.destinations]]
name = "archive"
kind = "file"
directory = "archive"
"""


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ("enhanced = true", "enhanced = false"),
            "eprlink.toml:11: channels[0].source.application_ack: expected enhanced = true",
        ),
        (
            ("mllp_release = 1", "mllp_release = 2"),
            "eprlink.toml:11: channels[0].source.application_ack: expected mllp_release = 1",
        ),
        (
            ('application_ack_destination = "pas"\n', ""),
            "channels[0].source.application_ack_destination: expected the name of an MLLP "
            'destination of this channel (required with "relay"), found nothing',
        ),
        (
            ('destination = "pas"', 'destination = "nowhere"'),
            "eprlink.toml:12: channels[0].source.application_ack_destination: expected the name "
            'of a destination defined in this channel, found "nowhere"',
        ),
        (
            ('destination = "pas"', 'destination = "archive"'),
            "eprlink.toml:12: channels[0].source.application_ack_destination: expected a "
            'destination of kind = "mllp"',
        ),
        (
            ('"relay"', '"always"'),
            'eprlink.toml:11: channels[0].source.application_ack: expected one of "off", '
            '"relay", found "always"',
        ),
        (
            ("mllp_release = 1", 'application_ack_timeout = "soon"'),
            "eprlink.toml:10: channels[0].source.application_ack_timeout: expected a duration",
        ),
        (
            ('kind = "mllp_listener"\nport = 2575', 'kind = "mllp_receiver"\nhost = "h"\nport = 1'),
            "channels[0].source.application_ack: expected one of the keys kind, host, port",
        ),
    ],
)
def test_relay_configuration_errors_name_file_and_line(
    change: tuple[str, str], expected: str, tmp_path: Path
) -> None:
    text = CHANNEL.replace(*change)
    assert text != CHANNEL
    with pytest.raises(ConfigError) as caught:
        load_config_text(text, name="eprlink.toml", base_dir=tmp_path)
    assert expected in str(caught.value), str(caught.value)


def test_relay_configuration_is_read_and_dumped(tmp_path: Path) -> None:
    loaded = load_config_text(CHANNEL, base_dir=tmp_path)
    source = loaded.channels[0].source
    assert isinstance(source, MLLPListenerSource)
    assert source.reply.application_ack is ApplicationAck.RELAY
    assert source.reply.application_ack_destination == "pas"
    assert source.reply.application_ack_timeout == 30.0
    shown = effective_config(loaded)["channels"][0]["source"]
    assert shown["application_ack"] == "relay"
    assert shown["application_ack_destination"] == "pas"
    assert shown["application_ack_timeout"] == "30s"
    again = load_config_text(dump_config(loaded), base_dir=tmp_path)
    assert effective_config(again) == effective_config(loaded)
    plain = load_config_text(CHANNEL.replace('"relay"', '"off"'), base_dir=tmp_path)
    off = effective_config(plain)["channels"][0]["source"]
    assert off["application_ack"] == "off"
    assert effective_config(load_config_text(dump_config(plain), base_dir=tmp_path)) == (
        effective_config(plain)
    )
