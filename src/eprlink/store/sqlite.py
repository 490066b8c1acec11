"""The embedded default store: SQLite in WAL mode with synchronous=FULL and group commit."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import TypeVar

from eprlink.store import sqlite_read as read
from eprlink.store import sqlite_write as write
from eprlink.store.errors import StoreError
from eprlink.store.model import (
    AcceptOutcome,
    AckRecord,
    AuditEvent,
    Delivery,
    Failure,
    InboundMessage,
    MessageQuery,
    MessageSummary,
    PruneResult,
    QueueStats,
    Reconciliation,
    StoredMessage,
)
from eprlink.store.sqlite_accept import AcceptRequest, accept_many
from eprlink.store.sqlite_schema import check_durability, map_error, migrate, to_us
from eprlink.store.sqlite_writer import Writer

__all__ = ["SQLiteStore"]

_log = logging.getLogger(__name__)
T = TypeVar("T")
_MICROSECOND = timedelta(microseconds=1)


def _now_us() -> int:
    return to_us(datetime.now(UTC))


class SQLiteStore:
    """A :class:`~eprlink.store.protocol.Store` in one SQLite file.

    Every write goes to one writer thread that owns the only writing connection and commits
    whatever has arrived while its previous commit was syncing in one transaction (group
    commit, see :mod:`eprlink.store.sqlite_writer`). Reads use a second connection on their
    own thread; WAL lets them run beside the writer. The event loop never waits on SQLite.

    ``busy_timeout`` bounds the wait for a lock held by another process (F27); then the call
    fails with StoreUnavailableError. ``reserve_pages`` keeps that much headroom under
    ``PRAGMA max_page_count`` for queue work, and ``min_free_disk`` (bytes, the policy's
    free-disk watermark) turns intake away while the volume is short of space (P10, F9).
    ``integrity_check`` runs ``PRAGMA quick_check`` at open() and refuses a damaged file (F29).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        busy_timeout: float = 5.0,
        integrity_check: bool = True,
        reserve_pages: int = 256,
        min_free_disk: int | None = None,
        max_group: int = 512,
        group_wait: float = 0.0005,
        prune_batch: int = 500,
    ) -> None:
        self._path = os.fspath(path)
        self._busy_timeout = busy_timeout
        self._integrity_check = integrity_check
        self._reserve_pages = reserve_pages
        self._min_free_disk = min_free_disk
        self._max_group = max_group
        self._group_wait = group_wait
        self._prune_batch = prune_batch
        self._writer: Writer | None = None
        self._reader_pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._reader: sqlite3.Connection | None = None
        self._commits_before = 0
        self._requests_before = 0

    @property
    def commits(self) -> int:
        """Write transactions committed since construction (fewer than writes: group commit)."""
        return self._commits_before + (self._writer.commits if self._writer else 0)

    @property
    def committed_requests(self) -> int:
        """Write requests (accept, claim, settle …) committed since construction."""
        return self._requests_before + (self._writer.committed_requests if self._writer else 0)

    def _durability_pragmas(self) -> tuple[str, ...]:
        """The settings P1 requires. Test-only seam: a subclass returning others (for example
        ``synchronous = NORMAL``) shows that open() refuses to run."""
        return ("PRAGMA journal_mode = WAL", "PRAGMA synchronous = FULL")

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self._path, timeout=self._busy_timeout, isolation_level=None, cached_statements=256
        )
        conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout * 1000)}")
        return conn

    def _open_writer(self) -> sqlite3.Connection:
        """Runs on the writer thread: settings, durability check, integrity, migrations."""
        conn = self._connect()
        try:
            if int(conn.execute("PRAGMA page_count").fetchone()[0]) == 0:
                conn.execute("PRAGMA auto_vacuum = INCREMENTAL")  # only before the first table
            for pragma in self._durability_pragmas():
                conn.execute(pragma).fetchall()
            conn.execute("PRAGMA foreign_keys = ON")
            check_durability(conn)
            if self._integrity_check:
                verdict = [row[0] for row in conn.execute("PRAGMA quick_check")]
                if verdict != ["ok"]:
                    raise StoreError(f"SQLite integrity check failed ({len(verdict)} problems)")
            version = migrate(conn)
            _log.info("sqlite store open", extra={"action": "store_open", "schema": version})
        except sqlite3.Error as exc:
            conn.close()
            raise StoreError(f"cannot open the SQLite store: {map_error(exc, 'open')}") from exc
        except BaseException:
            conn.close()
            raise
        return conn

    async def open(self) -> None:
        if self._writer is not None:
            return
        writer = Writer(
            self._open_writer,
            path=self._path,
            reserve_pages=self._reserve_pages,
            min_free_disk=self._min_free_disk,
            max_group=self._max_group,
            group_wait=self._group_wait,
        )
        await writer.start()
        self._writer = writer
        self._reader_pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="eprlink-sqlite-reader"
        )
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._reader_pool, self._open_reader)
        except sqlite3.Error as exc:
            await self.close()
            raise StoreError(f"cannot open the SQLite store: {map_error(exc, 'open')}") from exc

    def _open_reader(self) -> None:
        self._reader = self._connect()
        self._reader.execute("PRAGMA query_only = ON")

    async def close(self) -> None:
        """Commits what is already queued, then closes both connections."""
        writer, pool = self._writer, self._reader_pool
        self._writer, self._reader_pool = None, None
        if writer is not None:
            await writer.stop()
            self._commits_before += writer.commits
            self._requests_before += writer.committed_requests
        if pool is not None:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(pool, self._close_reader)
            pool.shutdown(wait=True)

    def _close_reader(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    async def _write(
        self,
        operation: str,
        work: Callable[[sqlite3.Connection], T],
        *,
        intake_bytes: int | None = None,
    ) -> T:
        if self._writer is None:
            raise StoreError("the store is not open")
        return await self._writer.submit(operation, work, intake_bytes=intake_bytes)

    async def _read(self, operation: str, work: Callable[[sqlite3.Connection], T]) -> T:
        if self._reader_pool is None:
            raise StoreError("the store is not open")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._reader_pool, self._run_read, operation, work)

    def _run_read(self, operation: str, work: Callable[[sqlite3.Connection], T]) -> T:
        conn = self._reader
        if conn is None:
            raise StoreError("the store is not open")
        try:
            conn.execute("BEGIN")  # one snapshot for every statement of this read
            try:
                return work(conn)
            finally:
                conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise map_error(exc, operation) from exc

    async def set_max_pages(self, pages: int) -> int:
        """Cap the database at ``pages`` pages (``PRAGMA max_page_count`` on the writer).

        SQLite never lowers the cap below the current size; returns the cap in force. Used to
        rehearse a full disk (F8) and to bound growth; raising it again resumes intake.
        """

        writer = self._writer

        def work(conn: sqlite3.Connection) -> int:
            cap = int(conn.execute(f"PRAGMA max_page_count = {int(pages)}").fetchone()[0])
            if writer is not None:
                writer.forget_room()
            return cap

        return await self._write("set_max_pages", work)

    async def accept(
        self,
        messages: Sequence[InboundMessage],
        *,
        dedupe_window: timedelta,
        reject_collisions: bool = False,
        now: datetime | None = None,
    ) -> list[AcceptOutcome]:
        if self._writer is None:
            raise StoreError("the store is not open")
        batch = list(messages)
        request = AcceptRequest(
            messages=batch,
            window_us=dedupe_window // _MICROSECOND,
            reject_collisions=reject_collisions,
            now_us=_now_us() if now is None else to_us(now),
        )
        size = sum(len(m.payload) + 512 for m in batch)
        outcomes: list[AcceptOutcome] = await self._writer.submit_combined(
            "accept", accept_many, request, intake_bytes=size
        )
        return outcomes

    async def claim(self, destination: str, *, owner: str, fence: int = 0) -> Delivery | None:
        work = partial(
            write.claim, destination=destination, owner=owner, fence=fence, now_us=_now_us()
        )
        return await self._write("claim", work)

    async def settle(
        self, delivery: Delivery, *, ack: AckRecord, failure: Failure | None = None
    ) -> bool:
        work = partial(write.settle, delivery=delivery, ack=ack, failure=failure, now_us=_now_us())
        return await self._write("settle", work)

    async def recover(self, *, owner: str | None = None) -> int:
        return await self._write("recover", partial(write.recover, owner=owner, now_us=_now_us()))

    async def release(
        self,
        destination: str,
        *,
        operator: str,
        reason: str,
        entry_ids: Sequence[int] | None = None,
        include_dead: bool = False,
    ) -> int:
        work = partial(
            write.release,
            destination=destination,
            operator=operator,
            reason=reason,
            entry_ids=None if entry_ids is None else list(entry_ids),
            include_dead=include_dead,
            now_us=_now_us(),
        )
        return await self._write("release", work)

    async def replay(
        self, message_ids: Sequence[int], destination: str, *, operator: str, reason: str
    ) -> list[int]:
        work = partial(
            write.replay,
            message_ids=list(message_ids),
            destination=destination,
            operator=operator,
            reason=reason,
            now_us=_now_us(),
        )
        return await self._write("replay", work)

    async def message(self, message_id: int) -> StoredMessage | None:
        return await self._read("message", partial(read.message, message_id=message_id))

    async def search(self, query: MessageQuery) -> list[MessageSummary]:
        return await self._read("search", partial(read.search, query=query))

    async def stats(self, *, now: datetime | None = None) -> list[QueueStats]:
        return await self._read("stats", read.stats)

    async def reconcile(self, channel: str, day: date) -> Reconciliation:
        return await self._read("reconcile", partial(read.reconcile, channel=channel, day=day))

    async def control_ids(self, channel: str, start: datetime, end: datetime) -> list[str]:
        work = partial(read.control_ids, channel=channel, start=start, end=end)
        return await self._read("control_ids", work)

    async def audit(
        self,
        action: str,
        *,
        operator: str,
        reason: str,
        details: str = "",
        message_id: int | None = None,
        entry_id: int | None = None,
    ) -> None:
        work = partial(
            write.audit,
            action=action,
            operator=operator,
            reason=reason,
            details=details,
            message_id=message_id,
            entry_id=entry_id,
            now_us=_now_us(),
        )
        await self._write("audit", work)

    async def events(self, *, message_id: int | None = None, limit: int = 100) -> list[AuditEvent]:
        return await self._read("events", partial(read.events, message_id=message_id, limit=limit))

    async def prune(self, *, older_than: datetime) -> PruneResult:
        """Delete in batches of ``prune_batch`` messages, one transaction each, so intake keeps
        its latency; then give the freed pages back (auto_vacuum=INCREMENTAL)."""
        cutoff_us = to_us(older_than)
        messages = entries = 0
        while True:
            work = partial(write.prune_batch, cutoff_us=cutoff_us, batch=self._prune_batch)
            pruned, removed = await self._write("prune", work)
            messages += pruned
            entries += removed
            if pruned < self._prune_batch:
                break
        reclaimed = await self._write("vacuum", write.vacuum)
        details = f"messages={messages} entries={entries} bytes={reclaimed}"
        await self.audit("pruned", operator="engine", reason="retention", details=details)
        return PruneResult(messages=messages, entries=entries, bytes_reclaimed=reclaimed)
