"""The Store contract: one test suite that every backend passes, written from protocol.py.

How to use it for a backend::

    from tests.store.contract import StoreContract

    class TestMyStore(StoreContract):
        async def make_store(self, tmp_path: Path) -> Store:
            store = MyStore(...)          # a fresh, EMPTY store for every test
            await store.open()
            return store                  # the contract closes it

        # optional: make accept() fail inside its transaction for one control id, so the
        # suite can show batch atomicity; return False (the default) to skip that test.
        async def inject_accept_failure(self, store: Store, control_id: str) -> bool: ...

Every test is a plain sync function that drives its scenario with ``asyncio.run`` (no
pytest-asyncio), opens one store, and stays well under a second. Times are fixed (``T0``) and
passed as ``now=`` so that windows and days never depend on the host clock. Nothing here may
depend on one backend: backend-specific tests live beside the subclass.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from eprlink.store import (
    PENDING_STATES,
    AckRecord,
    Delivery,
    EntryState,
    Failure,
    InboundMessage,
    MessageQuery,
    MessageStatus,
    Store,
    StoreError,
)

__all__ = ["NHS_NUMBER", "T0", "WINDOW", "StoreContract", "inbound", "payload"]

T0 = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
WINDOW = timedelta(days=7)
NHS_NUMBER = "9990000018"  # reserved test range, valid Modulus 11 check digit
AA = AckRecord("AA", "X", latency_seconds=0.01)
AE = AckRecord("AE", "X", text="ERR 207")

Scenario = Callable[[Store], Awaitable[None]]


def payload(
    control_id: str | None = "MSG00001",
    *,
    app: str = "PAS",
    facility: str = "RXX01",
    kind: str = "ADT^A01",
    stamp: str = "20250301093000",
    nhs: str = NHS_NUMBER,
) -> bytes:
    """A synthetic HL7 v2 message as plain bytes (the store never parses it)."""
    return (
        f"MSH|^~\\&|{app}|{facility}|EPR|RXX|{stamp}||{kind}|{control_id or ''}|P|2.4\r"
        f"PID|1||{nhs}^^^NHS^NH||TESTPATIENT^ALEX||19800101|U\r"
    ).encode("ascii")


def inbound(
    control_id: str | None = "MSG00001",
    *,
    channel: str = "adt",
    destinations: Sequence[str] = ("epr",),
    app: str = "PAS",
    facility: str = "RXX01",
    kind: str = "ADT^A01",
    stamp: str = "20250301093000",
    received_at: datetime = T0,
    status: MessageStatus = MessageStatus.ACCEPTED,
    ack_code: str = "AA",
    error: str = "",
    nhs: str = NHS_NUMBER,
    peer: str = "127.0.0.1:40000",
) -> InboundMessage:
    """An InboundMessage whose metadata matches its synthetic payload."""
    return InboundMessage(
        channel=channel,
        payload=payload(control_id, app=app, facility=facility, kind=kind, stamp=stamp, nhs=nhs),
        received_at=received_at,
        peer=peer,
        control_id=control_id,
        message_type=kind,
        sending_application=app,
        sending_facility=facility,
        destinations=tuple(destinations),
        status=status,
        ack_code=ack_code,
        error=error,
        identifiers=(("NHS", nhs),),
    )


async def accept_one(store: Store, message: InboundMessage, *, now: datetime = T0) -> int:
    """Accept one message that must be stored; returns its id."""
    [outcome] = await store.accept([message], dedupe_window=WINDOW, now=now)
    assert outcome.message_id is not None, outcome
    return outcome.message_id


async def claim(store: Store, destination: str = "epr", *, fence: int = 0) -> Delivery:
    delivery = await store.claim(destination, owner="worker-1", fence=fence)
    assert delivery is not None, f"nothing to claim on {destination}"
    return delivery


async def drain(store: Store, destination: str = "epr") -> list[Delivery]:
    """Deliver everything the queue offers, in the order it offers it."""
    delivered = []
    while (delivery := await store.claim(destination, owner="worker-1")) is not None:
        assert await store.settle(delivery, ack=AA)
        delivered.append(delivery)
    return delivered


async def states(store: Store, message_id: int) -> list[EntryState]:
    stored = await store.message(message_id)
    assert stored is not None
    return [state for _, _, state, _ in stored.entries]


async def actions(store: Store, message_id: int) -> list[str]:
    """The message's audit trail, oldest first."""
    return [e.action for e in reversed(await store.events(message_id=message_id, limit=1000))]


def is_subsequence(wanted: Sequence[str], seen: Sequence[str]) -> bool:
    remaining = iter(seen)
    return all(any(action == w for action in remaining) for w in wanted)


