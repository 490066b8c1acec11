"""Group commit for the PostgreSQL store: concurrent accepts share one transaction and one fsync."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from eprlink.store.errors import StoreError, StoreUnavailableError
from eprlink.store.model import AcceptOutcome, InboundMessage, MessageStatus
from eprlink.store.postgres_conn import Connection, Connections, close_quietly, usable
from eprlink.store.postgres_sql import RETRYABLE_SQLSTATES, map_error, queries, utc

__all__ = ["AcceptBatcher"]

log = logging.getLogger(__name__)

_ATTEMPTS = 3  # a deadlock or serialization failure rolls back the batch; rerun it


@dataclass(slots=True)
class _Request:
    messages: Sequence[InboundMessage]
    dedupe_window: timedelta
    reject_collisions: bool
    now: datetime
    future: asyncio.Future[list[AcceptOutcome]] = field(repr=False)


class AcceptBatcher:
    """One task, one writer session: each transaction takes every accept waiting at the time.

    While one transaction commits, new callers queue up; the next transaction takes them all.
    So N concurrent senders cost about one commit (one WAL flush) per round instead of N, with
    no timer and no added latency for a lone sender. A batch that fails for a reason other than
    the database being unavailable is split and each caller's messages are retried alone, so one
    caller's bad value cannot fail another caller's messages.
    """

    def __init__(
        self,
        connections: Connections,
        *,
        notify_channel: str,
        max_batch: int,
        on_commit: Callable[[list[str]], None],
    ) -> None:
        self._connections = connections
        self._notify_channel = notify_channel
        self._max_batch = max_batch
        self._on_commit = on_commit
        self._queue: deque[_Request] = deque()
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()  # nothing queued, nothing committing
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self._conn: Connection | None = None
        self.transactions = 0  # committed accept transactions, for observing group commit
        self._commit_sent = False

    async def submit(
        self,
        messages: Sequence[InboundMessage],
        *,
        dedupe_window: timedelta,
        reject_collisions: bool,
        now: datetime | None,
    ) -> list[AcceptOutcome]:
        loop = asyncio.get_running_loop()
        moment = utc(now) if now is not None else datetime.now(UTC)  # as the other stores do
        request = _Request(messages, dedupe_window, reject_collisions, moment, loop.create_future())
        self._queue.append(request)
        self._idle.clear()
        self._wakeup.set()
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._run())
        return await request.future

    async def _run(self) -> None:
        current: list[_Request] = []
        try:
            while True:
                await self._wakeup.wait()
                self._wakeup.clear()
                while self._queue:
                    current = self._take()
                    await self._commit(current)
                    current = []
                self._idle.set()
        except asyncio.CancelledError:
            closed = StoreUnavailableError("store closed before the commit")
            _fail([*current, *self._queue], closed)
            self._queue.clear()
            raise

    def _take(self) -> list[_Request]:
        batch = [self._queue.popleft()]
        size = len(batch[0].messages)
        while self._queue and size + len(self._queue[0].messages) <= self._max_batch:
            request = self._queue.popleft()
            size += len(request.messages)
            batch.append(request)
        return batch

    async def _commit(self, batch: list[_Request]) -> None:
        live = [r for r in batch if not r.future.done()]
        try:
            results = await self._transact(live)
        except StoreUnavailableError as exc:
            _fail(live, exc)
            return
        except StoreError as exc:
            if len(live) == 1:
                _fail(live, exc)
                return
            for request in live:
                await self._commit([request])
            return
        except Exception as exc:  # a bug must fail the callers, not leave them waiting
            log.exception("accept batch failed", extra={"action": "pg_accept_bug"})
            _fail(live, StoreError(f"accept failed: {type(exc).__name__}"))
            return
        for request, outcomes in zip(live, results, strict=True):
            if not request.future.done():
                request.future.set_result(outcomes)

    async def _transact(self, batch: list[_Request]) -> list[list[AcceptOutcome]]:
        """Rerun after a deadlock or serialization failure (rolled back whole), and once on a
        new session when the old one was found dead BEFORE the COMMIT was sent (a server
        restart leaves the idle writer session dead). A session lost during COMMIT leaves the
        outcome unknown: that is raised, and the sender's resend meets dedupe (P2, P4)."""
        attempt = 0
        reconnected = False
        while True:
            self._commit_sent = False
            try:
                return await self._transact_once(batch)
            except (psycopg.Error, OSError) as exc:
                lost = self._conn is not None and (self._conn.broken or self._conn.closed)
                if self._conn is not None and not usable(self._conn):
                    await close_quietly(self._conn)
                    self._conn = None
                if getattr(exc, "sqlstate", None) in RETRYABLE_SQLSTATES and attempt < 2:
                    attempt += 1
                    continue
                if lost and not self._commit_sent and not reconnected:
                    reconnected = True
                    log.info("accept session lost, reconnecting", extra={"action": "pg_retry"})
                    continue
                raise map_error(exc, "accept") from exc

    async def _transact_once(self, batch: list[_Request]) -> list[list[AcceptOutcome]]:
        if self._conn is None:
            self._conn = await self._connections.connect()
        conn = self._conn
        params = _batch_params(batch, self._notify_channel)
        # BEGIN, the batch's one statement, COMMIT. Pipeline mode is not used: for a single
        # statement its client-side machinery costs more than the round trip it saves. A
        # session found dead before the COMMIT was sent was never asked to commit.
        async with conn.transaction():
            cursor = await conn.execute(queries()["accept_batch"], params)
            rows = await cursor.fetchall()
            self._commit_sent = True  # leaving the block sends COMMIT: from here, in doubt
        self.transactions += 1
        if params["destinations"]:
            self._on_commit(sorted(set(params["destinations"])))
        if len(rows) != len(params["channels"]):
            raise StoreError("accept_batch returned the wrong number of rows")
        rows.sort(key=lambda row: int(row[0]))
        outcomes: list[list[AcceptOutcome]] = []
        index = 0
        for request in batch:
            chunk = rows[index : index + len(request.messages)]
            index += len(request.messages)
            outcomes.append([_outcome(row[1:]) for row in chunk])
        return outcomes

    async def close(self) -> None:
        """Let queued and running accepts finish, then stop."""
        task, self._task = self._task, None
        if task is not None:
            if not task.done():
                idle = asyncio.ensure_future(self._idle.wait())
                await asyncio.wait({idle, task}, return_when=asyncio.FIRST_COMPLETED)
                idle.cancel()
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
        if self._conn is not None:
            await close_quietly(self._conn)
            self._conn = None


