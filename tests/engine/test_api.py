"""The operations facade: masking and audit (policy 6.4), byte-exact audited replay (P6),
reconciliation (P7), release, prune, and the pinned public API."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import eprlink.engine
from eprlink.engine import Engine, OperatorError
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


def test_public_api_is_pinned() -> None:
    assert set(eprlink.engine.__all__) == {
        "METRICS", "ChannelStatus", "ConfigError", "ConfigProblem", "DestinationStatus",
        "Engine", "EngineAPI", "EngineConfig", "EngineError", "MessageDetail", "MessageRow",
        "Metrics", "MetricsSnapshot", "OperatorError", "PartnerReconciliation", "Status",
        "dump_config", "effective_config", "load_config", "load_config_text", "open_api",
    }  # fmt: skip
    for name in eprlink.engine.__all__:
        assert hasattr(eprlink.engine, name), name
    assert issubclass(eprlink.engine.EngineError, eprlink.EprlinkError)


def test_identifiers_are_masked_unless_asked_and_asking_is_audited(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with Engine(config(listener(), tmp_path), store=MemoryStore()) as engine:
            await exchange(port_of(engine), [adt("MSG1")])
            api = engine.api
            (row,) = await api.messages(MessageQuery())
            assert dict(row.identifiers) == {"NHS": "********18", "MR": "*****56"}
            with pytest.raises(OperatorError):
                await api.messages(MessageQuery(), reveal_identifiers=True)
            (row,) = await api.messages(
                MessageQuery(), reveal_identifiers=True, operator="alice", reason="ticket 42"
            )
            assert dict(row.identifiers)["NHS"] == "9990000018"
            found = await api.messages(
                MessageQuery(identifier=("NHS", "9990000018")), operator="alice", reason="t42"
            )
            assert len(found) == 1
            detail = await api.message(row.summary.message_id)
            assert detail is not None and detail.payload is None
            detail = await api.message(
                row.summary.message_id, reveal=True, operator="bob", reason="support"
            )
            assert detail is not None and detail.payload == adt("MSG1")
            events = await api.events()
            audited = [(e.action, e.operator) for e in events if e.operator in ("alice", "bob")]
            assert ("viewed_identifiers", "alice") in audited
            assert ("searched_identifiers", "alice") in audited
            assert ("viewed_identifiers", "bob") in audited
            assert all("9990000018" not in e.details for e in events)

    run(scenario())


def test_p6_replay_is_byte_exact_audited_and_joins_the_tail(tmp_path: Path) -> None:
    async def scenario() -> None:
        peer = await Peer().start()
        cfg = config(listener() + mllp_destination("pas", peer.port), tmp_path)
        async with Engine(cfg, store=MemoryStore()) as engine:
            await exchange(port_of(engine), [adt("MSG1"), adt("MSG2")])
            await delivered(engine, "pas", 2)
            api = engine.api
            with pytest.raises(OperatorError):
                await api.replay([1], "pas", operator="", reason="x")
            with pytest.raises(OperatorError):
                await api.replay([1], "nowhere", operator="op", reason="x")
            entries = await api.replay(
                MessageQuery(control_id="MSG1"), "pas", operator="op", reason="partner lost it"
            )
            assert len(entries) == 1
            await peer.wait_for(3)
            detail = await api.message(1)
            assert detail is not None
            assert hashlib.sha256(peer.received[2]).hexdigest() == detail.sha256
            events = await api.events(message_id=1)
            assert any(e.action == "replayed" and e.operator == "op" for e in events)
        assert control_ids(peer.received) == ["MSG1", "MSG2", "MSG1"]
        await peer.close()

    run(scenario())


def test_p7_reconciliation_balances_and_partner_lists_differ(tmp_path: Path) -> None:
    async def scenario() -> None:
        peer = await Peer().start()
        cfg = config(listener() + mllp_destination("pas", peer.port), tmp_path)
        async with Engine(cfg, store=MemoryStore()) as engine:
            await exchange(port_of(engine), [adt("MSG1"), adt("MSG2", version="9.9")])
            await delivered(engine, "pas", 1)
            today = datetime.now(UTC).date()
            result = await engine.api.reconcile("adt", today)
            assert result.balanced
            assert (result.received, result.accepted, result.rejected) == (2, 1, 1)
            start = datetime.now(UTC) - timedelta(hours=1)
            end = datetime.now(UTC) + timedelta(hours=1)
            partner = await engine.api.reconcile_partner(
                "adt", start, end, ["MSG1", "MSG3", " ", "MSG3"]
            )
            assert partner.matched == 1
            assert partner.missing_here == ("MSG3",)
            assert partner.missing_there == ("MSG2",)
            assert not partner.balanced
        await peer.close()

    run(scenario())


def test_status_and_prune(tmp_path: Path) -> None:
    async def scenario() -> None:
        peer = await Peer().start()
        cfg = config(listener() + mllp_destination("pas", peer.port), tmp_path)
        async with Engine(cfg, store=MemoryStore()) as engine:
            await exchange(port_of(engine), [adt("MSG1")])
            await delivered(engine, "pas", 1)
            status = await engine.api.status()
            assert status.running and status.store == "memory"
            (channel,) = status.channels
            assert channel.source.startswith("mllp listener 127.0.0.1:")
            (destination,) = status.destinations
            assert (destination.name, destination.kind, destination.depth) == ("pas", "mllp", 0)
            assert destination.counts["delivered"] == 1 and not destination.blocked
            with pytest.raises(OperatorError):
                await engine.api.prune()  # no retention configured and no age given
            result = await engine.api.prune(timedelta(0), operator="op", reason="test")
            assert result.messages == 1
            assert await engine.store.search(MessageQuery(status=MessageStatus.ACCEPTED)) == []
        await peer.close()

    run(scenario())


def test_release_of_dead_entries_in_order(tmp_path: Path) -> None:
    def script(payload: bytes, count: int) -> list[bytes]:
        return [ack_for(payload, "AR" if count == 1 else "AA")]

    async def scenario() -> None:
        peer = await Peer(script).start()
        extra = 'on_reject = "dead"'
        cfg = config(listener() + mllp_destination("pas", peer.port, extra=extra), tmp_path)
        async with Engine(cfg, store=MemoryStore()) as engine:
            await exchange(port_of(engine), [adt("MSG1"), adt("MSG2")])

            async def both_dead() -> bool:
                found = await states(engine, "pas")
                return list(found.values()) == [EntryState.DEAD, EntryState.DEAD]

            await eventually(both_dead)
            count = await engine.api.release(
                "pas", operator="op", reason="resend", include_dead=True
            )
            assert count == 2
            await delivered(engine, "pas", 2)
        assert control_ids(peer.received) == ["MSG1", "MSG2", "MSG1", "MSG2"]
        await peer.close()

    run(scenario())
