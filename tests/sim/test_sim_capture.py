"""Record and replay: every frame both ways with listener, direction and time; a capture or a
folder of .hl7 files replayed as an outbound feed gives the same messages in the same order."""

from __future__ import annotations

from pathlib import Path

from eprlink.hl7 import split_messages
from eprlink.sim import (
    FaultConfig,
    ListenerConfig,
    ListenerKind,
    Simulator,
    exchange,
    read_capture,
    replay_payloads,
)

from .conftest import Tie, adt, outbound, run, sim_config, until

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def test_the_capture_holds_every_frame_both_ways(tmp_path: Path) -> None:
    capture = tmp_path / "capture.jsonl"
    registrations = ListenerConfig(kind=ListenerKind.REGISTRATIONS, port=0, validate=False)

    async def scenario() -> None:
        async with Simulator(sim_config(outbound(), registrations, capture=capture)) as sim:
            sim.enqueue("adt", adt("A1"))
            sim.enqueue("adt", adt("A2"))
            tie = await Tie(sim.port("adt")).connect()
            await until(lambda: sim.pending() == 0)
            await exchange("127.0.0.1", sim.port("registrations"), adt("R1", trigger="A28"))
            await tie.close()

    run(scenario())
    records = list(read_capture(capture))
    frames = [(r.listener, r.direction) for r in records if r.event == "frame"]
    assert frames.count(("adt", "out")) == 2 and frames.count(("adt", "in")) == 2
    assert frames.count(("registrations", "in")) == 1
    assert frames.count(("registrations", "out")) == 1
    assert {r.event for r in records} == {"connect", "frame", "close"}
    times = [r.at for r in records]
    assert times == sorted(times) and all(t.tzinfo is not None for t in times)
    sent = [p for r in records if (r.listener, r.direction) == ("adt", "out") for p in r.payloads()]
    assert sent == [adt("A1"), adt("A2")]


def test_a_capture_replays_as_the_same_feed(tmp_path: Path) -> None:
    capture = tmp_path / "capture.jsonl"
    noisy = FaultConfig(duplicate=0.5, garbage=0.5, lf_trailer=0.5)
    originals = [adt(f"A{n}") for n in range(8)]

    async def record() -> None:
        config = sim_config(outbound(faults=noisy), capture=capture)
        async with Simulator(config) as sim:
            for payload in originals:
                sim.enqueue("adt", payload)
            tie = await Tie(sim.port("adt")).connect()
            await until(lambda: sim.pending() == 0)
            await tie.close()
            assert sim.links["adt"].injector.injected["duplicate"] > 0

    async def replay() -> list[bytes]:
        async with Simulator(sim_config(outbound(replay=capture))) as sim:
            tie = await Tie(sim.port("adt")).connect()
            await until(lambda: sim.pending() == 0)
            await tie.close()
            return tie.received

    run(record())
    assert replay_payloads(capture, listener="adt") == originals
    assert run(replay()) == originals


def test_a_folder_of_hl7_files_replays_in_name_order() -> None:
    expected = [
        payload
        for file in sorted(FIXTURES.glob("*.hl7"))
        for payload in split_messages(file.read_bytes())
    ]
    assert replay_payloads(FIXTURES) == expected

    async def scenario() -> list[bytes]:
        link = outbound(ListenerKind.RESULTS, replay=FIXTURES)
        async with Simulator(sim_config(link)) as sim:
            tie = await Tie(sim.port("results")).connect()
            await until(lambda: sim.pending() == 0)
            await tie.close()
            return tie.received

    assert run(scenario()) == expected
