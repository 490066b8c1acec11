"""PostgreSQL plumbing: named queries, versioned migrations, durability check and error mapping."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from typing import LiteralString

import psycopg

from eprlink.store.errors import DurabilityError, StoreError, StoreUnavailableError
from eprlink.store.sqlfiles import named_statements

__all__ = [
    "RETRYABLE_SQLSTATES",
    "Migration",
    "check_durability",
    "check_schema_name",
    "map_error",
    "migration_lock_key",
    "migrations",
    "queries",
    "utc",
]

_MIGRATION = re.compile(r"^(\d{4})_(\w+)\.sql$")
_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]{0,47}$")

# Values of synchronous_commit that wait for the local WAL flush before COMMIT returns: every
# value but "off" does (remote_* and "local" differ only in what standbys must confirm).
_DURABLE_SYNC = frozenset({"on", "local", "remote_write", "remote_apply"})

# Serialization failure and deadlock: the transaction was rolled back whole and may be rerun.
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})


def utc(moment: datetime) -> datetime:
    """An aware UTC datetime; a naive one is taken to be UTC (as the SQLite store does)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def check_schema_name(schema: str) -> str:
    """Schema names go into LISTEN channels and search_path: plain lower-case identifiers only."""
    if not _SCHEMA.match(schema):
        raise StoreError(
            f"PostgreSQL schema name {schema!r}: expected lower-case letters, digits and "
            "underscores, starting with a letter or underscore, at most 48 characters"
        )
    return schema


def _sql_dir() -> Traversable:
    return resources.files("eprlink.store").joinpath("sql", "postgres")


@cache
def queries() -> dict[str, LiteralString]:
    """The named statements of queries.sql, read once per process.

    The text comes from a file shipped with the package, never from input: LiteralString, as
    psycopg asks for.
    """
    # Package data, never input: safe to treat as literal SQL, as psycopg asks.
    return named_statements(_sql_dir().joinpath("queries.sql"))


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    text: LiteralString


@cache
def migrations() -> tuple[Migration, ...]:
    """NNNN_name.sql files in version order; a gap or a repeated number is a packaging error."""
    found: list[Migration] = []
    for entry in _sql_dir().iterdir():
        match = _MIGRATION.match(entry.name)
        if match:
            text = entry.read_text(encoding="utf-8")
            found.append(Migration(int(match.group(1)), match.group(2), text))
    found.sort(key=lambda m: m.version)
    if [m.version for m in found] != list(range(1, len(found) + 1)):
        raise StoreError("PostgreSQL migrations must be numbered 0001, 0002 … without gaps")
    return tuple(found)


def migration_lock_key(schema: str) -> int:
    """A stable advisory-lock key per schema, the same in every process (unlike hash())."""
    digest = hashlib.sha256(f"eprlink.migrate:{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def check_durability(synchronous_commit: str, fsync: str) -> None:
    """P1: COMMIT must mean "on disk". Read back per session, since a role or database setting
    (ALTER ROLE … SET synchronous_commit = off) would silently apply to every connection."""
    problems = []
    if synchronous_commit.lower() not in _DURABLE_SYNC:
        problems.append(f"synchronous_commit={synchronous_commit}")
    if fsync.lower() != "on":
        problems.append(f"fsync={fsync}")
    if problems:
        raise DurabilityError(
            "PostgreSQL is not durable (" + ", ".join(problems) + "): eprlink acknowledges only "
            "committed messages and needs synchronous_commit=on and fsync=on (P1)"
        )


def map_error(exc: BaseException, action: str) -> StoreError:
    """A foreign error as a StoreError, naming the class and SQLSTATE but never the server's
    message text, which can quote row values (patient data)."""
    if isinstance(exc, StoreError):
        return exc
    sqlstate = getattr(exc, "sqlstate", None)
    what = type(exc).__name__ + (f" [{sqlstate}]" if sqlstate else "")
    if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError | OSError):
        return StoreUnavailableError(f"PostgreSQL unavailable during {action}: {what}")
    return StoreError(f"PostgreSQL failed during {action}: {what}")
