"""Fault injection: seeded and repeatable, each bad input shaped as the policy describes."""

from __future__ import annotations

from collections import Counter

import pytest

from eprlink.ack import answer
from eprlink.hl7 import parse
from eprlink.mllp import Decoder, Frame
from eprlink.sim import MALFORMED, FaultConfig, FaultInjector, WirePlan, malform, to_cp1252

from .conftest import adt, run

EVERYTHING = FaultConfig(
    drop_before=0.1,
    drop_after=0.1,
    delay=0.2,
    delay_max=0.01,
    duplicate=0.2,
    garbage=0.3,
    lf_trailer=0.3,
    lf_segments=0.2,
    cp1252=0.1,
    cp1252_undeclared=0.1,
    malformed=0.2,
    error=0.2,
    reject=0.1,
)


def _draws(seed: int) -> tuple[list[WirePlan], list[tuple[bytes, str]], list[object]]:
    injector = FaultInjector(EVERYTHING, seed=seed, listener="adt")
    wire = [injector.wire() for _ in range(200)]
    payloads = [injector.payload(adt(f"C{n}")) for n in range(200)]
    answers = [injector.answer() for _ in range(200)]
    return wire, payloads, answers


def test_the_same_seed_gives_the_same_faults() -> None:
    assert _draws(5) == _draws(5)
    assert _draws(5) != _draws(6)
    wire, payloads, answers = _draws(5)
    kinds = Counter(name for plan in wire for name in plan.faults)
    assert set(kinds) == {
        "delay",
        "drop_before",
        "drop_after",
        "duplicate",
        "garbage",
        "lf_trailer",
    }
    assert not any(p.drop_before and p.drop_after for p in wire)
    names = Counter(name.split(":")[0] for _, name in payloads if name)
    assert set(names) == {"malformed", "cp1252", "cp1252_undeclared", "lf_segments"}
    assert {str(a) for a in answers if a} == {"error", "reject"}


def test_listeners_draw_independently() -> None:
    adt_faults = FaultInjector(EVERYTHING, seed=1, listener="adt")
    results = FaultInjector(EVERYTHING, seed=1, listener="results")
    assert [adt_faults.wire() for _ in range(50)] != [results.wire() for _ in range(50)]


def test_the_limit_caps_injected_faults() -> None:
    injector = FaultInjector(FaultConfig(garbage=1.0, limit=3), seed=1, listener="adt")
    plans = [injector.wire() for _ in range(10)]
    assert sum(plan.garbage for plan in plans) == 3
    assert injector.injected == Counter(garbage=3)


def _reply(payload: bytes) -> tuple[str | None, str | None]:
    result = answer(payload, sending_application="T", sending_facility="T", encoding="utf-8")
    assert result.reply is not None
    return result.reply.get("MSA-1"), result.reply.get("MSA-2")


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_each_malformed_case_is_still_a_frame_with_its_control_id(case: str) -> None:
    payload = malform(adt("BAD1"), case)
    assert b"\x0b" not in payload and b"\x1c" not in payload  # still framable
    if case == "not_er7":
        assert payload.startswith(b"M\x00S\x00H\x00")
        assert _reply(payload) == ("AR", None)  # EN-6: nothing to name in MSA-2
    else:
        assert parse(payload).control_id == "BAD1"
        assert _reply(payload)[1] == "BAD1"


def test_windows_1252_payloads() -> None:
    declared = to_cp1252(adt("W1"), declared=True)
    undeclared = to_cp1252(adt("W2"), declared=False)
    assert declared is not None and undeclared is not None
    assert parse(declared).get("PID-5.1") == "O’TESTPATIENT"
    assert b"\x92" in declared and b"\xc9" in declared  # ’ and É in Windows-1252
    with pytest.raises(UnicodeDecodeError):
        undeclared.decode("utf-8")
    assert b"WINDOWS-1252" in declared.split(b"\r")[0]
    assert b"WINDOWS-1252" not in undeclared.split(b"\r")[0]
    assert to_cp1252(b"MSH|^~\\&|A|B|||1||MFN^M02|X|P|2.4\r", declared=True) is None


def test_wire_faults_on_the_wire() -> None:
    async def scenario() -> list[bytes]:
        import asyncio

        from eprlink.sim.wire import Connection

        received = bytearray()

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            connection = Connection(reader, writer, listener="adt")
            plan = WirePlan(garbage=True, lf_trailer=True, duplicate=True)
            await connection.send(b"MSH|^~\\&|A|B|||1||ADT^A01|X|P|2.4\r", plan)
            await connection.close()

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while data := await reader.read(65536):
            received.extend(data)
        writer.close()
        server.close()
        decoder = Decoder()
        events = [*decoder.feed(bytes(received)), *decoder.eof()]
        assert bytes(received).startswith(b"\x00\x00 \r\n\x0b")
        assert b"\x1c\n" in received and b"\x1c\r" not in received
        return [e.payload for e in events if isinstance(e, Frame)]

    assert len(run(scenario())) == 2  # duplicated, and a lenient receiver still frames both
