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
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from eprlink.store.errors import StoreError, StoreUnavailableError
from eprlink.store.sqlite_schema import map_error

__all__ = ["Writer"]

_log = logging.getLogger(__name__)
_ROOM_QUERY = (
    "SELECT * FROM pragma_max_page_count(), pragma_page_count(), pragma_freelist_count(),"
    " pragma_page_size()"
)
T = TypeVar("T")
_STOP = object()


Combine = Callable[[sqlite3.Connection, list[Any]], list[Any]]
_ROOM_SLACK = 16_384  # pages: closer than this to max_page_count, measure every transaction
_ROOM_MAX_AGE = 1.0  # seconds: other connections to the file grow it too


@dataclass(slots=True, eq=False)
class _Request:
    """One caller's write, waiting to be committed with whatever else has arrived.

    A request either has its own ``work``, or an ``item`` for ``combine``, which takes the
    items of every such request in the group at once (intake: one statement per table for the
    whole group instead of several per message) and returns one value per item.
    """

    operation: str
    work: Callable[[sqlite3.Connection], object] | None
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]
    intake_bytes: int | None  # set for accept(): intake may be refused under disk pressure
    combine: Combine | None = None
    item: object = None


def _steps(group: list[_Request]) -> list[list[_Request]]:
    """Requests sharing a ``combine`` run as one step, where the first of them arrived; the
    others run one by one, in arrival order."""
    steps: list[list[_Request]] = []
    combined: dict[Combine, list[_Request]] = {}
    for request in group:
        if request.combine is None:
            steps.append([request])
        elif request.combine in combined:
            combined[request.combine].append(request)
        else:
            combined[request.combine] = step = [request]
            steps.append(step)
    return steps


def _execute(conn: sqlite3.Connection, step: list[_Request]) -> list[object]:
    first = step[0]
    if first.combine is not None:
        values = first.combine(conn, [r.item for r in step])
        if len(values) != len(step):
            raise StoreError("a combined write returned the wrong number of results")
        return values
    assert first.work is not None
    return [first.work(conn)]


def _complete(future: asyncio.Future[Any], value: object, error: BaseException | None) -> None:
    if future.done():  # the caller was cancelled, or already answered; the write stands
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)