def _fail(batch: list[_Request], exc: StoreError) -> None:
    for request in batch:
        if not request.future.done():
            request.future.set_exception(exc)


def _batch_params(batch: list[_Request], notify_channel: str) -> dict[str, Any]:
    """The batch as the parallel arrays accept_batch takes, in acceptance order. A rejected
    message has no destinations (it is stored, never queued)."""
    columns: dict[str, list[Any]] = {
        name: []
        for name in (
            "channels",
            "peers",
            "control_ids",
            "message_types",
            "apps",
            "facilities",
            "received_at",
            "statuses",
            "ack_codes",
            "errors",
            "sha256",
            "payloads",
            "cutoffs",
            "reject_collisions",
            "destination_counts",
            "destinations",
            "identifier_counts",
            "id_kinds",
            "id_values",
        )
    }
    for request in batch:
        cutoff = request.now - request.dedupe_window
        for message in request.messages:
            accepted = message.status is MessageStatus.ACCEPTED
            destinations = message.destinations if accepted else ()
            columns["channels"].append(message.channel)
            columns["peers"].append(message.peer)
            columns["control_ids"].append(message.control_id)
            columns["message_types"].append(message.message_type)
            columns["apps"].append(message.sending_application)
            columns["facilities"].append(message.sending_facility)
            columns["received_at"].append(utc(message.received_at))
            columns["statuses"].append("accepted" if accepted else "rejected")
            columns["ack_codes"].append(message.ack_code)
            columns["errors"].append(message.error)
            columns["sha256"].append(message.sha256)
            columns["payloads"].append(message.payload)
            columns["cutoffs"].append(cutoff)
            columns["reject_collisions"].append(request.reject_collisions)
            columns["destination_counts"].append(len(destinations))
            columns["destinations"].extend(destinations)
            columns["identifier_counts"].append(len(message.identifiers))
            columns["id_kinds"].extend(kind for kind, _ in message.identifiers)
            columns["id_values"].extend(value for _, value in message.identifiers)
    return {"notify_channel": notify_channel, **columns}


def _outcome(row: tuple[Any, ...]) -> AcceptOutcome:
    message_id, duplicate_of, collision, ack_code = row
    if message_id is None and collision:  # refused (reject_collisions): the sender hears AE
        ack_code = "AE"
    return AcceptOutcome(
        message_id=message_id,
        duplicate_of=duplicate_of,
        collision=bool(collision),
        ack_code=str(ack_code),
    )
