"""The SQLite store's writes other than intake (that is sqlite_accept): each runs on the writer
connection inside a group transaction."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from eprlink.store.errors import StoreError
from eprlink.store.model import AckRecord, Delivery, EntryState, Failure
from eprlink.store.sqlite_schema import queries

__all__ = [
    "audit",
    "claim",
    "prune_batch",
    "recover",
    "release",
    "replay",
    "settle",
    "vacuum",
]

ENGINE = "engine"
_SETTLED_STATE = {
    None: EntryState.DELIVERED,
    Failure.RETRY: EntryState.RETRYING,
    Failure.HOLD: EntryState.HELD,
    Failure.DEAD: EntryState.DEAD,
}
_SETTLED_ACTION = {
    EntryState.DELIVERED: "delivered",
    EntryState.RETRYING: "retry",
    EntryState.HELD: "held",
    EntryState.DEAD: "dead",
}


def _event(
    conn: sqlite3.Connection,
    at_us: int,
    action: str,
    *,
    message_id: int | None = None,
    entry_id: int | None = None,
    operator: str = ENGINE,
    reason: str = "",
    details: str = "",
) -> None:
    conn.execute(
        queries()["insert_event"],
        {
            "at_us": at_us,
            "action": action,
            "message_id": message_id,
            "entry_id": entry_id,
            "operator": operator,
            "reason": reason,
            "details": details,
        },
    )


def _one(cursor: sqlite3.Cursor) -> Any:
    row = cursor.fetchone()
    if row is None:
        raise StoreError("the store's tables are inconsistent: an expected row is missing")
    return row


def _queue(
    conn: sqlite3.Connection,
    message_id: int,
    destination: str,
    now_us: int,
    *,
    replayed: bool,
    operator: str = ENGINE,
    reason: str = "",
) -> int:
    cursor = conn.execute(
        queries()["insert_entry"],
        {
            "message_id": message_id,
            "destination": destination,
            "replayed": replayed,
            "created_us": now_us,
        },
    )
    entry_id = cursor.lastrowid
    assert entry_id is not None
    _event(
        conn,
        now_us,
        "replayed" if replayed else "queued",
        message_id=message_id,
        entry_id=entry_id,
        operator=operator,
        reason=reason,
        details=f"destination={destination}",
    )
    return entry_id


def claim(
    conn: sqlite3.Connection, destination: str, *, owner: str, fence: int, now_us: int
) -> Delivery | None:
    q = queries()
    head = conn.execute(q["head"], {"destination": destination}).fetchone()
    if head is None or head[1] not in (EntryState.QUEUED, EntryState.RETRYING):
        return None  # empty, already in flight, or held: the stream waits
    entry_id, _, attempts, message_id = head
    conn.execute(
        q["claim_entry"], {"entry_id": entry_id, "owner": owner, "fence": fence, "now_us": now_us}
    )
    payload, control_id = _one(conn.execute(q["delivery_payload"], {"message_id": message_id}))
    _event(
        conn,
        now_us,
        "claimed",
        message_id=message_id,
        entry_id=entry_id,
        details=f"destination={destination} owner={owner} fence={fence} attempt={attempts + 1}",
    )
    return Delivery(
        entry_id=entry_id,
        message_id=message_id,
        destination=destination,
        payload=payload,
        control_id=control_id,
        attempts=attempts + 1,
        fence=fence,
    )


def settle(
    conn: sqlite3.Connection,
    delivery: Delivery,
    *,
    ack: AckRecord,
    failure: Failure | None,
    now_us: int,
) -> bool:
    state = _SETTLED_STATE[failure]
    cursor = conn.execute(
        queries()["settle_entry"],
        {
            "entry_id": delivery.entry_id,
            "state": state.value,
            "fence": delivery.fence,
            "attempts": delivery.attempts,
            "ack_code": ack.code,
            "ack_control_id": ack.control_id,
            "ack_text": ack.text,
            "ack_latency": ack.latency_seconds,
            "failed": failure is not None,
            "now_us": now_us,
        },
    )
    if cursor.rowcount != 1:
        return False  # no longer in flight under this fence and attempt: a stale worker
    _event(
        conn,
        now_us,
        _SETTLED_ACTION[state],
        message_id=delivery.message_id,
        entry_id=delivery.entry_id,
        details=f"ack={ack.code or '-'} attempt={delivery.attempts} {ack.text}".rstrip(),
    )
    return True


def recover(conn: sqlite3.Connection, *, owner: str | None, now_us: int) -> int:
    rows = conn.execute(queries()["recover_entries"], {"owner": owner}).fetchall()
    for entry_id, message_id in rows:
        _event(
            conn, now_us, "recovered", message_id=message_id, entry_id=entry_id, details="queued"
        )
    return len(rows)


def release(
    conn: sqlite3.Connection,
    destination: str,
    *,
    operator: str,
    reason: str,
    entry_ids: Sequence[int] | None,
    include_dead: bool,
    now_us: int,
) -> int:
    q = queries()
    wanted = None if entry_ids is None else json.dumps([int(i) for i in entry_ids])
    rows = conn.execute(
        q["releasable"],
        {"destination": destination, "include_dead": include_dead, "entry_ids": wanted},
    ).fetchall()
    for entry_id, message_id, state in rows:
        conn.execute(q["release_entry"], {"entry_id": entry_id})
        _event(
            conn,
            now_us,
            "released",
            message_id=message_id,
            entry_id=entry_id,
            operator=operator,
            reason=reason,
            details=f"from={state}",
        )
    return len(rows)


def replay(
    conn: sqlite3.Connection,
    message_ids: Sequence[int],
    destination: str,
    *,
    operator: str,
    reason: str,
    now_us: int,
) -> list[int]:
    wanted = [int(i) for i in message_ids]
    rows = conn.execute(queries()["existing_messages"], {"ids": json.dumps(wanted)}).fetchall()
    missing = sorted(set(wanted) - {int(r[0]) for r in rows})
    if missing:
        raise StoreError(f"cannot replay unknown message ids {missing}")
    return [
        _queue(conn, mid, destination, now_us, replayed=True, operator=operator, reason=reason)
        for mid in wanted
    ]


def audit(
    conn: sqlite3.Connection,
    action: str,
    *,
    operator: str,
    reason: str,
    details: str,
    message_id: int | None,
    entry_id: int | None,
    now_us: int,
) -> None:
    _event(
        conn,
        now_us,
        action,
        message_id=message_id,
        entry_id=entry_id,
        operator=operator,
        reason=reason,
        details=details,
    )


def prune_batch(conn: sqlite3.Connection, *, cutoff_us: int, batch: int) -> tuple[int, int]:
    """Delete up to ``batch`` fully settled messages older than the cutoff, with their rows."""
    q = queries()
    ids = [int(r[0]) for r in conn.execute(q["prunable"], {"cutoff": cutoff_us, "batch": batch})]
    if not ids:
        return 0, 0
    listed = json.dumps(ids)
    entries = int(_one(conn.execute(q["count_entries_of"], {"ids": listed}))[0])
    conn.execute(q["delete_messages"], {"ids": listed})
    return len(ids), entries


def vacuum(conn: sqlite3.Connection) -> int:
    """Give free pages back to the file system; returns the bytes the file shrank by."""
    page_size = int(conn.execute("PRAGMA page_size").fetchone()[0])
    before = int(conn.execute("PRAGMA page_count").fetchone()[0])
    free = int(conn.execute("PRAGMA freelist_count").fetchone()[0])
    for _ in range(free):  # sqlite3 steps a row-less statement once: one page per execute
        conn.execute("PRAGMA incremental_vacuum")
    after = int(conn.execute("PRAGMA page_count").fetchone()[0])
    return max(0, before - after) * page_size
