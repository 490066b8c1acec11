"""The SQLite store's intake: every accept() of a group commit stored with a few statements.

Intake is the hot path of store-then-ACK, so its cost is kept to what the guarantees need: one
dedupe look-up per message with a control id, and one ``executemany`` per table for the whole
group (messages, dedupe keys, identifiers, queue entries, receipts, audit events).

That works because the writer thread holds SQLite's write lock (``BEGIN IMMEDIATE``) from the
first statement to COMMIT, whichever process it is in. Nothing else can write between reading
the id sequences and the inserts, so the ids are allocated here, in acceptance order, from
``max(sqlite_sequence, max(id)) + 1``, exactly what AUTOINCREMENT would have chosen; and the
dedupe check can read the keys first and write them afterwards, with the group's own earlier
messages kept in memory, without another writer slipping in between (F36). The UNIQUE key on
``dedupe`` still stands behind it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from eprlink.store.model import AcceptOutcome, InboundMessage, MessageStatus
from eprlink.store.sqlite_schema import queries, to_us

__all__ = ["AcceptRequest", "accept_many"]

_ACCEPTED = MessageStatus.ACCEPTED
_Key = tuple[str, str, str]  # (MSH-3, MSH-4, MSH-10) as the dedupe table keys them
_Copy = tuple[int, int, str]  # (message id, received_us, ack code): the copy holding a hash


@dataclass(frozen=True, slots=True)
class AcceptRequest:
    """One accept() call: its messages and the dedupe rules it was called with."""

    messages: Sequence[InboundMessage]
    window_us: int
    reject_collisions: bool
    now_us: int


class _Rows:
    """The rows of one group, collected in acceptance order and written table by table."""

    __slots__ = ("dedupe", "entries", "events", "identifiers", "messages", "receipts")

    def __init__(self) -> None:
        self.messages: list[tuple[object, ...]] = []
        self.dedupe: list[tuple[object, ...]] = []
        self.identifiers: list[tuple[int, str, str]] = []
        self.entries: list[tuple[int, int, str, int]] = []
        self.receipts: list[tuple[str, str, str, int, int]] = []
        self.events: list[tuple[int, str, int, int | None, str]] = []

    def add_message(
        self,
        message: InboundMessage,
        message_id: int,
        *,
        received_us: int,
        collision_of: int | None,
        now_us: int,
        where: str,
    ) -> None:
        """The message row, its identifiers and its ``received`` (and ``collision``) events."""
        size = len(message.payload)
        self.messages.append(
            (
                message_id,
                message.channel,
                message.peer,
                message.control_id,
                message.message_type,
                message.sending_application,
                message.sending_facility,
                received_us,
                message.status.value,
                message.ack_code,
                message.error,
                collision_of is not None,
                size,
                message.sha256,
                message.payload,
            )
        )
        for kind, value in message.identifiers:
            self.identifiers.append((message_id, kind, value))
        details = f"status={message.status.value} size={size} {where}"
        self.events.append((now_us, "received", message_id, None, details))
        if collision_of is not None:
            self.events.append((now_us, "collision", message_id, None, f"first={collision_of}"))

    def write(self, conn: sqlite3.Connection) -> None:
        """Parents first: identifiers, entries, receipts and dedupe keys refer to messages."""
        q = queries()
        for name, rows in (
            ("accept_messages", self.messages),
            ("accept_dedupe", self.dedupe),
            ("accept_identifiers", self.identifiers),
            ("accept_entries", self.entries),
            ("accept_receipts", self.receipts),
            ("accept_events", self.events),
        ):
            if rows:
                conn.executemany(q[name], rows)


def accept_many(
    conn: sqlite3.Connection, requests: Sequence[AcceptRequest]
) -> list[list[AcceptOutcome]]:
    """Keep every request's batch; the caller's transaction (or savepoint) makes the whole
    call all-or-nothing. Returns the outcomes of each request, in order."""
    q = queries()
    next_message, next_entry = conn.execute(q["accept_next_ids"]).fetchone()
    held: dict[_Key, dict[bytes, _Copy]] = {}  # keys looked up so far, with this group's copies
    rows = _Rows()
    results: list[list[AcceptOutcome]] = []
    for request in requests:
        now_us = request.now_us
        cutoff = now_us - request.window_us
        outcomes: list[AcceptOutcome] = []
        for message in request.messages:
            received_us = to_us(message.received_at)
            where = f"channel={message.channel} peer={message.peer}"
            copies: dict[bytes, _Copy] | None = None
            collision_of: int | None = None
            if message.control_id:
                key = (
                    message.sending_application or "",
                    message.sending_facility or "",
                    message.control_id,
                )
                copies = held.get(key)
                if copies is None:
                    copies = {
                        bytes(sha): (first, at, ack)
                        for sha, first, at, ack in conn.execute(q["accept_dedupe_copies"], key)
                    }
                    held[key] = copies
                same = copies.get(message.sha256)
                if same is not None and same[1] >= cutoff:  # a live first copy: HD-11
                    rows.receipts.append(
                        ("duplicate", message.channel, message.peer, received_us, same[0])
                    )
                    rows.events.append((now_us, "duplicate", same[0], None, where))
                    outcomes.append(AcceptOutcome(None, duplicate_of=same[0], ack_code=same[2]))
                    continue
                live = [c for sha, c in copies.items() if c[1] >= cutoff and sha != message.sha256]
                if live:
                    collision_of = min(live, key=lambda c: (c[1], c[0]))[0]
                    if request.reject_collisions:
                        rows.receipts.append(
                            (
                                "collision_rejected",
                                message.channel,
                                message.peer,
                                received_us,
                                collision_of,
                            )
                        )
                        rows.events.append(
                            (now_us, "collision", collision_of, None, f"refused {where}")
                        )
                        outcomes.append(AcceptOutcome(None, collision=True, ack_code="AE"))
                        continue
                copies[message.sha256] = (next_message, received_us, message.ack_code)
                rows.dedupe.append((*key, message.sha256, next_message, received_us))
            message_id = next_message
            next_message += 1
            rows.add_message(
                message,
                message_id,
                received_us=received_us,
                collision_of=collision_of,
                now_us=now_us,
                where=where,
            )
            if message.status is _ACCEPTED:
                for destination in message.destinations:
                    rows.entries.append((next_entry, message_id, destination, now_us))
                    rows.events.append(
                        (now_us, "queued", message_id, next_entry, f"destination={destination}")
                    )
                    next_entry += 1
            outcomes.append(
                AcceptOutcome(
                    message_id, collision=collision_of is not None, ack_code=message.ack_code
                )
            )
        results.append(outcomes)
    rows.write(conn)
    return results