def _complete_all(answers: list[tuple[asyncio.Future[Any], object]]) -> None:
    for future, value in answers:
        _complete(future, value, None)


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
        self._room: int | None = None  # pages left under max_page_count when last measured
        self._room_spent = 0  # pages admitted intake may have used since (over-estimated)
        self._room_measured = -1.0
        self._page_size = 4096
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
        return cast(T, await self._submit(_Request(operation, work, *self._waiter(), intake_bytes)))

    async def submit_combined(
        self, operation: str, combine: Combine, item: object, *, intake_bytes: int | None = None
    ) -> Any:
        """Like submit(), but run together with the group's other requests for ``combine``;
        a failure of the combined step reruns each of them alone, so one fails alone."""
        request = _Request(operation, None, *self._waiter(), intake_bytes, combine, item)
        return await self._submit(request)

    def forget_room(self) -> None:
        """The page cap changed (writer thread only): measure the headroom afresh."""
        self._room = None

    def _waiter(self) -> tuple[asyncio.AbstractEventLoop, asyncio.Future[Any]]:
        if self._thread is None or self._stopped:
            raise StoreError("the store is not open")
        loop = asyncio.get_running_loop()
        return loop, loop.create_future()

    async def _submit(self, request: _Request) -> Any:
        self._inbox.put(request)
        return await request.future

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

    def _answer_committed(self, done: list[tuple[list[_Request], list[object]]]) -> None:
        """One wake-up per event loop for the whole group, not one per caller: each wake-up
        is a pipe write here and a loop iteration there, both contending for the GIL."""
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], object]]] = {}
        for step, values in done:
            for request, value in zip(step, values, strict=True):
                by_loop.setdefault(request.loop, []).append((request.future, value))
        for loop, answers in by_loop.items():
            with contextlib.suppress(RuntimeError):  # the caller's loop has gone away
                loop.call_soon_threadsafe(_complete_all, answers)

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

        Each step (one request, or every accept of the group combined) runs in a savepoint when
        the transaction holds more than that step; a lone step needs none, since rolling back
        the transaction undoes exactly it. A step that fails is rolled back: a lone request
        fails alone, a combined step is split and each of its requests runs again alone. When
        SQLite rolled the whole transaction back by itself (disk full, I/O error), the steps
        done so far run again in a new transaction.
        """
        steps = _steps(group)
        while steps:
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                for request in (r for step in steps for r in step):
                    self._answer(request, None, map_error(exc, request.operation))
                return
            steps = self._admit(conn, steps)
            done, redo = self._run_steps(conn, steps)
            if redo is not None:
                steps = redo
                continue
            if not done:  # everything was refused or failed: nothing to make durable
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                return
            try:
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                requests = [r for step, _ in done for r in step]
                if len(requests) == 1:
                    self._answer(requests[0], None, map_error(exc, requests[0].operation))
                else:  # find out which request the commit cannot take: each on its own
                    for request in requests:
                        self._commit_group(conn, [request])
                return
            committed = sum(len(step) for step, _ in done)
            self.commits += 1
            self.committed_requests += committed
            if committed > 1:
                _log.debug("group commit", extra={"action": "group_commit", "size": committed})
            self._answer_committed(done)
            return

    def _run_steps(
        self, conn: sqlite3.Connection, steps: list[list[_Request]]
    ) -> tuple[list[tuple[list[_Request], list[object]]], list[list[_Request]] | None]:
        """Run the steps inside the open transaction: (steps done with their values, None), or
        (…, the steps to run again) once the transaction was lost, rolled back here."""
        done: list[tuple[list[_Request], list[object]]] = []
        waiting = deque(steps)
        guarded = len(steps) > 1
        while waiting:
            step = waiting.popleft()
            try:
                if guarded:
                    conn.execute("SAVEPOINT request")
                values = _execute(conn, step)
                if guarded:
                    conn.execute("RELEASE request")
            except Exception as exc:
                intact = guarded and self._rollback_request(conn)
                if not intact and conn.in_transaction:
                    conn.execute("ROLLBACK")
                if len(step) > 1:  # which of the combined requests failed: each alone
                    alone = [[request] for request in step]
                    if not intact:
                        return done, [s for s, _ in done] + alone + list(waiting)
                    waiting.extendleft(reversed(alone))
                    continue
                error = map_error(exc, step[0].operation) if isinstance(exc, sqlite3.Error) else exc
                self._answer(step[0], None, error)
                if not intact:
                    return done, [s for s, _ in done] + list(waiting)
                continue
            done.append((step, values))
        return done, None

    def _rollback_request(self, conn: sqlite3.Connection) -> bool:
        """Undo one step; False when the whole transaction is gone with it."""
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

    def _admit(self, conn: sqlite3.Connection, steps: list[list[_Request]]) -> list[list[_Request]]:
        """The steps without the intake the store refuses now (answered here); other writes
        are never refused, so the queues keep draining (P10)."""
        intake = [r for step in steps for r in step if r.intake_bytes is not None]
        if not intake:
            return steps
        refused = self._refusals(conn, intake)
        if not refused:
            return steps
        for request, error in refused.items():
            self._answer(request, None, error)
        kept = ([r for r in step if r not in refused] for step in steps)
        return [step for step in kept if step]

    def _refusals(
        self, conn: sqlite3.Connection, intake: list[_Request]
    ) -> dict[_Request, StoreUnavailableError]:
        if self._min_free_disk is not None:
            now = time.monotonic()
            if self._disk_low or now - self._disk_checked >= 1.0:
                self._disk_low = shutil.disk_usage(self._directory).free < self._min_free_disk
                self._disk_checked = now
            if self._disk_low:
                low = StoreUnavailableError("free disk space is below the watermark")
                return dict.fromkeys(intake, low)
        if self._reserve_pages <= 0:  # no headroom kept: SQLite's own SQLITE_FULL answers
            return {}
        room = self._room_left(conn)
        refused: dict[_Request, StoreUnavailableError] = {}
        for request in intake:
            assert request.intake_bytes is not None
            pages = request.intake_bytes // self._page_size + 1
            if room - pages < self._reserve_pages:
                refused[request] = StoreUnavailableError(
                    "the database is full (max_page_count reached)"
                )
                continue
            room -= pages
            self._room_spent += 2 * pages  # the estimate is rough: count it twice
        return refused

    def _room_left(self, conn: sqlite3.Connection) -> int:
        """Pages left under max_page_count. Reading the page counts costs a statement, so far
        from the cap the last measurement serves for up to a second, less what intake was
        admitted since (counted twice); near the cap it is measured every transaction."""
        now = time.monotonic()
        if (
            self._room is None
            or now - self._room_measured >= _ROOM_MAX_AGE
            or self._room - self._room_spent < self._reserve_pages + _ROOM_SLACK
        ):
            limit, used, free, page_size = conn.execute(_ROOM_QUERY).fetchone()
            self._room, self._room_spent = int(limit) - int(used) + int(free), 0
            self._room_measured, self._page_size = now, int(page_size)
        return self._room - self._room_spent
