"""P8 queue-depth limits: a full destination queue refuses intake as in P2, and intake resumes
by itself once the queue drains. The depth is an in-process estimate re-read from the store
with the queue statistics, never a count per message."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from eprlink.engine import ConfigError, Engine, dump_config, effective_config, load_config_text
from eprlink.engine.limits import QueueLimits
from eprlink.engine.metrics import Metrics
from eprlink.store import InboundMessage
from eprlink.store.memory import MemoryStore

from .conftest import (
    Peer,
    ack_for,
    adt,
    config,
    exchange,
    field_of,
    listener,
    mllp_destination,
    port_of,
    run,
    until,
)


def _msa(reply: bytes | None) -> tuple[str | None, str | None, str | None]:
    assert reply is not None
    return field_of(reply, "MSA", 1), field_of(reply, "MSA", 2), field_of(reply, "MSA", 3)


# -- configuration ----------------------------------------------------------------------------


def test_max_queue_depth_is_read_checked_and_dumped(tmp_path: Path) -> None:
    cfg = config(
        listener() + mllp_destination("pas", 6661, extra="max_queue_depth = 500"), tmp_path
    )
    assert cfg.destinations[0].policy.max_queue_depth == 500
    assert (
        config(listener() + mllp_destination("pas", 6661), tmp_path)
        .destinations[0]
        .policy.max_queue_depth
        is None
    )
    again = load_config_text(dump_config(cfg), base_dir=tmp_path)
    assert effective_config(again) == effective_config(cfg)
    for bad in ("0", '"lots"', "true"):
        text = listener() + mllp_destination("pas", 6661, extra=f"max_queue_depth = {bad}")
        with pytest.raises(ConfigError) as caught:
            config(text, tmp_path)
        assert (
            "channels[0].destinations[0].max_queue_depth: expected a number of entries of at "
            'least 1, or "off"' in str(caught.value)
        )


# -- the estimate -----------------------------------------------------------------------------


def test_estimate_counts_local_changes_and_keeps_them_across_a_read() -> None:
    async def scenario() -> None:
        metrics = Metrics()
        store = MemoryStore()
        await store.open()
        limits = QueueLimits({"pas": 3}, metrics=metrics, store=store)
        assert limits.blocked(["pas", "archive"]) is None  # archive has no limit
        limits.add(["pas", "archive"], 2)
        mark = limits.mark()
        limits.add(["pas"])  # queued while the statistics read was in progress
        limits.update({"pas": 2}, mark)  # the read saw the first two only
        assert limits.depth["pas"] == 3
        assert limits.blocked(["pas"]) == "pas"
        assert metrics.snapshot().value("intake_paused", destination="pas") == 1
        limits.left("pas")  # delivered here: intake resumes at once
        assert limits.blocked(["pas"]) is None
        assert metrics.snapshot().value("intake_paused", destination="pas") == 0
        limits.update({}, limits.mark())  # another process drained the queue
        assert limits.depth["pas"] == 0
        await limits.flush()
        assert [e.action for e in await store.events(limit=10)] == ["queue_resumed", "queue_full"]

    run(scenario())


# -- end to end -------------------------------------------------------------------------------


def _limited(port: int, reply: str) -> str:
    return listener(extra=f'failure_reply = "{reply}"') + mllp_destination(
        "pas", port, extra='max_queue_depth = 2\non_timeout = "retry"'
    )


def test_p8_full_queue_refuses_with_ar207_then_resumes(tmp_path: Path) -> None:
    async def scenario() -> None:
        answering = asyncio.Event()
        peer = await Peer(
            script=lambda payload, count: [ack_for(payload)] if answering.is_set() else None
        ).start()
        store = MemoryStore()
        try:
            async with Engine(
                config(_limited(peer.port, "ar207"), tmp_path), store=store
            ) as engine:
                port = port_of(engine)
                replies = await exchange(port, [adt("MSG1"), adt("MSG2"), adt("MSG3")])
                assert [_msa(r) for r in replies] == [
                    ("AA", "MSG1", ""),
                    ("AA", "MSG2", ""),
                    ("AR", "MSG3", "temporarily unavailable"),
                ]
                assert b"207&Application internal error" in (replies[2] or b"")
                snapshot = engine.metrics.snapshot()
                assert (
                    snapshot.value("queue_full_refusals_total", channel="adt", destination="pas")
                    == 1
                )
                assert snapshot.value("intake_paused", destination="pas") == 1
                answering.set()
                await peer.wait_for(2)
                await until(lambda: engine.limits is not None and not engine.limits.full)
                (reply,) = await exchange(port, [adt("MSG3")])
                assert _msa(reply) == ("AA", "MSG3", "")
                await peer.wait_for(3)
                await engine.limits.flush()
                actions = [e.action for e in await store.events(limit=200)]
                assert "queue_full" in actions and "queue_resumed" in actions
        finally:
            await peer.close()

    run(scenario(), timeout=20.0)


def test_p8_full_queue_closes_without_reply_by_default(tmp_path: Path) -> None:
    async def scenario() -> None:
        peer = await Peer(script=lambda payload, count: None).start()
        try:
            async with Engine(config(_limited(peer.port, "close"), tmp_path)) as engine:
                port = port_of(engine)
                assert [_msa(r)[0] for r in await exchange(port, [adt("A1"), adt("A2")])] == [
                    "AA",
                    "AA",
                ]
                assert await exchange(port, [adt("A3")]) == [None]
                snapshot = engine.metrics.snapshot()
                assert snapshot.value("store_failures_total", channel="adt") == 0
                assert snapshot.total("queue_full_refusals_total") == 1
        finally:
            await peer.close()

    run(scenario(), timeout=20.0)


def test_p8_depth_is_read_from_the_store_at_start(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = MemoryStore()
        await store.open()
        now = datetime.now(UTC)
        for control_id in ("OLD1", "OLD2"):
            record = InboundMessage(
                channel="adt",
                payload=adt(control_id),
                received_at=now,
                control_id=control_id,
                sending_application="CAREFLOW",
                sending_facility="RXX01",
                destinations=("pas",),
            )
            await store.accept([record], dedupe_window=timedelta(days=7))
        peer = await Peer(script=lambda payload, count: None).start()
        try:
            cfg = config(_limited(peer.port, "ar207"), tmp_path)
            async with Engine(cfg, store=store) as engine:
                assert engine.limits is not None and engine.limits.depth["pas"] == 2
                (reply,) = await exchange(port_of(engine), [adt("NEW1")])
                assert _msa(reply)[0] == "AR"
        finally:
            await peer.close()

    run(scenario(), timeout=20.0)
