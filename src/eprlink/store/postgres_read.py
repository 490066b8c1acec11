"""Read-only queries of the PostgreSQL store: messages, search, stats, reconciliation, audit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, LiteralString

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
from eprlink.store.postgres_conn import Connection
from eprlink.store.postgres_sql import queries, utc

__all__ = ["events", "message", "reconcile", "search", "stats"]


async def message(conn: Connection, *, message_id: int) -> StoredMessage | None:
    q = queries()
    cur = await conn.execute(q["message_by_id"], {"message_id": message_id})
    row = await cur.fetchone()
    if row is None:
        return None
    cur = await conn.execute(q["entries_of_message"], {"message_id": message_id})
    entries = tuple(
        (int(e[0]), str(e[1]), EntryState(e[2]), int(e[3])) for e in await cur.fetchall()
    )
    return StoredMessage(
        summary=_summary(row[:7]),
        payload=bytes(row[7]),
        sha256=bytes(row[8]),
        peer=row[9],
        sending_application=row[10],
        sending_facility=row[11],
        ack_code=row[12],
        error=row[13],
        entries=entries,
    )


async def search(conn: Connection, *, query: MessageQuery) -> list[MessageSummary]:
    """Only the filters given join the statement, so each shape gets its own plan and the
    indexes (control id, channel and time, identifier) are used."""
    q = queries()
    parts: list[LiteralString] = [q["search_head"]]
    params: dict[str, Any] = {"limit": query.limit}
    simple: list[tuple[LiteralString, str, object]] = [
        ("filter_channel", "channel", query.channel),
        ("filter_control_id", "control_id", query.control_id),
        ("filter_message_type", "message_type", query.message_type),
        ("filter_status", "status", query.status and str(query.status)),
        ("filter_received_from", "received_from", query.received_from and utc(query.received_from)),
        ("filter_received_to", "received_to", query.received_to and utc(query.received_to)),
    ]
    for name, key, value in simple:
        if value is not None:
            parts.append(q[name])
            params[key] = value
    if query.entry_state is not None or query.destination is not None:
        parts.append(q["filter_entry"])
        params["entry_state"] = query.entry_state and str(query.entry_state)
        params["destination"] = query.destination
    if query.identifier is not None:
        parts.append(q["filter_identifier"])
        params["id_kind"], params["id_value"] = query.identifier
    parts.append(q["search_tail"])
    cur = await conn.execute("\n".join(parts), params)
    return [_summary(row) for row in await cur.fetchall()]


async def stats(conn: Connection) -> list[QueueStats]:
    q = queries()
    counts: dict[str, dict[EntryState, int]] = {}
    for destination, state, n in await (await conn.execute(q["stats_counts"])).fetchall():
        counts.setdefault(destination, {})[EntryState(state)] = int(n)
    cur = await conn.execute(q["stats_oldest"])
    oldest = {str(d): at for d, at in await cur.fetchall()}
    return [
        QueueStats(destination=d, counts=counts[d], oldest_pending=oldest.get(d))
        for d in sorted(counts)
    ]


async def reconcile(conn: Connection, *, channel: str, day: date) -> Reconciliation:
    q = queries()
    start = datetime.combine(day, time(), tzinfo=UTC)
    params = {"channel": channel, "start": start, "end": start + timedelta(days=1)}
    cur = await conn.execute(q["reconcile_messages"], params)
    by_status = {str(s): int(n) for s, n in await cur.fetchall()}
    cur = await conn.execute(q["reconcile_receipts"], params)
    by_kind = {str(k): int(n) for k, n in await cur.fetchall()}
    cur = await conn.execute(q["reconcile_entries"], params)
    per: dict[str, dict[EntryState, int]] = {}
    for destination, state, n in await cur.fetchall():
        per.setdefault(destination, {})[EntryState(state)] = int(n)
    accepted = by_status.get("accepted", 0)
    # a refused collision was answered AE and kept only as a receipt: received, not accepted
    rejected = by_status.get("rejected", 0) + by_kind.get("collision_rejected", 0)
    return Reconciliation(
        channel=channel,
        day=day,
        received=accepted + rejected,
        accepted=accepted,
        rejected=rejected,
        duplicates=by_kind.get("duplicate", 0),
        destinations=tuple(
            DestinationReconciliation(
                destination=d,
                routed=sum(per[d].values()),
                delivered=per[d].get(EntryState.DELIVERED, 0),
                dead=per[d].get(EntryState.DEAD, 0),
                pending=sum(n for s, n in per[d].items() if s in PENDING_STATES),
            )
            for d in sorted(per)
        ),
    )


async def events(conn: Connection, *, message_id: int | None, limit: int) -> list[AuditEvent]:
    q = queries()
    if message_id is None:
        cur = await conn.execute(q["events_all"], {"limit": limit})
    else:
        cur = await conn.execute(q["events_of_message"], {"message_id": message_id, "limit": limit})
    return [
        AuditEvent(
            event_id=r[0],
            at=r[1],
            action=r[2],
            message_id=r[3],
            entry_id=r[4],
            operator=r[5],
            reason=r[6],
            details=r[7],
        )
        for r in await cur.fetchall()
    ]


def _summary(row: Sequence[Any]) -> MessageSummary:
    return MessageSummary(
        message_id=row[0],
        channel=row[1],
        received_at=row[2],
        control_id=row[3],
        message_type=row[4],
        status=MessageStatus(row[5]),
        size=row[6],
    )
