"""Inbound guarantees: AA only after commit (P1), never a false AA (P2), AE with ERR for content,
header rules (HD-4..HD-8, HD-13), duplicates and collisions (HD-11), routing and filters."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eprlink.ack import Problem
from eprlink.engine import Engine, MetricsSnapshot
from eprlink.engine.config import EngineConfig
from eprlink.errors import ErrorCode
from eprlink.hl7 import Message
from eprlink.store import (
    AcceptOutcome,
    InboundMessage,
    MessageQuery,
    MessageStatus,
    MessageSummary,
)
from eprlink.store.memory import MemoryStore

from .conftest import adt, config, exchange, field_of, frame, listener, port_of, read_frame, run

ROUTED = """
[[channels.routes]]
types = ["ADT^A0?", "ADT^A3*"]
destinations = []
"""


def _msa(reply: bytes | None) -> tuple[str | None, str | None, str | None]:
    assert reply is not None
    return field_of(reply, "MSA", 1), field_of(reply, "MSA", 2), field_of(reply, "MSA", 3)


@dataclass
class Sent:
    """What a test run saw: one reply per frame, the metrics and the stored messages."""

    snapshot: MetricsSnapshot
    rows: list[MessageSummary]


async def _send(
    cfg: EngineConfig, payloads: list[bytes], **options: Any
) -> tuple[list[bytes | None], Sent]:
    engine = Engine(cfg, store=options.pop("store", MemoryStore()), **options)
    async with engine:
        replies = await exchange(port_of(engine), payloads)
        sent = Sent(engine.metrics.snapshot(), await engine.store.search(MessageQuery()))
    return replies, sent


class GatedStore(MemoryStore):
    """A store whose commit waits until the test opens the gate."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.entered = asyncio.Event()

    async def accept(
        self, messages: Sequence[InboundMessage], **options: Any
    ) -> list[AcceptOutcome]:
        self.entered.set()
        await self.gate.wait()
        return await super().accept(messages, **options)


