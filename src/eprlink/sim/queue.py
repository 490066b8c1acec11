"""The persistent FIFO queue of one outbound link, in an SQLite file of the simulator's own.

A message leaves the queue only when the peer's AA/CA names it (reference §2), so a restart of
the simulator resends the head, as the CareFlow IE would. Acknowledged and skipped messages
are kept in side tables as a journal of what happened to each one.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

__all__ = ["Finished", "LinkQueue", "QueuedMessage"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS queue (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    control_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    fault TEXT NOT NULL DEFAULT '',
    payload BLOB NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    queued_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS finished (
    id INTEGER PRIMARY KEY,
    control_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    fault TEXT NOT NULL,
    outcome TEXT NOT NULL,
    code TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    finished_at TEXT NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class QueuedMessage:
    """The head of a queue: what to send, and how often it has been sent."""

    id: int
    control_id: str
    kind: str
    fault: str
    payload: bytes
    attempts: int


@dataclass(frozen=True, slots=True)
class Finished:
    """A message that left the queue: ``outcome`` is ``acknowledged`` or ``skipped``."""

    id: int
    control_id: str
    kind: str
    fault: str
    outcome: str
    code: str
    attempts: int


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class LinkQueue:
    """FIFO of payloads for one link; ``path`` None keeps it in memory (tests, the demo).

    Calls are synchronous and short (one small transaction each); the simulator runs them on
    its event loop, which is fine at simulator volumes.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(":memory:" if path is None else str(path), isolation_level=None)
        if path is not None:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def push(self, payload: bytes, *, control_id: str, kind: str, fault: str = "") -> int:
        cursor = self._db.execute(
            "INSERT INTO queue (control_id, kind, fault, payload, queued_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (control_id, kind, fault, payload, _now()),
        )
        return int(cursor.lastrowid or 0)

    def head(self) -> QueuedMessage | None:
        row = self._db.execute(
            "SELECT id, control_id, kind, fault, payload, attempts FROM queue ORDER BY id LIMIT 1"
        ).fetchone()
        if row is None:
            return None
        return QueuedMessage(row[0], row[1], row[2], row[3], bytes(row[4]), row[5])

    def attempted(self, entry: int) -> None:
        """Count a send of ``entry`` (before its answer, so a crash still counts it)."""
        self._db.execute("UPDATE queue SET attempts = attempts + 1 WHERE id = ?", (entry,))

    def _finish(self, entry: int, outcome: str, code: str) -> None:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute(
                "INSERT INTO finished (id, control_id, kind, fault, outcome, code, attempts, "
                "finished_at) SELECT id, control_id, kind, fault, ?, ?, attempts, ? "
                "FROM queue WHERE id = ?",
                (outcome, code, _now(), entry),
            )
            db.execute("DELETE FROM queue WHERE id = ?", (entry,))
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def acknowledged(self, entry: int, code: str) -> None:
        """The peer answered AA/CA: the message leaves the queue."""
        self._finish(entry, "acknowledged", code)

    def skipped(self, entry: int, code: str) -> None:
        """The peer answered AE/AR and the link skips such messages: set aside, logged."""
        self._finish(entry, "skipped", code)

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM queue").fetchone()[0])

    def pending(self) -> list[QueuedMessage]:
        rows = self._db.execute(
            "SELECT id, control_id, kind, fault, payload, attempts FROM queue ORDER BY id"
        ).fetchall()
        return [QueuedMessage(r[0], r[1], r[2], r[3], bytes(r[4]), r[5]) for r in rows]

    def finished(self, outcome: str | None = None) -> list[Finished]:
        """The journal in the order messages left the queue (optionally one outcome only)."""
        query = "SELECT id, control_id, kind, fault, outcome, code, attempts FROM finished"
        rows = (
            self._db.execute(query + " ORDER BY rowid").fetchall()
            if outcome is None
            else self._db.execute(query + " WHERE outcome = ? ORDER BY rowid", (outcome,))
        )
        return [Finished(*row) for row in rows]

    def close(self) -> None:
        self._db.close()
