"""The SQLite writer thread: the only writing connection, committing requests in groups."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import os
import queue
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from eprlink.store.errors import StoreError, StoreUnavailableError
from eprlink.store.sqlite_schema import map_error

__all__ = ["Writer"]

_log = logging.getLogger(__name__)
T = TypeVar("T")
_STOP = object()


@dataclass(slots=True)
class _Request:
    """One caller's write, waiting to be committed with whatever else has arrived."""

    operation: str
    work: Callable[[sqlite3.Connection], object]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]
    intake_bytes: int | None  # set for accept(): intake may be refused under disk pressure


def _complete(future: asyncio.Future[Any], value: object, error: BaseException | None) -> None:
    if future.done():  # the caller was cancelled, or already answered; the write stands
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)


class Writer:
    """Group commit: the thread drains every request that arrived while its previous commit
    was syncing and commits them in one transaction, each in its own savepoint, then answers
    each caller. One fsync serves many inbound connections; one failing request fails alone.

    Intake (accept) is refused before the database runs out of room: ``reserve_pages`` pages
    under ``max_page_count`` stay for queue work, and ``min_free_disk`` bytes on the volume
    (P10, F8, F9), so queues keep draining while new messages are turned away.
    """

    def __init__(
        self,
        connect: Callable[[], sqlite3.Connection],
        *,
        path: str,
        reserve_pages: int,
        min_free_disk: int | None,
        max_group: int,
        group_wait: float,
    ) -> None:
        self._connect = connect
        self._group_wait = group_wait
        self._directory = os.path.dirname(os.path.abspath(path))
        self._reserve_pages = reserve_pages
        self._min_free_disk = min_free_disk
        self._max_group = max_group
        self._inbox: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._stopped = False
        self._disk_checked = -1.0
        self._disk_low = False
        self.commits = 0
        self.committed_requests = 0

    async def start(self) -> None:
        """Open the connection on the thread; raises whatever opening raised."""
        ready: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._thread = threading.Thread(
            target=self._run, args=(ready,), name="eprlink-sqlite-writer", daemon=True
        )
        self._thread.start()
        try:
            await asyncio.wrap_future(ready)
        except BaseException:
            await asyncio.to_thread(self._thread.join)
            self._stopped = True
            raise

    async def stop(self) -> None:
        """Commit what is queued, refuse anything later, close the connection."""
        if self._thread is None or self._stopped:
            return
        self._stopped = True
        self._inbox.put(_STOP)
        await asyncio.to_thread(self._thread.join)

    async def submit(
        self,
        operation: str,
        work: Callable[[sqlite3.Connection], T],
        *,
        intake_bytes: int | None = None,
    ) -> T:
        if self._thread is None or self._stopped:
            raise StoreError("the store is not open")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._inbox.put(_Request(operation, work, loop, future, intake_bytes))
        return cast(T, await future)

    def _run(self, ready: concurrent.futures.Future[None]) -> None:
        try:
            conn = self._connect()
        except BaseException as exc:
            ready.set_exception(exc)
            return
        ready.set_result(None)
        try:
            stopping = False
            expected = 1
            while not stopping:
                group, stopping = self._gather(expected)
                if group:
                    self._commit_safely(conn, group)
                    expected = min(len(group), self._max_group)
            while True:  # anything that raced with stop() is refused, never left hanging
                try:
                    item = self._inbox.get_nowait()
                except queue.Empty:
                    break
                if isinstance(item, _Request):
                    self._answer(item, None, StoreError("the store is closed"))
        finally:
            conn.close()

    def _gather(self, expected: int) -> tuple[list[_Request], bool]:
        """The next group: everything already waiting, and when the last group had several
        callers, up to ``group_wait`` more for them to come back (they usually do at once),
        so that concurrent senders keep sharing one fsync. A lone sender never waits."""
        group: list[_Request] = []
        item = self._inbox.get()
        deadline = time.monotonic() + self._group_wait
        while True:
            if item is _STOP:
                return group, True
            group.append(cast(_Request, item))
            if len(group) >= self._max_group:
                return group, False
            try:
                item = self._inbox.get_nowait()
            except queue.Empty:
                left = deadline - time.monotonic()
                if len(group) >= expected or left <= 0:
                    return group, False
                try:
                    item = self._inbox.get(timeout=left)
                except queue.Empty:
                    return group, False

    def _answer(self, request: _Request, value: object, error: BaseException | None) -> None:
        if isinstance(error, StoreUnavailableError):
            _log.warning(
                "store cannot commit",
                extra={
                    "action": "store_unavailable",
                    "operation": request.operation,
                    "reason": str(error),
                },
            )
        with contextlib.suppress(RuntimeError):  # the caller's loop has gone away
            request.loop.call_soon_threadsafe(_complete, request.future, value, error)

    def _commit_safely(self, conn: sqlite3.Connection, group: list[_Request]) -> None:
        """Keep the thread alive whatever happens: no caller may be left waiting."""
        try:
            self._commit_group(conn, group)
        except Exception as exc:
            _log.exception("writer failed a group", extra={"action": "writer_error"})
            error = map_error(exc, "write") if isinstance(exc, sqlite3.Error) else exc
            for request in group:  # those already answered keep their answer
                self._answer(request, None, error)
            try:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
            except sqlite3.Error:
                _log.warning("rollback failed", extra={"action": "writer_error"})

    def _commit_group(self, conn: sqlite3.Connection, group: list[_Request]) -> None:
        """Commit as many of the group's requests as can be, in one transaction.

        A request that fails is rolled back to its savepoint and failed alone. When SQLite
        rolled the whole transaction back by itself (disk full, I/O error), the requests done
        so far run again in a new transaction without the one that failed.
        """
        pending = group
        while pending:
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                for request in pending:
                    self._answer(request, None, map_error(exc, request.operation))
                return
            done: list[tuple[_Request, object]] = []
            redo: list[_Request] | None = None
            for index, request in enumerate(pending):
                refusal = self._intake_refusal(conn, request)
                if refusal is not None:
                    self._answer(request, None, refusal)
                    continue
                try:
                    conn.execute("SAVEPOINT request")
                    value = request.work(conn)
                    conn.execute("RELEASE request")
                except Exception as exc:
                    error = (
                        map_error(exc, request.operation) if isinstance(exc, sqlite3.Error) else exc
                    )
                    self._answer(request, None, error)
                    if not self._rollback_request(conn):
                        redo = [r for r, _ in done] + pending[index + 1 :]
                        break
                    continue
                done.append((request, value))
            if redo is not None:
                pending = redo
                continue
            try:
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if len(done) == 1:
                    self._answer(done[0][0], None, map_error(exc, done[0][0].operation))
                else:  # find out which request the commit cannot take: each on its own
                    for request, _ in done:
                        self._commit_group(conn, [request])
                return
            self.commits += 1
            self.committed_requests += len(done)
            if len(done) > 1:
                _log.debug("group commit", extra={"action": "group_commit", "size": len(done)})
            for request, value in done:
                self._answer(request, value, None)
            return

    def _rollback_request(self, conn: sqlite3.Connection) -> bool:
        """Undo one request; False when the whole transaction is gone with it."""
        if not conn.in_transaction:
            return False
        try:
            conn.execute("ROLLBACK TO request")
            conn.execute("RELEASE request")
        except sqlite3.Error:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            return False
        return True

    def _intake_refusal(
        self, conn: sqlite3.Connection, request: _Request
    ) -> StoreUnavailableError | None:
        if request.intake_bytes is None:
            return None
        if self._min_free_disk is not None:
            now = time.monotonic()
            if self._disk_low or now - self._disk_checked >= 1.0:
                self._disk_low = shutil.disk_usage(self._directory).free < self._min_free_disk
                self._disk_checked = now
            if self._disk_low:
                return StoreUnavailableError("free disk space is below the watermark")
        if self._reserve_pages <= 0:  # no headroom kept: SQLite's own SQLITE_FULL answers
            return None
        limit = int(conn.execute("PRAGMA max_page_count").fetchone()[0])
        used = int(conn.execute("PRAGMA page_count").fetchone()[0])
        free = int(conn.execute("PRAGMA freelist_count").fetchone()[0])
        page_size = int(conn.execute("PRAGMA page_size").fetchone()[0])
        needed = self._reserve_pages + request.intake_bytes // page_size + 1
        if limit - used + free < needed:
            return StoreUnavailableError("the database is full (max_page_count reached)")
        return None