def test_p1_ack_written_only_after_commit_returns(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = GatedStore()
        async with Engine(config(listener(), tmp_path), store=store) as engine:
            reader, writer = await asyncio.open_connection("127.0.0.1", port_of(engine))
            writer.write(frame(adt("MSG1")))
            await writer.drain()
            await store.entered.wait()
            pending = asyncio.ensure_future(read_frame(reader))
            await asyncio.sleep(0.2)
            assert not pending.done(), "an ACK left before the commit returned"
            assert await store.search(MessageQuery()) == []
            store.gate.set()
            reply = await asyncio.wait_for(pending, 2)
            assert _msa(reply)[:2] == ("AA", "MSG1")
            assert len(await store.search(MessageQuery())) == 1
            writer.close()

    run(scenario())


def test_p2_failing_store_closes_without_reply_by_default(tmp_path: Path) -> None:
    store = MemoryStore(fail_accept=lambda m: True)
    replies, sent = run(_send(config(listener(), tmp_path), [adt("MSG1")], store=store))
    assert replies == [None]
    assert sent.snapshot.value("store_failures_total", channel="adt") == 1
    assert sent.snapshot.value("alerts_total", alert="store_unavailable") == 1
    assert sent.snapshot.total("messages_accepted_total") == 0


def test_p2_failing_store_answers_ar207_when_configured(tmp_path: Path) -> None:
    store = MemoryStore(fail_accept=lambda m: True)
    cfg = config(listener(extra='failure_reply = "ar207"'), tmp_path)
    replies, _ = run(_send(cfg, [adt("MSG1"), adt("MSG2")], store=store))
    for reply, control_id in zip(replies, ("MSG1", "MSG2"), strict=True):
        assert _msa(reply) == ("AR", control_id, "temporarily unavailable")
        assert b"207&Application internal error" in (reply or b"")


def test_accepted_message_is_stored_with_search_keys(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = MemoryStore()
        async with Engine(config(listener(), tmp_path), store=store) as engine:
            (reply,) = await exchange(port_of(engine), [adt("MSG1")])
            assert _msa(reply) == ("AA", "MSG1", "")
            assert field_of(reply or b"", "MSH", 2) == "EPRLINK"  # our MSH-3
            found = await store.search(MessageQuery(identifier=("NHS", "9990000018")))
            assert [s.control_id for s in found] == ["MSG1"]
            stored = await store.message(found[0].message_id)
            assert stored is not None and stored.payload == adt("MSG1")
            assert stored.summary.message_type == "ADT^A01"
            assert (stored.sending_application, stored.sending_facility) == ("CAREFLOW", "RXX01")
            assert await store.search(MessageQuery(identifier=("MR", "K123456")))

    run(scenario())


def _content_check(message: Message) -> list[Problem]:
    return [Problem.at("PID-7", ErrorCode.DATA_TYPE_ERROR)]


def test_content_error_gives_ae_with_err_and_is_kept_as_rejected(tmp_path: Path) -> None:
    cfg = config(listener(validate=True), tmp_path)
    replies, sent = run(_send(cfg, [adt("MSG1")], check=_content_check))
    assert _msa(replies[0]) == ("AE", "MSG1", "data type error at PID-7")
    assert b"ERR|PID^1^7^102&Data type error&HL70357" in (replies[0] or b"")
    (row,) = sent.rows
    assert row.status is MessageStatus.REJECTED
    assert sent.snapshot.value("messages_rejected_total", channel="adt", code="102") == 1


def test_profile_validation_through_the_real_validator(tmp_path: Path) -> None:
    cfg = config(listener(validate=True), tmp_path)
    bad = adt("MSG2").replace(b"19800101", b"1980XX01")
    replies, _ = run(_send(cfg, [adt("MSG1"), bad]))
    assert _msa(replies[0])[0] == "AA"
    assert _msa(replies[1]) == ("AE", "MSG2", "data type error at PID-7")


def test_accept_with_warning_answers_aa_and_records_the_issue(tmp_path: Path) -> None:
    text = listener(validate=True).replace(
        "validate = true", 'validate = true\non_invalid = "accept_with_warning"'
    )
    replies, sent = run(_send(config(text, tmp_path), [adt("MSG1")], check=_content_check))
    assert _msa(replies[0]) == ("AA", "MSG1", "")
    assert sent.snapshot.value("messages_warned_total", channel="adt") == 1


def test_header_rules(tmp_path: Path) -> None:
    cfg = config(listener() + ROUTED, tmp_path)
    payloads = [
        adt("MSG1", processing="T"),  # HD-6
        adt("MSG2", version="2.9"),  # HD-7
        adt("MSG3", kind=""),  # HD-4
        adt("X" * 200),  # HD-8
        adt("MSG5", kind="ZZZ^Z99"),  # HD-5, type
        adt("MSG6", kind="ADT^A99"),  # HD-5, trigger
        adt("MSG7", kind="ADT^A31"),
    ]
    replies, sent = run(_send(cfg, payloads))
    assert _msa(replies[0]) == ("AR", "MSG1", "unsupported processing id at MSH-11")
    assert _msa(replies[1]) == ("AR", "MSG2", "unsupported version id at MSH-12")
    assert _msa(replies[2]) == ("AR", "MSG3", "required field missing at MSH-9")
    assert _msa(replies[3])[0] == "AE"
    assert _msa(replies[4]) == ("AR", "MSG5", "unsupported message type at MSH-9")
    assert _msa(replies[5]) == ("AR", "MSG6", "unsupported event code at MSH-9")
    assert _msa(replies[6])[0] == "AA"
    snapshot = sent.snapshot
    assert snapshot.value("processing_id_mismatch_total", channel="adt") == 1
    assert snapshot.value("alerts_total", alert="processing_id_mismatch") == 1
    statuses = sorted(row.status.value for row in sent.rows)
    assert statuses == ["accepted"] + ["rejected"] * 6


def test_unreadable_and_empty_payloads(tmp_path: Path) -> None:
    replies, sent = run(_send(config(listener(), tmp_path), [b"PID|1||X\r", b"  "]))
    assert _msa(replies[0]) == ("AR", "", "segment sequence error")
    assert _msa(replies[1])[0] == "AR"
    assert [row.status for row in sent.rows] == [MessageStatus.REJECTED]


def test_hd13_acknowledgement_gets_no_reply_and_is_not_stored(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = MemoryStore()
        async with Engine(config(listener(), tmp_path), store=store) as engine:
            ack = b"MSH|^~\\&|A|B|C|D|20240101||ACK^A01^ACK|9|P|2.4\rMSA|AA|1\r"
            reader, writer = await asyncio.open_connection("127.0.0.1", port_of(engine))
            writer.write(frame(ack) + frame(adt("MSG1")))
            await writer.drain()
            reply = await asyncio.wait_for(read_frame(reader), 2)
            assert _msa(reply)[:2] == ("AA", "MSG1")  # the only reply is to the ADT
            writer.close()
            assert len(await store.search(MessageQuery())) == 1

    run(scenario())


def test_hd11_duplicate_is_acked_again_not_queued_again(tmp_path: Path) -> None:
    text = listener() + "\n[[channels.destinations]]\nname='pas'\nkind='file'\ndirectory='out'\n"

    async def scenario() -> None:
        store = MemoryStore()
        async with Engine(config(text, tmp_path), store=store) as engine:
            replies = await exchange(port_of(engine), [adt("MSG1"), adt("MSG1")])
            assert [_msa(r)[:2] for r in replies] == [("AA", "MSG1"), ("AA", "MSG1")]
            rows = await store.search(MessageQuery())
            assert len(rows) == 1
            stored = await store.message(rows[0].message_id)
            assert stored is not None and len(stored.entries) == 1
            snapshot = engine.metrics.snapshot()
            assert snapshot.value("duplicates_received_total", channel="adt") == 1
            assert snapshot.value("messages_accepted_total", channel="adt") == 1
            assert any(e.action == "duplicate" for e in await store.events())

    run(scenario())


def test_hd11_duplicate_of_a_rejected_message_gets_the_same_code(tmp_path: Path) -> None:
    cfg = config(listener(validate=True), tmp_path)
    replies, _ = run(_send(cfg, [adt("MSG1"), adt("MSG1")], check=_content_check))
    assert [_msa(r)[0] for r in replies] == ["AE", "AE"]


def test_hd11_collision_accepted_counted_and_alerted(tmp_path: Path) -> None:
    payloads = [adt("MSG1"), adt("MSG1", extra="^CHANGED"), adt("MSG1", facility="RXX02")]
    replies, sent = run(_send(config(listener(), tmp_path), payloads))
    assert [_msa(r)[0] for r in replies] == ["AA", "AA", "AA"]
    assert len(sent.rows) == 3
    snapshot = sent.snapshot
    assert snapshot.value("control_id_collisions_total", channel="adt") == 1
    assert snapshot.value("alerts_total", alert="control_id_collision") == 1


def test_hd11_collision_rejected_with_ae_205_when_configured(tmp_path: Path) -> None:
    cfg = config(listener(extra="reject_collisions = true"), tmp_path)
    replies, sent = run(_send(cfg, [adt("MSG1"), adt("MSG1", extra="^CHANGED")]))
    assert _msa(replies[1]) == ("AE", "MSG1", "duplicate key identifier at MSH-10")
    assert len(sent.rows) == 1


def test_filter_keeps_message_back_but_acknowledges_it(tmp_path: Path) -> None:
    text = listener().replace(
        'name = "adt"', 'name = "adt"\nfilter = "tests.engine.pipeline:keep_adt"'
    )
    text += "\n[[channels.destinations]]\nname='pas'\nkind='file'\ndirectory='out'\n"

    async def scenario() -> None:
        store = MemoryStore()
        async with Engine(config(text, tmp_path), store=store) as engine:
            replies = await exchange(port_of(engine), [adt("MSG1", app="TEST"), adt("MSG2")])
            assert [_msa(r)[0] for r in replies] == ["AA", "AA"]
            rows = {r.control_id: r for r in await store.search(MessageQuery())}
            kept = await store.message(rows["MSG1"].message_id)
            sent = await store.message(rows["MSG2"].message_id)
            assert kept is not None and kept.entries == ()
            assert sent is not None and len(sent.entries) == 1
            assert engine.metrics.snapshot().value("messages_filtered_total", channel="adt") == 1

    run(scenario())


def test_oversize_frame_gets_ar_message_too_large(tmp_path: Path) -> None:
    cfg = config(listener(extra="max_size = 200"), tmp_path)
    replies, sent = run(_send(cfg, [adt("MSG1") + b"NTE|1||" + b"x" * 300 + b"\r"]))
    assert _msa(replies[0]) == ("AR", "MSG1", "message too large")
    assert sent.rows == []


def test_enhanced_mode_honours_msh15(tmp_path: Path) -> None:
    cfg = config(listener(extra="enhanced = true"), tmp_path)
    always = adt("MSG1").replace(b"|P|2.4\r", b"|P|2.4|||AL|NE\r")
    never = adt("MSG2").replace(b"|P|2.4\r", b"|P|2.4|||NE|NE\r")

    async def scenario() -> None:
        async with Engine(cfg, store=MemoryStore()) as engine:
            (reply,) = await exchange(port_of(engine), [always])
            assert _msa(reply)[:2] == ("CA", "MSG1")
            reader, writer = await asyncio.open_connection("127.0.0.1", port_of(engine))
            writer.write(frame(never) + frame(always.replace(b"MSG1", b"MSG3")))
            await writer.drain()
            reply = await asyncio.wait_for(read_frame(reader), 2)
            assert _msa(reply)[:2] == ("CA", "MSG3")  # nothing came back for MSG2
            writer.close()

    run(scenario())
