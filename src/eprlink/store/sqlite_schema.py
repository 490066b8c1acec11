"""SQLite plumbing: named queries, versioned migrations, durability pragmas and error mapping."""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime, timedelta
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable

from eprlink.store.errors import DurabilityError, StoreError, StoreUnavailableError
from eprlink.store.sqlfiles import named_statements

__all__ = [
    "check_durability",
    "from_us",
    "map_error",
    "migrate",
    "queries",
    "to_us",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MIGRATION = re.compile(r"^(\d{4})_(\w+)\.sql$")
_SYNCHRONOUS_FULL = 2


def to_us(moment: datetime) -> int:
    """Microseconds since the epoch; a naive datetime is taken to be UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


def _sql_dir() -> Traversable:
    return resources.files("eprlink.store").joinpath("sql", "sqlite")


@cache
def queries() -> dict[str, str]:
    """The named statements of queries.sql, read once per process."""
    return named_statements(_sql_dir().joinpath("queries.sql"))


def _migrations() -> list[tuple[int, str, str]]:
    """(version, name, script) of every migration file, in version order."""
    found = []
    for item in _sql_dir().iterdir():
        match = _MIGRATION.match(item.name)
        if match:
            found.append((int(match.group(1)), match.group(2), item.read_text(encoding="utf-8")))
    found.sort()
    versions = [version for version, _, _ in found]
    if versions != list(range(1, len(versions) + 1)):
        raise StoreError(f"migration versions are not 1..n without gaps: {versions}")
    return found


def _statements(script: str) -> list[str]:
    """Split a script on statement boundaries as SQLite itself sees them (triggers included)."""
    statements: list[str] = []
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            if pending.strip():
                statements.append(pending.strip())
            pending = ""
    if pending.strip() and not all(
        not part.strip() or part.lstrip().startswith("--") for part in pending.splitlines()
    ):
        raise StoreError("a migration ends with an incomplete statement")
    return statements


def migrate(conn: sqlite3.Connection) -> int:
    """Apply pending migrations, each in its own transaction; returns the schema version.

    The version is read under the write lock (BEGIN IMMEDIATE), so two processes opening one
    new database cannot both apply the same migration.
    """
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_version ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_us INTEGER NOT NULL)"
    )
    version = 0
    for number, name, script in _migrations():
        conn.execute("BEGIN IMMEDIATE")
        try:
            row = conn.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()
            version = int(row[0])
            if number > version:
                for statement in _statements(script):
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO schema_version (version, name, applied_us) VALUES (?, ?, ?)",
                    (number, name, to_us(datetime.now(UTC))),
                )
                version = number
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    known = len(_migrations())
    if version > known:
        raise StoreError(f"database schema version {version} is newer than this eprlink ({known})")
    return version


def check_durability(conn: sqlite3.Connection) -> None:
    """Read the settings back (P1): WAL and synchronous=FULL, or refuse to run."""
    mode = str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower()
    synchronous = int(conn.execute("PRAGMA synchronous").fetchone()[0])
    if mode != "wal":
        raise DurabilityError(f"SQLite journal_mode is {mode!r}, not 'wal' (P1)")
    if synchronous != _SYNCHRONOUS_FULL:
        raise DurabilityError(f"SQLite synchronous is {synchronous}, not FULL (2) (P1)")


def map_error(exc: sqlite3.Error, operation: str) -> StoreError:
    """A driver error as a store error: the reason and code, never a bound value (no PHI)."""
    code = getattr(exc, "sqlite_errorname", "") or type(exc).__name__
    reason = str(exc.args[0]) if exc.args else code
    text = f"SQLite {operation} failed: {reason} ({code})"
    if isinstance(exc, sqlite3.ProgrammingError | sqlite3.InterfaceError):
        return StoreError(text)
    return StoreUnavailableError(text)
