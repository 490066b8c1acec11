"""The SQLite store's reads: each runs on the reader connection inside one read transaction."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from eprlink.store.model import (
    PENDING_STATES,
    AuditEvent,
    DestinationReconciliation,
    EntryState,
    MessageQuery,
    MessageStatus,
    MessageSummary,
    QueueStats,
    Reconciliation,
    StoredMessage,
)
from eprlink.store.sqlite_schema import from_us, queries, to_us

__all__ = ["control_ids", "events", "message", "reconcile", "search", "stats"]


def _summary(row: Any) -> MessageSummary:
    return MessageSummary(
        message_id=row[0],
        channel=row[1],
        received_at=from_us(row[2]),
        control_id=row[3],
        message_type=row[4],
        status=MessageStatus(row[5]),
        size=row[6],
    )


def message(conn: sqlite3.Connection, message_id: int) -> StoredMessage | None:
    q = queries()
    row = conn.execute(q["message_by_id"], {"message_id": message_id}).fetchone()
    if row is None:
        return None
    entries = conn.execute(q["entries_of_message"], {"message_id": message_id}).fetchall()
    return StoredMessage(
        summary=_summary(row),
        payload=row[7],
        sha256=row[8],
        peer=row[9],
        sending_application=row[10],
        sending_facility=row[11],
        ack_code=row[12],
        error=row[13],
        entries=tuple((e[0], e[1], EntryState(e[2]), e[3]) for e in entries),
    )


def search(conn: sqlite3.Connection, query: MessageQuery) -> list[MessageSummary]:
    """Only the filters given join the statement, so SQLite can use the index each one needs."""
    q = queries()
    parts = [q["search_head"]]
    params: dict[str, object] = {"limit": max(0, query.limit)}
    simple = {
        "channel": query.channel,
        "control_id": query.control_id,
        "message_type": query.message_type,
        "status": None if query.status is None else query.status.value,
    }
    for name, value in simple.items():
        if value is not None:
            parts.append(q[f"filter_{name}"])
            params[name] = value
    if query.entry_state is not None or query.destination is not None:
        parts.append(q["filter_entry"])
        params["entry_state"] = None if query.entry_state is None else query.entry_state.value
        params["destination"] = query.destination
    if query.identifier is not None:
        parts.append(q["filter_identifier"])
        params["id_kind"], params["id_value"] = query.identifier
    if query.received_from is not None:
        parts.append(q["filter_received_from"])
        params["received_from"] = to_us(query.received_from)
    if query.received_to is not None:
        parts.append(q["filter_received_to"])
        params["received_to"] = to_us(query.received_to)
    parts.append(q["search_tail"])
    return [_summary(row) for row in conn.execute("\n".join(parts), params)]


def stats(conn: sqlite3.Connection) -> list[QueueStats]:
    q = queries()
    counts: dict[str, dict[EntryState, int]] = {}
    for destination, state, count in conn.execute(q["stats_counts"]):
        per = counts.setdefault(destination, dict.fromkeys(EntryState, 0))
        per[EntryState(state)] = count
    oldest = {d: from_us(us) for d, us in conn.execute(q["stats_oldest"])}
    return [
        QueueStats(destination=d, counts=counts[d], oldest_pending=oldest.get(d))
        for d in sorted(counts)
    ]


def reconcile(conn: sqlite3.Connection, channel: str, day: date) -> Reconciliation:
    q = queries()
    start = datetime.combine(day, time(), tzinfo=UTC)
    params = {"channel": channel, "start": to_us(start), "end": to_us(start + timedelta(days=1))}
    statuses = dict(conn.execute(q["reconcile_messages"], params).fetchall())
    receipts = dict(conn.execute(q["reconcile_receipts"], params).fetchall())
    per: dict[str, dict[EntryState, int]] = {}
    for destination, state, count in conn.execute(q["reconcile_entries"], params):
        per.setdefault(destination, dict.fromkeys(EntryState, 0))[EntryState(state)] = count
    refused = receipts.get("collision_rejected", 0)
    accepted = statuses.get(MessageStatus.ACCEPTED.value, 0)
    rejected = statuses.get(MessageStatus.REJECTED.value, 0) + refused
    return Reconciliation(
        channel=channel,
        day=day,
        received=accepted + rejected,
        accepted=accepted,
        rejected=rejected,
        duplicates=receipts.get("duplicate", 0),
        destinations=tuple(
            DestinationReconciliation(
                destination=d,
                routed=sum(c.values()),
                delivered=c[EntryState.DELIVERED],
                dead=c[EntryState.DEAD],
                pending=sum(c[s] for s in PENDING_STATES),
            )
            for d, c in sorted(per.items())
        ),
    )


def control_ids(
    conn: sqlite3.Connection, channel: str, start: datetime, end: datetime
) -> list[str]:
    params = {"channel": channel, "start": to_us(start), "end": to_us(end)}
    return [row[0] for row in conn.execute(queries()["control_ids"], params)]


def events(conn: sqlite3.Connection, *, message_id: int | None, limit: int) -> list[AuditEvent]:
    q = queries()
    if message_id is None:
        rows = conn.execute(q["events_all"], {"limit": max(0, limit)})
    else:
        rows = conn.execute(
            q["events_of_message"], {"message_id": message_id, "limit": max(0, limit)}
        )
    return [
        AuditEvent(
            event_id=r[0],
            at=from_us(r[1]),
            action=r[2],
            message_id=r[3],
            entry_id=r[4],
            operator=r[5],
            reason=r[6],
            details=r[7],
        )
        for r in rows
    ]
