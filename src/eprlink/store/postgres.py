"""The PostgreSQL store: the multi-node backend (SKIP LOCKED claims, leases, LISTEN/NOTIFY)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any, LiteralString, TypeVar

import psycopg

from eprlink.store import postgres_read as reads
from eprlink.store import postgres_write as writes
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
from eprlink.store.postgres_batch import AcceptBatcher
from eprlink.store.postgres_conn import Connection, Connections, WorkListener, close_quietly
from eprlink.store.postgres_sql import (
    RETRYABLE_SQLSTATES,
    check_schema_name,
    map_error,
    queries,
    utc,
)

__all__ = ["PostgresStore"]

log = logging.getLogger(__name__)

T = TypeVar("T")

_SETTLED: dict[Failure | None, tuple[str, str]] = {
    None: ("delivered", "delivered"),
    Failure.RETRY: ("retrying", "retry"),
    Failure.HOLD: ("held", "held"),
    Failure.DEAD: ("dead", "dead"),
}


class PostgresStore:
    """The Store protocol on PostgreSQL, safe for several engine processes on one database.

    Beyond the protocol: :meth:`wait_for_work` (LISTEN/NOTIFY wake-ups for delivery workers),
    :meth:`acquire_lease` / :meth:`renew_lease` / :meth:`release_lease` (one holder per ordered
    stream, with fencing tokens) and :attr:`accept_transactions` (group commit, observed).
    docs/store-postgres.md explains the schema, the locks and how the engine uses leases.
    """

    def __init__(
        self,
        dsn: str,
        *,
        schema: str = "eprlink",
        pool_size: int = 4,
        max_batch: int = 500,
        prune_batch: int = 1000,
        application_name: str = "eprlink",
        connect_timeout: float = 5.0,
        statement_timeout: float = 30.0,
    ) -> None:
        if pool_size < 1 or max_batch < 1 or prune_batch < 1:
            raise StoreError("pool_size, max_batch and prune_batch must be at least 1")
        self._schema = check_schema_name(schema)
        self._channel = f"{schema}_work"
        self._prune_batch = prune_batch
        self._connections = Connections(
            dsn,
            schema=schema,
            size=pool_size,
            application_name=application_name,
            connect_timeout=connect_timeout,
            statement_timeout=statement_timeout,
        )
        self._listener = WorkListener(self._connections, self._channel)
        self._batcher = AcceptBatcher(
            self._connections,
            notify_channel=self._channel,
            max_batch=max_batch,
            on_commit=self._listener.wake,
        )
        self._open = False

    @property
    def accept_transactions(self) -> int:
        """Accept transactions committed by this instance: fewer than accept() calls when
        concurrent callers shared commits."""
        return self._batcher.transactions

    # -- life cycle -------------------------------------------------------------------------

    async def open(self) -> None:
        """Migrate under an advisory lock, on a session already checked for durability (P1);
        that session then joins the pool."""
        conn = await self._connections.connect(migrating=True)
        try:
            await writes.migrate(conn, schema=self._schema)
            await self._connections.set_statement_timeout(conn)
        except BaseException as exc:
            await close_quietly(conn)
            if isinstance(exc, psycopg.Error | OSError):
                raise map_error(exc, "open") from exc
            raise
        self._connections.give(conn)
        self._open = True

    async def close(self) -> None:
        self._open = False
        await self._batcher.close()
        await self._listener.close()
        await self._connections.close()

    def _check_open(self) -> None:
        if not self._open:
            raise StoreError("PostgresStore is not open: call open() first")

    async def _run(
        self, action: str, work: Callable[[Connection], Awaitable[T]], *, idempotent: bool = False
    ) -> T:
        """Run work on a pooled session and map failures to StoreError.

        Reruns after a deadlock or serialization failure (the transaction was rolled back
        whole). ``idempotent`` work (reads, lease acquire/renew) is also rerun once on a new
        session when its session was lost, since running it twice does no harm; other work
        reports StoreUnavailableError and the next call reconnects.
        """
        self._check_open()
        attempt = 0
        reconnected = False
        while True:
            used: list[Connection] = []
            try:
                async with self._connections.connection() as conn:
                    used.append(conn)
                    return await work(conn)
            except (psycopg.Error, OSError) as exc:
                if getattr(exc, "sqlstate", None) in RETRYABLE_SQLSTATES and attempt < 2:
                    attempt += 1
                    continue
                lost = bool(used) and (used[0].broken or used[0].closed)
                if idempotent and lost and not reconnected:
                    reconnected = True
                    continue
                raise map_error(exc, action) from exc

    async def _rows(
        self,
        action: str,
        query: LiteralString,
        params: dict[str, Any],
        *,
        idempotent: bool = False,
    ) -> list[tuple[Any, ...]]:
        async def work(conn: Connection) -> list[tuple[Any, ...]]:
            cur = await conn.execute(query, params)
            return await cur.fetchall()

        return await self._run(action, work, idempotent=idempotent)

    # -- intake and delivery ----------------------------------------------------------------

    async def accept(
        self,
        messages: Sequence[InboundMessage],
        *,
        dedupe_window: timedelta,
        reject_collisions: bool = False,
        now: datetime | None = None,
    ) -> list[AcceptOutcome]:
        self._check_open()
        if not messages:
            return []
        return await self._batcher.submit(
            messages, dedupe_window=dedupe_window, reject_collisions=reject_collisions, now=now
        )

    async def claim(self, destination: str, *, owner: str, fence: int = 0) -> Delivery | None:
        params = {"destination": destination, "owner": owner, "fence": fence}
        rows = await self._rows("claim", queries()["claim"], params)
        if not rows:
            return None
        entry_id, message_id, payload, control_id, attempts, takeover = rows[0]
        if takeover:
            log.info(
                "in-flight entry taken over from an older lease",
                extra={"action": "pg_takeover", "entry_id": entry_id, "fence": fence},
            )
        return Delivery(
            entry_id=entry_id,
            message_id=message_id,
            destination=destination,
            payload=bytes(payload),
            control_id=control_id,
            attempts=attempts,
            fence=fence,
        )

    async def settle(
        self, delivery: Delivery, *, ack: AckRecord, failure: Failure | None = None
    ) -> bool:
        state, action = _SETTLED[failure]
        params = {
            "entry_id": delivery.entry_id,
            "fence": delivery.fence,
            "attempts": delivery.attempts,
            "state": state,
            "action": action,
            "ack_code": ack.code,
            "ack_control_id": ack.control_id,
            "ack_text": ack.text,
            "ack_latency": ack.latency_seconds,
        }
        rows = await self._rows("settle", queries()["settle"], params)
        return bool(rows and rows[0][0])

    async def recover(self, *, owner: str | None = None) -> int:
        params = {"owner": owner, "channel": self._channel}
        rows = await self._rows("recover", queries()["recover"], params)
        self._listener.wake({str(row[0]) for row in rows})  # NOTIFY went with the commit
        return len(rows)

    async def release(
        self,
        destination: str,
        *,
        operator: str,
        reason: str,
        entry_ids: Sequence[int] | None = None,
        include_dead: bool = False,
    ) -> int:
        params = {
            "destination": destination,
            "include_dead": include_dead,
            "entry_ids": list(entry_ids) if entry_ids is not None else None,
            "operator": operator,
            "reason": reason,
            "channel": self._channel,
        }
        rows = await self._rows("release", queries()["release"], params)
        count = int(rows[0][0]) if rows else 0
        if count:
            self._listener.wake([destination])  # NOTIFY went with the commit
        return count

    async def replay(
        self, message_ids: Sequence[int], destination: str, *, operator: str, reason: str
    ) -> list[int]:
        work = partial(
            writes.replay,
            message_ids=message_ids,
            destination=destination,
            operator=operator,
            reason=reason,
            channel=self._channel,
        )
        entry_ids = await self._run("replay", work)
        self._listener.wake([destination])
        return entry_ids

    async def wait_for_work(self, destination: str, timeout: float) -> bool:
        """Wait until ``destination`` may have work (an accept, release, replay or recovery
        committed by any process) or ``timeout`` seconds pass; True when woken.

        A hint, not a promise: the caller claims afterwards and may find nothing. Wake-ups are
        kept until the next wait, so claim → None → wait_for_work never misses an accept that
        landed in between. Not in the Store protocol; workers of other stores poll instead.
        """
        self._check_open()
        return await self._listener.wait(destination, timeout)

    # -- leases (multi-node) ----------------------------------------------------------------

    async def acquire_lease(self, stream: str, owner: str, ttl: float) -> int | None:
        """Hold ``stream`` for ``ttl`` seconds of the DATABASE clock; the fencing token, or None
        while another owner holds an unexpired lease. The token grows whenever the stream
        changes hands or a lease lapsed; asking again while still holding renews it."""
        rows = await self._rows(
            "acquire_lease",
            queries()["lease_acquire"],
            {"stream": stream, "owner": owner, "ttl": ttl},
            idempotent=True,
        )
        return int(rows[0][0]) if rows else None

    async def renew_lease(self, stream: str, owner: str, token: int, ttl: float) -> bool:
        """Extend a lease still held under ``token``; False once it lapsed or moved (then the
        holder must stop delivering and acquire again, getting a new token)."""
        rows = await self._rows(
            "renew_lease",
            queries()["lease_renew"],
            {"stream": stream, "owner": owner, "token": token, "ttl": ttl},
            idempotent=True,
        )
        return bool(rows)

    async def release_lease(self, stream: str, owner: str, token: int) -> bool:
        """Give the stream up now (clean shutdown), so another node need not wait for expiry."""
        rows = await self._rows(
            "release_lease",
            queries()["lease_release"],
            {"stream": stream, "owner": owner, "token": token},
        )
        return bool(rows)

    # -- reading ----------------------------------------------------------------------------

    async def message(self, message_id: int) -> StoredMessage | None:
        return await self._run(
            "message", partial(reads.message, message_id=message_id), idempotent=True
        )

    async def search(self, query: MessageQuery) -> list[MessageSummary]:
        return await self._run("search", partial(reads.search, query=query), idempotent=True)

    async def stats(self, *, now: datetime | None = None) -> list[QueueStats]:
        """``now`` is not needed: oldest_pending is a received_at, ages are the caller's."""
        return await self._run("stats", reads.stats, idempotent=True)

    async def reconcile(self, channel: str, day: date) -> Reconciliation:
        return await self._run(
            "reconcile", partial(reads.reconcile, channel=channel, day=day), idempotent=True
        )

    async def control_ids(self, channel: str, start: datetime, end: datetime) -> list[str]:
        params = {"channel": channel, "start": utc(start), "end": utc(end)}
        rows = await self._rows("control_ids", queries()["control_ids"], params, idempotent=True)
        return [str(row[0]) for row in rows]

    # -- audit and retention ----------------------------------------------------------------

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
        params = {
            "action": action,
            "operator": operator,
            "reason": reason,
            "details": details,
            "message_id": message_id,
            "entry_id": entry_id,
        }

        async def work(conn: Connection) -> None:
            await conn.execute(queries()["insert_event"], params)

        await self._run("audit", work)

    async def events(self, *, message_id: int | None = None, limit: int = 100) -> list[AuditEvent]:
        work = partial(reads.events, message_id=message_id, limit=limit)
        return await self._run("events", work, idempotent=True)

    async def prune(self, *, older_than: datetime) -> PruneResult:
        """Delete in batches of ``prune_batch`` messages, one short transaction each, so intake
        never waits long behind retention. PostgreSQL reuses the freed space for new rows once
        (auto)vacuum has passed; files do not shrink (that would need VACUUM FULL, which locks
        the tables). ``bytes_reclaimed`` counts the payload bytes freed for reuse."""
        cutoff = utc(older_than)
        totals = (0, 0, 0)
        while True:
            work = partial(writes.prune_batch, cutoff=cutoff, size=self._prune_batch)
            done = await self._run("prune", work)
            totals = (totals[0] + done[0], totals[1] + done[1], totals[2] + done[2])
            if done[0] < self._prune_batch:
                break
        details = f"messages={totals[0]} entries={totals[1]}"
        await self._run("prune", partial(writes.prune_finish, cutoff=cutoff, details=details))
        return PruneResult(messages=totals[0], entries=totals[1], bytes_reclaimed=totals[2])