class StoreContract:
    """Every rule of eprlink.store.protocol.Store; subclass it once per backend."""

    async def make_store(self, tmp_path: Path) -> Store:
        raise NotImplementedError

    async def inject_accept_failure(self, store: Store, control_id: str) -> bool:
        return False

    def run(self, tmp_path: Path, scenario: Scenario) -> None:
        async def main() -> None:
            store = await self.make_store(tmp_path)
            try:
                await scenario(store)
            finally:
                await store.close()

        asyncio.run(main())

    # -- accept ---------------------------------------------------------------------------------

    def test_accept_stores_bytes_and_metadata(self, tmp_path: Path) -> None:
        async def scenario(store: Store) -> None:
            message = inbound("MSG1", destinations=("epr", "audit"), peer="10.0.0.5:3000")
            mid = await accept_one(store, message)
            stored = await store.message(mid)
            assert stored is not None
            assert stored.payload == message.payload
            assert stored.sha256 == hashlib.sha256(message.payload).digest()
            assert stored.summary.channel == "adt"
            assert stored.summary.control_id == "MSG1"
            assert stored.summary.message_type == "ADT^A01"
            assert stored.summary.status is MessageStatus.ACCEPTED
            assert stored.summary.size == len(message.payload)
            assert stored.summary.received_at == T0
            assert (stored.peer, stored.sending_application) == ("10.0.0.5:3000", "PAS")
            assert (stored.sending_facility, stored.ack_code, stored.error) == ("RXX01", "AA", "")
            assert [(d, s, a) for _, d, s, a in stored.entries] == [
                ("epr", EntryState.QUEUED, 0),
                ("audit", EntryState.QUEUED, 0),
            ]
            assert stored.entries[0][0] < stored.entries[1][0]
            assert await store.message(mid + 1000) is None

        self.run(tmp_path, scenario)

    def test_payload_bytes_are_kept_exactly(self, tmp_path: Path) -> None:
        async def scenario(store: Store) -> None:  # 8859/1 text, CR LF, NUL, framing bytes
            odd = payload("BYTES1") + "NTE|1||Zoë Ölçer\r\n".encode("latin-1") + b"\x00\x0b\x1c\xff"
            message = InboundMessage(
                channel="adt",
                payload=odd,
                received_at=T0,
                control_id="BYTES1",
                destinations=("epr",),
            )
            mid = await accept_one(store, message)
            stored = await store.message(mid)
            assert stored is not None and stored.payload == odd
            assert (await claim(store)).payload == odd

        self.run(tmp_path, scenario)

    def test_ids_increase_in_acceptance_order(self, tmp_path: Path) -> None:
        async def scenario(store: Store) -> None:
            batch = [inbound(f"MSG{i}") for i in range(3)]
            first = await store.accept(batch, dedupe_window=WINDOW, now=T0)
            assert [o.ack_code for o in first] == ["AA"] * 3
            ids = [o.message_id for o in first]
            later = await accept_one(store, inbound("MSG9", received_at=T0 - timedelta(days=1)))
            assert all(i is not None for i in ids)
            assert ids == sorted(ids) and len(set(ids)) == 3
            assert later > max(i for i in ids if i is not None)  # a sequence, never a time
            entry_ids = []
            for message_id in (*ids, later):
                stored = await store.message(message_id or 0)
                assert stored is not None
                entry_ids.append(stored.entries[0][0])
            assert entry_ids == sorted(entry_ids) and len(set(entry_ids)) == 4

        self.run(tmp_path, scenario)

    def test_accept_batch_is_atomic(self, tmp_path: Path) -> None:
        async def scenario(store: Store) -> None:
            if not await self.inject_accept_failure(store, "FAIL"):
                pytest.skip("this backend cannot inject a failure inside accept()")
            batch = [inbound("OK1"), inbound("FAIL"), inbound("OK2")]
            with pytest.raises(StoreError):
                await store.accept(batch, dedupe_window=WINDOW, now=T0)
            assert await store.search(MessageQuery()) == []
            assert await store.claim("epr", owner="w") is None
            assert all(not s.counts.get(EntryState.QUEUED) for s in await store.stats())
            again = await store.accept([batch[0], batch[2]], dedupe_window=WINDOW, now=T0)
            assert [o.duplicate_of for o in again] == [None, None]  # nothing was half-kept
            assert all(o.message_id is not None for o in again)

        self.run(tmp_path, scenario)

    def test_entries_follow_destinations_in_order(self, tmp_path: Path) -> None:
        async def scenario(store: Store) -> None:
            ids = [
                await accept_one(store, inbound(f"M{i}", destinations=("a", "b"))) for i in range(3)
            ]
            assert [d.message_id for d in await drain(store, "a")] == ids
            assert [d.message_id for d in await drain(store, "b")] == ids

        self.run(tmp_path, scenario)

    def test_rejected_message_is_stored_without_entries(self, tmp_path: Path) -> None:
        async def scenario(store: Store) -> None:
            message = inbound(
                "BAD1", status=MessageStatus.REJECTED, ack_code="AE", error="Required field missing"
            )
            mid = await accept_one(store, message)
            stored = await store.message(mid)
            assert stored is not None and stored.entries == ()
            assert (stored.ack_code, stored.error) == ("AE", "Required field missing")
            assert stored.payload == message.payload
            assert await store.claim("epr", owner="w") is None
            found = await store.search(MessageQuery(status=MessageStatus.REJECTED))
            assert [s.message_id for s in found] == [mid]

        self.run(tmp_path, scenario)

    # -- duplicates and collisions (P4, HD-11) --------------------------------------------------

    def test_duplicate_within_window(self, tmp_path: Path) -> None:
        async def scenario(store: Store) -> None:
            first = await accept_one(store, inbound("DUP1"))
            resend = inbound("DUP1", received_at=T0 + timedelta(hours=1), peer="127.0.0.1:40001")
            [outcome] = await store.accept(
                [resend], dedupe_window=WINDOW, now=T0 + timedelta(hours=1)
            )
            assert outcome.message_id is None
            assert outcome.duplicate_of == first
            assert (outcome.collision, outcome.ack_code) == (False, "AA")
            assert [s.message_id for s in await store.search(MessageQuery())] == [first]
            assert await states(store, first) == [EntryState.QUEUED]  # not queued again
            assert len(await drain(store)) == 1
            assert "duplicate" in await actions(store, first)
            day = await store.reconcile("adt", T0.date())
            assert (day.received, day.accepted, day.duplicates) == (1, 1, 1)

        self.run(tmp_path, scenario)

    def test_duplicate_is_told_the_first_copys_ack(self, tmp_path: Path) -> None:
        async def scenario(store: Store) -> None:
            rejected = inbound("DUP2", status=MessageStatus.REJECTED, ack_code="AR", error="x")
            first = await accept_one(store, rejected)
            [outcome] = await store.accept([rejected], dedupe_window=WINDOW, now=T0)
            assert (outcome.duplicate_of, outcome.ack_code) == (first, "AR")

        self.run(tmp_path, scenario)

    def test_duplicate_in_one_batch(self, tmp_path: Path) -> None:
        async def scenario(store: Store) -> None:
            message = inbound("DUP3")
            one, two = await store.accept([message, message], dedupe_window=WINDOW, now=T0)
            assert one.message_id is not None
            assert (two.message_id, two.duplicate_of) == (None, one.message_id)

        self.run(tmp_path, scenario)

    def test_resend_after_the_window_is_new(self, tmp_path: Path) -> None:
        async def scenario(store: Store) -> None:
            first = await accept_one(store, inbound("OLD1"))
            edge = T0 + WINDOW  # limits are inclusive (policy): exactly a window later is a dup
            [dup] = await store.accept(
                [inbound("OLD1", received_at=edge)], dedupe_window=WINDOW, now=edge
            )
            assert dup.duplicate_of == first
            later = T0 + WINDOW + timedelta(microseconds=1)
            second = await accept_one(store, inbound("OLD1", received_at=later), now=later)
            assert second > first
            [third] = await store.accept(
                [inbound("OLD1", received_at=later)], dedupe_window=WINDOW, now=later
            )
            assert third.duplicate_of == second  # the newest copy now holds the key

        self.run(tmp_path, scenario)

    def test_collision_is_accepted_and_flagged(self, tmp_path: Path) -> None:
        async def scenario(store: Store) -> None:
            first = await accept_one(store, inbound("COL1"))
            other = inbound("COL1", stamp="20250301093001")  # one byte of MSH-7 differs
            [outcome] = await store.accept([other], dedupe_window=WINDOW, now=T0)
            assert outcome.collision and outcome.duplicate_of is None
            assert outcome.message_id is not None and outcome.message_id > first
            assert [d.message_id for d in await drain(store)] == [first, outcome.message_id]
            assert "collision" in await actions(store, outcome.message_id)
            [again] = await store.accept([other], dedupe_window=WINDOW, now=T0)
            assert again.duplicate_of == outcome.message_id  # the collided copy dedupes too

        self.run(tmp_path, scenario)

    def test_collision_refused_when_asked(self, tmp_path: Path) -> None:
        async def scenario(store: Store) -> None:
            first = await accept_one(store, inbound("COL2"))
            other = inbound("COL2", stamp="20250301093001")
            [outcome] = await store.accept(
                [other], dedupe_window=WINDOW, reject_collisions=True, now=T0
            )
            assert outcome.message_id is None and outcome.collision
            assert outcome.duplicate_of is None
            assert [s.message_id for s in await store.search(MessageQuery())] == [first]
            assert "collision" in await actions(store, first)
            day = await store.reconcile("adt", T0.date())
            assert (day.received, day.accepted, day.rejected) == (2, 1, 1)
            assert day.balanced

        self.run(tmp_path, scenario)

    def test_other_sender_is_not_a_duplicate(self, tmp_path: Path) -> None:
        async def scenario(store: Store) -> None:
            outcomes = await store.accept(
                [
                    inbound("MSG1", facility="RXX01"),
                    inbound("MSG1", facility="RXX02"),
                    inbound("MSG1", app="LAB", facility="RXX01"),
                ],
                dedupe_window=WINDOW,
                now=T0,
            )
            assert all(o.message_id is not None for o in outcomes)
            assert not any(o.collision or o.duplicate_of for o in outcomes)

        self.run(tmp_path, scenario)

    def test_no_control_id_is_never_a_duplicate(self, tmp_path: Path) -> None:
        async def scenario(store: Store) -> None:
            message = inbound(None)
            outcomes = await store.accept([message, message], dedupe_window=WINDOW, now=T0)
            assert all(o.message_id is not None and o.duplicate_of is None for o in outcomes)
            [again] = await store.accept([message], dedupe_window=WINDOW, now=T0)
            assert again.message_id is not None and not again.collision

        self.run(tmp_path, scenario)

    def test_concurrent_resends_store_one_copy(self, tmp_path: Path) -> None:
        async def scenario(store: Store) -> None:  # F36: one copy, whoever wins
            message = inbound("RACE1")
            results = await asyncio.gather(
                *(store.accept([message], dedupe_window=WINDOW, now=T0) for _ in range(12))
            )
            outcomes = [r[0] for r in results]
            stored = [o.message_id for o in outcomes if o.message_id is not None]
            assert len(stored) == 1
            assert all(o.duplicate_of == stored[0] for o in outcomes if o.message_id is None)
            assert len(await store.search(MessageQuery(control_id="RACE1"))) == 1
            assert (await store.reconcile("adt", T0.date())).duplicates == 11

        self.run(tmp_path, scenario)

    def test_concurrent_callers_each_get_their_own_outcome(self, tmp_path: Path) -> None:
        async def scenario(store: Store) -> None:  # stores may commit these in one transaction
            first = await accept_one(store, inbound("MIX1"))
            new = inbound("MIX2", destinations=("epr", "audit"))
            results = await asyncio.gather(
                store.accept([inbound("MIX1")], dedupe_window=WINDOW, now=T0),
                store.accept(
                    [inbound("MIX1", stamp="20250301093001")],
                    dedupe_window=WINDOW,
                    reject_collisions=True,
                    now=T0,
                ),
                store.accept([new], dedupe_window=WINDOW, now=T0),
                store.accept([new], dedupe_window=WINDOW, now=T0),
                store.accept(
                    [inbound("MIX3", status=MessageStatus.REJECTED, ack_code="AR", error="bad")],
                    dedupe_window=WINDOW,
                    now=T0,
                ),
            )
            [dup], [refused], [a], [b], [rejected] = results
            assert (dup.message_id, dup.duplicate_of, dup.ack_code) == (None, first, "AA")
            assert (refused.message_id, refused.collision, refused.ack_code) == (None, True, "AE")
            stored = [o for o in (a, b) if o.message_id is not None]
            assert len(stored) == 1 and stored[0].ack_code == "AA"
            kept = stored[0].message_id
            assert {a.duplicate_of, b.duplicate_of} == {None, kept}
            assert rejected.message_id is not None and rejected.ack_code == "AR"
            assert [d.message_id for d in await drain(store)] == [first, kept]
            assert [d.message_id for d in await drain(store, "audit")] == [kept]
            assert is_subsequence(["received", "queued"], await actions(store, first))
            assert {"duplicate", "collision"} <= set(await actions(store, first))
            assert "queued" not in await actions(store, rejected.message_id)
            day = await store.reconcile("adt", T0.date())
            assert (day.received, day.accepted, day.rejected, day.duplicates) == (4, 2, 2, 2)
            assert day.balanced

        self.run(tmp_path, scenario)

    def test_one_batch_sees_its_own_earlier_messages(self, tmp_path: Path) -> None:
        async def scenario(store: Store) -> None:
            original = inbound("SELF1")
            other = inbound("SELF1", stamp="20250301093001")  # same key, other bytes
            outcomes = await store.accept(
                [original, other, other, original, inbound(None), inbound("SELF2")],
                dedupe_window=WINDOW,
                now=T0,
            )
            first, collided, again, resent, anonymous, plain = outcomes
            assert first.message_id is not None and not first.collision
            assert collided.message_id is not None and collided.collision
            assert (again.message_id, again.duplicate_of) == (None, collided.message_id)
            assert (resent.message_id, resent.duplicate_of) == (None, first.message_id)
            assert anonymous.message_id is not None and plain.message_id is not None
            ids = [first.message_id, collided.message_id, anonymous.message_id, plain.message_id]
            assert ids == sorted(ids)
            assert [d.message_id for d in await drain(store)] == ids
            assert "collision" in await actions(store, collided.message_id)
            assert (await store.reconcile("adt", T0.date())).duplicates == 2
            refused = await store.accept(
                [inbound("SELF3"), inbound("SELF3", stamp="20250301093001"), inbound("SELF4")],
                dedupe_window=WINDOW,
                reject_collisions=True,
                now=T0,
            )
            assert [(o.message_id is None, o.collision) for o in refused] == [
                (False, False),
                (True, True),
                (False, False),
            ]

        self.run(tmp_path, scenario)

    # -- claim ----------------------------------------------------------------------------------

    def test_claim_takes_the_head_one_at_a_time(self, tmp_path: Path) -> None:
        async def scenario(store: Store) -> None:
            assert await store.claim("epr", owner="w") is None
            ids = [await accept_one(store, inbound(f"Q{i}")) for i in range(3)]
            first = await claim(store, fence=7)
            stored = await store.message(ids[0])
            assert stored is not None
            assert (first.message_id, first.entry_id) == (ids[0], stored.entries[0][0])
            assert (first.destination, first.payload) == ("epr", stored.payload)
            assert (first.control_id, first.attempts, first.fence) == ("Q0", 1, 7)
            assert await store.claim("epr", owner="w") is None  # one in flight
            assert await states(store, ids[0]) == [EntryState.IN_FLIGHT]
            assert await store.settle(first, ack=AA)
            assert (await claim(store)).message_id == ids[1]

        self.run(tmp_path, scenario)

    def test_held_head_blocks_the_stream(self, tmp_path: Path) -> None:
        async def scenario(store: Store) -> None:
            ids = [await accept_one(store, inbound(f"H{i}")) for i in range(2)]
            assert await store.settle(await claim(store), ack=AE, failure=Failure.HOLD)
            assert await store.claim("epr", owner="w") is None
            assert await states(store, ids[0]) == [EntryState.HELD]
            assert await states(store, ids[1]) == [EntryState.QUEUED]

        self.run(tmp_path, scenario)

    def test_dead_entries_are_skipped(self, tmp_path: Path) -> None:
        async def scenario(store: Store) -> None:
            ids = [await accept_one(store, inbound(f"D{i}")) for i in range(2)]
            assert await store.settle(await claim(store), ack=AE, failure=Failure.DEAD)
            assert (await claim(store)).message_id == ids[1]

        self.run(tmp_path, scenario)

    def test_retrying_head_is_claimed_again(self, tmp_path: Path) -> None:
        async def scenario(store: Store) -> None:
            ids = [await accept_one(store, inbound(f"R{i}")) for i in range(2)]
            first = await claim(store)
            assert await store.settle(
                first, ack=AckRecord(None, text="timeout"), failure=Failure.RETRY
            )
            assert await states(store, ids[0]) == [EntryState.RETRYING]
            again = await claim(store)
            assert (again.entry_id, again.attempts) == (first.entry_id, 2)
            assert await store.claim("epr", owner="w") is None

        self.run(tmp_path, scenario)

    def test_destinations_are_independent(self, tmp_path: Path) -> None:
        async def scenario(store: Store) -> None:
            mid = await accept_one(store, inbound("I1", destinations=("a", "b")))
            held = await claim(store, "a")
            assert await store.settle(held, ack=AE, failure=Failure.HOLD)
            other = await claim(store, "b")
            assert other.message_id == mid and other.entry_id != held.entry_id
            assert await store.claim("c", owner="w") is None

        self.run(tmp_path, scenario)

    # -- settle ---------------------------------------------------------------------------------

    def test_settle_transitions(self, tmp_path: Path) -> None:
        async def scenario(store: Store) -> None:
            ids = [
                await accept_one(store, inbound(f"S{i}", destinations=(f"d{i}",))) for i in range(4)
            ]
            outcomes = [None, Failure.RETRY, Failure.HOLD, Failure.DEAD]
            expected = [EntryState.DELIVERED, EntryState.RETRYING, EntryState.HELD, EntryState.DEAD]
            words = ["delivered", "retry", "held", "dead"]
            for i, failure in enumerate(outcomes):
                delivery = await claim(store, f"d{i}")
                assert await store.settle(
                    delivery, ack=AA if failure is None else AE, failure=failure
                )
                assert await states(store, ids[i]) == [expected[i]]
                assert words[i] in await actions(store, ids[i])

        self.run(tmp_path, scenario)

    def test_settle_refuses_a_stale_fence(self, tmp_path: Path) -> None:
        async def scenario(store: Store) -> None:
            mid = await accept_one(store, inbound("F1"))
            old = await claim(store, fence=1)
            assert await store.recover() == 1
            new = await claim(store, fence=2)
            assert not await store.settle(old, ack=AA)  # the paused former holder
            assert await states(store, mid) == [EntryState.IN_FLIGHT]
            assert await store.settle(new, ack=AA)
            assert not await store.settle(new, ack=AA)  # no longer in flight
            assert await states(store, mid) == [EntryState.DELIVERED]

        self.run(tmp_path, scenario)

    # -- recover (P9) ---------------------------------------------------------------------------

    def test_recover_puts_in_flight_back_at_the_head(self, tmp_path: Path) -> None:
        async def scenario(store: Store) -> None:
            ids = [await accept_one(store, inbound(f"C{i}")) for i in range(3)]
            crashed = await claim(store)
            assert await store.recover() == 1
            assert await states(store, ids[0]) == [EntryState.QUEUED]
            assert await store.recover() == 0
            delivered = await drain(store)
            assert [d.message_id for d in delivered] == ids
            assert (delivered[0].entry_id, delivered[0].attempts) == (crashed.entry_id, 2)
            assert "recovered" in await actions(store, ids[0])

        self.run(tmp_path, scenario)

    def test_recover_by_owner(self, tmp_path: Path) -> None:
        async def scenario(store: Store) -> None:
            await accept_one(store, inbound("O1", destinations=("a", "b")))
            await store.claim("a", owner="node-1")
            await store.claim("b", owner="node-2")
            assert await store.recover(owner="node-3") == 0
            assert await store.recover(owner="node-1") == 1
            assert (await claim(store, "a")).attempts == 2
            assert await store.claim("b", owner="w") is None

        self.run(tmp_path, scenario)

    # -- release ("release in order") -----------------------------------------------------------

    def test_release_held_in_order(self, tmp_path: Path) -> None:
        async def scenario(store: Store) -> None:
            ids = [await accept_one(store, inbound(f"L{i}")) for i in range(2)]
            held = await claim(store)
            assert await store.settle(held, ack=AE, failure=Failure.HOLD)
            assert await store.release("other", operator="alice", reason="x") == 0
            assert await store.release("epr", operator="alice", reason="fixed in PAS") == 1
            again = await claim(store)
            assert (again.entry_id, again.attempts) == (held.entry_id, 2)
            [event] = [e for e in await store.events(message_id=ids[0]) if e.action == "released"]
            assert (event.operator, event.reason, event.entry_id) == (
                "alice",
                "fixed in PAS",
                held.entry_id,
            )

        self.run(tmp_path, scenario)

    def test_release_dead_only_when_asked(self, tmp_path: Path) -> None:
        async def scenario(store: Store) -> None:
            ids = [await accept_one(store, inbound(f"X{i}")) for i in range(3)]
            for _ in range(2):
                assert await store.settle(await claim(store), ack=AE, failure=Failure.DEAD)
            assert await store.release("epr", operator="bob", reason="r") == 0
            dead = await store.search(MessageQuery(entry_state=EntryState.DEAD))
            assert sorted(s.message_id for s in dead) == ids[:2]
            released = await store.release("epr", operator="bob", reason="r", include_dead=True)
            assert released == 2
            assert [d.message_id for d in await drain(store)] == ids  # original order

        self.run(tmp_path, scenario)

    def test_release_chosen_entries(self, tmp_path: Path) -> None:
        async def scenario(store: Store) -> None:
            ids = [await accept_one(store, inbound(f"Y{i}")) for i in range(3)]
            entries = []
            for _ in range(2):
                delivery = await claim(store)
                entries.append(delivery.entry_id)
                assert await store.settle(delivery, ack=AE, failure=Failure.DEAD)
            count = await store.release(
                "epr", operator="bob", reason="r", entry_ids=[entries[1]], include_dead=True
            )
            assert count == 1
            assert [d.message_id for d in await drain(store)] == ids[1:]
            assert await states(store, ids[0]) == [EntryState.DEAD]

        self.run(tmp_path, scenario)

    # -- replay (P6) ----------------------------------------------------------------------------

    def test_replay_joins_the_tail_byte_exact(self, tmp_path: Path) -> None:
        async def scenario(store: Store) -> None:
            ids = [await accept_one(store, inbound(f"P{i}")) for i in range(2)]
            await drain(store)
            pending = await accept_one(store, inbound("P9"))
            new = await store.replay([ids[1], ids[0]], "epr", operator="carol", reason="lost")
            assert len(new) == 2 and new == sorted(new)
            delivered = await drain(store)
            assert [d.message_id for d in delivered] == [pending, ids[1], ids[0]]
            assert [d.entry_id for d in delivered[1:]] == new
            for delivery in delivered:
                stored = await store.message(delivery.message_id)
                assert stored is not None
                assert hashlib.sha256(delivery.payload).digest() == stored.sha256
            replays = [e for e in await store.events(message_id=ids[0]) if e.action == "replayed"]
            assert [(e.operator, e.reason, e.entry_id) for e in replays] == [
                ("carol", "lost", new[1])
            ]

        self.run(tmp_path, scenario)

    def test_replay_to_another_destination_and_unknown_ids(self, tmp_path: Path) -> None:
        async def scenario(store: Store) -> None:
            mid = await accept_one(store, inbound("P1"))
            with pytest.raises(StoreError):
                await store.replay([mid, mid + 99], "archive", operator="carol", reason="r")
            assert await store.claim("archive", owner="w") is None  # nothing half-queued
            [entry] = await store.replay([mid], "archive", operator="carol", reason="r")
            assert (await claim(store, "archive")).entry_id == entry

        self.run(tmp_path, scenario)

    # -- search, stats, reconcile, control ids --------------------------------------------------

    def test_search_filters_newest_first(self, tmp_path: Path) -> None:
        async def scenario(store: Store) -> None:
            day2 = T0 + timedelta(days=1)
            a = await accept_one(store, inbound("A1"))
            b = await accept_one(store, inbound("B1", kind="ADT^A08", nhs="9990000026"))
            c = await accept_one(
                store, inbound("C1", channel="lab", kind="ORU^R01", received_at=day2)
            )
            d = await accept_one(
                store, inbound("D1", status=MessageStatus.REJECTED, ack_code="AE", kind="ADT^A011")
            )
            e = await accept_one(store, inbound("E1", destinations=("fhir",), received_at=day2))
            assert await store.settle(await claim(store), ack=AA)  # a delivered to epr

            async def ids(**filters: object) -> list[int]:
                found = await store.search(MessageQuery(**filters))  # type: ignore[arg-type]
                return [s.message_id for s in found]

            assert await ids() == [e, d, c, b, a]
            assert await ids(limit=2) == [e, d]
            assert await ids(channel="lab") == [c]
            assert await ids(control_id="B1") == [b]
            assert await ids(message_type="ADT") == [e, d, b, a]
            assert await ids(message_type="ADT^A01") == [e, a]
            assert await ids(message_type="ORU^R01") == [c]
            assert await ids(status=MessageStatus.REJECTED) == [d]
            assert await ids(entry_state=EntryState.DELIVERED) == [a]
            assert await ids(entry_state=EntryState.QUEUED) == [e, c, b]
            assert await ids(destination="fhir") == [e]
            assert await ids(destination="epr", entry_state=EntryState.QUEUED) == [c, b]
            assert await ids(identifier=("NHS", "9990000026")) == [b]
            assert await ids(identifier=("NHS", NHS_NUMBER), channel="adt") == [e, d, a]
            assert await ids(received_from=day2) == [e, c]
            assert await ids(received_to=day2) == [d, b, a]
            assert await ids(received_from=T0, received_to=T0 + timedelta(seconds=1)) == [d, b, a]
            summary = (await store.search(MessageQuery(control_id="C1")))[0]
            assert (summary.channel, summary.received_at, summary.message_type) == (
                "lab",
                day2,
                "ORU^R01",
            )

        self.run(tmp_path, scenario)

    def test_stats_counts_and_oldest_pending(self, tmp_path: Path) -> None:
        async def scenario(store: Store) -> None:
            for i in range(4):
                at = T0 + timedelta(minutes=i)
                await accept_one(store, inbound(f"T{i}", destinations=("a", "b"), received_at=at))
            assert await store.settle(await claim(store, "a"), ack=AA)
            assert await store.settle(await claim(store, "a"), ack=AE, failure=Failure.DEAD)
            await claim(store, "a")  # in flight
            assert await store.settle(await claim(store, "b"), ack=AE, failure=Failure.HOLD)
            by_name = {s.destination: s for s in await store.stats()}
            assert set(by_name) == {"a", "b"}
            a, b = by_name["a"], by_name["b"]
            assert {k: v for k, v in a.counts.items() if v} == {
                EntryState.DELIVERED: 1,
                EntryState.DEAD: 1,
                EntryState.IN_FLIGHT: 1,
                EntryState.QUEUED: 1,
            }
            assert a.oldest_pending == T0 + timedelta(minutes=2)
            assert b.counts.get(EntryState.HELD) == 1 and b.counts.get(EntryState.QUEUED) == 3
            assert b.oldest_pending == T0
            await drain(store, "b")  # held: nothing moves
            assert await store.release("b", operator="o", reason="r") == 1
            await drain(store, "b")
            [b] = [s for s in await store.stats() if s.destination == "b"]
            assert b.oldest_pending is None and b.counts.get(EntryState.DELIVERED) == 4

        self.run(tmp_path, scenario)

    def test_reconcile_balances(self, tmp_path: Path) -> None:
        async def scenario(store: Store) -> None:
            for i in range(5):
                await accept_one(store, inbound(f"R{i}", destinations=("a", "b")))
            await accept_one(store, inbound("RJ", status=MessageStatus.REJECTED, ack_code="AE"))
            await store.accept([inbound("R0"), inbound("R1")], dedupe_window=WINDOW, now=T0)
            await accept_one(store, inbound("N1", received_at=T0 + timedelta(days=1)))
            await accept_one(store, inbound("L1", channel="lab"))
            assert await store.settle(await claim(store, "a"), ack=AA)
            assert await store.settle(await claim(store, "a"), ack=AE, failure=Failure.DEAD)
            await claim(store, "a")
            day = await store.reconcile("adt", T0.date())
            assert (day.channel, day.day) == ("adt", T0.date())
            assert (day.received, day.accepted, day.rejected, day.duplicates) == (6, 5, 1, 2)
            by_name = {d.destination: d for d in day.destinations}
            a, b = by_name["a"], by_name["b"]
            assert (a.routed, a.delivered, a.dead, a.pending) == (5, 1, 1, 3)
            assert (b.routed, b.delivered, b.dead, b.pending) == (5, 0, 0, 5)
            assert day.balanced
            empty = await store.reconcile("adt", (T0 - timedelta(days=1)).date())
            assert (empty.received, empty.destinations) == (0, ())
            nxt = await store.reconcile("adt", (T0 + timedelta(days=1)).date())
            assert nxt.received == 1 and [d.routed for d in nxt.destinations] == [1]

        self.run(tmp_path, scenario)

    def test_control_ids_in_a_half_open_range(self, tmp_path: Path) -> None:
        async def scenario(store: Store) -> None:
            for i in range(4):
                at = T0 + timedelta(hours=i)
                await accept_one(store, inbound(f"K{i}", received_at=at))
            await accept_one(store, inbound(None))
            await accept_one(store, inbound("LAB1", channel="lab"))
            found = await store.control_ids("adt", T0, T0 + timedelta(hours=3))
            assert found == ["K0", "K1", "K2"]
            assert await store.control_ids("lab", T0, T0 + timedelta(hours=1)) == ["LAB1"]

        self.run(tmp_path, scenario)

    # -- audit ----------------------------------------------------------------------------------

    def test_every_transition_is_in_the_trail(self, tmp_path: Path) -> None:
        async def scenario(store: Store) -> None:
            mid = await accept_one(store, inbound("EV1"))
            first = await claim(store)
            assert await store.settle(
                first, ack=AckRecord(None, text="timeout"), failure=Failure.RETRY
            )
            assert await store.settle(await claim(store), ack=AE, failure=Failure.HOLD)
            await store.release("epr", operator="dora", reason="checked")
            await claim(store)
            await store.recover()
            assert await store.settle(await claim(store), ack=AA)
            await store.replay([mid], "epr", operator="dora", reason="again")
            expected = [
                "received",
                "queued",
                "claimed",
                "retry",
                "claimed",
                "held",
                "released",
                "claimed",
                "recovered",
                "claimed",
                "delivered",
                "replayed",
            ]
            seen = await actions(store, mid)
            assert is_subsequence(expected, seen), seen
            newest = await store.events(message_id=mid, limit=2)
            assert [e.action for e in newest] == ["replayed", "delivered"]
            assert newest[0].event_id > newest[1].event_id
            assert newest[1].operator == "engine" and newest[0].operator == "dora"
            assert all(isinstance(e.at, datetime) and e.at.tzinfo for e in newest)

        self.run(tmp_path, scenario)

    def test_operator_actions_are_audited(self, tmp_path: Path) -> None:
        async def scenario(store: Store) -> None:
            mid = await accept_one(store, inbound("AU1"))
            await store.audit(
                "viewed_identifiers", operator="erin", reason="clinical query", message_id=mid
            )
            await store.audit("exported", operator="erin", reason="audit request", details="n=1")
            [latest] = await store.events(limit=1)
            assert (latest.action, latest.operator, latest.details) == ("exported", "erin", "n=1")
            assert latest.message_id is None
            [viewed] = await store.events(message_id=mid, limit=1)
            assert (viewed.action, viewed.reason) == ("viewed_identifiers", "clinical query")
            everything = await store.events(limit=1000)
            assert [e.event_id for e in everything] == sorted(
                (e.event_id for e in everything), reverse=True
            )

        self.run(tmp_path, scenario)

    # -- prune (P11, policy 6.2) ----------------------------------------------------------------

    def test_prune_removes_only_settled_old_messages(self, tmp_path: Path) -> None:
        async def scenario(store: Store) -> None:
            old = T0 - timedelta(days=40)
            done = await accept_one(
                store, inbound("OLD1", destinations=("a", "b"), received_at=old)
            )
            dead = await accept_one(store, inbound("OLD2", destinations=("c",), received_at=old))
            rejected = await accept_one(
                store,
                inbound("OLD3", status=MessageStatus.REJECTED, ack_code="AE", received_at=old),
            )
            waiting = {
                state: await accept_one(
                    store, inbound(f"W{state}", destinations=(f"w{state}",), received_at=old)
                )
                for state in PENDING_STATES
            }
            recent = await accept_one(store, inbound("NEW1", destinations=("a",)))
            for destination in ("a", "b"):
                await drain(store, destination)
            assert await store.settle(await claim(store, "c"), ack=AE, failure=Failure.DEAD)
            await store.claim(f"w{EntryState.IN_FLIGHT}", owner="w")
            for state, failure in (
                (EntryState.RETRYING, Failure.RETRY),
                (EntryState.HELD, Failure.HOLD),
            ):
                delivery = await claim(store, f"w{state}")
                assert await store.settle(delivery, ack=AE, failure=failure)

            result = await store.prune(older_than=T0 - timedelta(days=30))
            assert (result.messages, result.entries) == (3, 3)
            for gone in (done, dead, rejected):
                assert await store.message(gone) is None
            assert "received" in await actions(store, done)  # the trail outlives the message
            for kept in (*waiting.values(), recent):
                assert await store.message(kept) is not None
            assert {s.message_id for s in await store.search(MessageQuery(limit=100))} == {
                *waiting.values(),
                recent,
            }

        self.run(tmp_path, scenario)

    def test_prune_never_takes_pending_whatever_the_clock(self, tmp_path: Path) -> None:
        async def scenario(store: Store) -> None:  # P11: a wall-clock step forward
            pending = await accept_one(store, inbound("PEND"))
            done = await accept_one(store, inbound("DONE", destinations=()))
            result = await store.prune(older_than=T0 + timedelta(days=3650))
            assert (result.messages, result.entries) == (1, 0)
            assert await store.message(pending) is not None
            assert await store.message(done) is None
            later = await accept_one(store, inbound("LATER"))
            assert later > done  # ids are never reused, even for the newest pruned message

        self.run(tmp_path, scenario)

    def test_prune_of_nothing(self, tmp_path: Path) -> None:
        async def scenario(store: Store) -> None:
            result = await store.prune(older_than=T0)
            assert (result.messages, result.entries) == (0, 0)

        self.run(tmp_path, scenario)
