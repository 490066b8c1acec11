"""Traffic: the same seed gives the same messages, on the wire too; pacing by rate or by a
compressed day."""

from __future__ import annotations

import asyncio
from datetime import datetime, time

from eprlink.hl7 import Message
from eprlink.sim import (
    FaultConfig,
    ListenerKind,
    OnNak,
    Simulator,
    Traffic,
    TrafficConfig,
    stream,
)
from eprlink.sim.hospital import TrustSettings

from .conftest import Tie, outbound, run, sim_config, until

TRUST = TrustSettings(charset="UNICODE")


def _payloads(seed: int, **options: object) -> list[bytes]:
    config = TrafficConfig(beds=20, count=60, **options)  # type: ignore[arg-type]
    return [item.message.to_bytes() for item in stream(config, seed=seed, trust=TRUST)]


def test_the_same_seed_gives_the_same_messages() -> None:
    first = _payloads(3)
    assert len(first) == 60 and first == _payloads(3)
    assert first != _payloads(4)
    only_adt = list(stream(TrafficConfig(beds=20, count=20), seed=3, trust=TRUST, feeds={"adt"}))
    assert {item.feed.value for item in only_adt} == {"adt"}


def test_the_same_seed_sends_the_same_bytes() -> None:
    faults = FaultConfig(malformed=0.1, cp1252=0.1, lf_segments=0.1)

    async def once() -> tuple[list[bytes], list[bytes]]:
        config = sim_config(
            outbound(faults=faults, on_error=OnNak.SKIP, on_reject=OnNak.SKIP),
            outbound(ListenerKind.RESULTS),
            seed=9,
            traffic=TrafficConfig(beds=20, rate=400.0, count=40),
        )
        async with Simulator(config) as sim:
            adt = await Tie(sim.port("adt")).connect()
            results = await Tie(sim.port("results")).connect()
            assert sim.traffic is not None
            await until(lambda: sim.traffic is not None and sim.traffic.done.is_set())
            await until(lambda: sim.pending() == 0)
            await adt.close()
            await results.close()
            return adt.received, results.received

    first, second = run(once()), run(once())
    assert first == second
    assert len(first[0]) + len(first[1]) == 40


def test_rate_paces_messages() -> None:
    async def scenario() -> float:
        times: list[float] = []
        loop = asyncio.get_running_loop()
        traffic = Traffic(
            TrafficConfig(beds=20, rate=50.0, count=10),
            seed=1,
            trust=TRUST,
            feeds={"adt"},
            deliver=lambda feed, message: times.append(loop.time()),
        )
        await traffic.run()
        assert traffic.sent == 10 and sum(traffic.by_type.values()) == 10
        return times[-1] - times[0]

    assert 0.15 <= run(scenario()) < 1.0  # nine gaps of 20 ms


def test_a_day_can_be_compressed() -> None:
    day_in = 4.0
    factor = day_in / 86_400

    async def scenario() -> list[tuple[float, datetime]]:
        seen: list[tuple[float, datetime]] = []
        loop = asyncio.get_running_loop()
        start = loop.time()
        midnight = datetime.combine(TrafficConfig().start, time())

        def deliver(feed: str, message: Message) -> None:
            stamp = message.get("MSH-7") or ""
            seen.append((loop.time() - start, datetime.strptime(stamp[:14], "%Y%m%d%H%M%S")))

        config = TrafficConfig(beds=20, day_in=day_in, rate=None, count=8)
        await Traffic(config, seed=2, trust=TRUST, feeds={"adt"}, deliver=deliver).run()
        return [(elapsed, at) for elapsed, at in seen if at >= midnight]

    seen = run(scenario())
    assert len(seen) >= 5
    first_elapsed, first_at = seen[0]
    for elapsed, at in seen[1:]:
        due = (at - first_at).total_seconds() * factor  # the clock starts at the first message
        assert abs((elapsed - first_elapsed) - due) < 0.15
