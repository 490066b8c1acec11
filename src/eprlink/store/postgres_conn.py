"""PostgreSQL connections for the store: a small pool, session checks, and the LISTEN connection."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager, suppress
from typing import Any, TypeAlias

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.pq import TransactionStatus

from eprlink.store.errors import StoreError
from eprlink.store.postgres_sql import check_durability, map_error, queries

__all__ = ["Connection", "Connections", "WorkListener"]

log = logging.getLogger(__name__)

Connection: TypeAlias = psycopg.AsyncConnection[tuple[Any, ...]]


class Connections:
    """Opens checked sessions and lends a few of them out.

    psycopg_pool is not a dependency, and the store needs little from a pool: a bound on open
    sessions, reuse, and throwing away sessions that broke. Every new session is checked for
    durability (P1) and pointed at the store's schema, so a reconnect is as safe as start-up.
    """

    def __init__(
        self,
        dsn: str,
        *,
        schema: str,
        size: int,
        application_name: str,
        connect_timeout: float,
        statement_timeout: float,
    ) -> None:
        params = conninfo_to_dict(dsn)
        params.setdefault("application_name", application_name)
        params.setdefault("connect_timeout", str(max(1, round(connect_timeout))))
        self._conninfo = make_conninfo("", **params)
        self._schema = schema
        self._statement_timeout = f"{max(0, round(statement_timeout * 1000))}ms"
        self._slots = asyncio.Semaphore(size)
        self._idle: list[Connection] = []

    async def connect(self, *, migrating: bool = False) -> Connection:
        """A new autocommit session on the store's schema, refused unless durable (P1)."""
        try:
            conn: Connection = await psycopg.AsyncConnection.connect(
                self._conninfo, autocommit=True
            )
        except (psycopg.Error, OSError) as exc:
            raise map_error(exc, "connect") from exc
        try:
            cur = await conn.execute(
                queries()["session_setup"],
                {
                    "search_path": sql.Identifier(self._schema).as_string(conn),
                    "statement_timeout": "0" if migrating else self._statement_timeout,
                },
            )
            row = await cur.fetchone()
            assert row is not None
            check_durability(str(row[3]), str(row[4]))
        except BaseException as exc:
            await conn.close()
            if isinstance(exc, psycopg.Error | OSError):
                raise map_error(exc, "connect") from exc
            raise
        log.info("postgres session opened", extra={"action": "pg_connect"})
        return conn

    async def set_statement_timeout(self, conn: Connection) -> None:
        await conn.execute(
            "SELECT set_config('statement_timeout', %s, false)", (self._statement_timeout,)
        )

    def give(self, conn: Connection) -> None:
        """Take a session (for instance the one that ran the migrations) into the idle list."""
        self._idle.append(conn)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Connection]:
        """Lend a session; one that broke or was left mid-statement is closed, not reused, and
        a broken one takes the idle ones with it (a restarted server broke them all)."""
        async with self._slots:
            conn = self._idle.pop() if self._idle else await self.connect()
            try:
                yield conn
            finally:
                if usable(conn):
                    self._idle.append(conn)
                else:
                    await close_quietly(conn)
                    if conn.broken:
                        await self.discard_idle()

    async def discard_idle(self) -> None:
        idle, self._idle = self._idle, []
        for conn in idle:
            await close_quietly(conn)

    async def close(self) -> None:
        await self.discard_idle()


def usable(conn: Connection) -> bool:
    return not conn.closed and conn.info.transaction_status == TransactionStatus.IDLE


async def close_quietly(conn: Connection) -> None:
    with suppress(Exception):
        await conn.close()


class WorkListener:
    """LISTEN on a dedicated session and turn notifications into per-destination wake-ups.

    Wake-ups are sticky: a notification that arrives while nobody waits is kept until the next
    wait, so a worker that found its queue empty and then waits cannot miss the accept that
    happened in between. A new or restored LISTEN session wakes everyone once, because
    notifications sent while nobody listened are gone.
    """

    def __init__(self, connections: Connections, channel: str) -> None:
        self._connections = connections
        self._channel = channel
        self._events: dict[str, asyncio.Event] = {}
        self._conn: Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    def wake(self, destinations: Iterable[str]) -> None:
        for destination in destinations:
            self._events.setdefault(destination, asyncio.Event()).set()

    def _wake_all(self) -> None:
        for event in self._events.values():
            event.set()

    async def wait(self, destination: str, timeout: float) -> bool:
        await self._ensure_listening()
        event = self._events.get(destination)
        if event is None:
            event = self._events[destination] = asyncio.Event()
            event.set()  # nothing was listening for it until now: look once
        if not event.is_set():
            try:
                await asyncio.wait_for(event.wait(), timeout)
            except TimeoutError:
                return False
        event.clear()
        return True

    async def _ensure_listening(self) -> None:
        async with self._lock:
            if self._task is not None and not self._task.done():
                return
            if self._conn is not None:
                await close_quietly(self._conn)
                self._conn = None
            conn = await self._connections.connect()
            try:
                await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))
            except (psycopg.Error, OSError) as exc:
                await close_quietly(conn)
                raise map_error(exc, "listen") from exc
            self._conn = conn
            self._task = asyncio.get_running_loop().create_task(self._pump(conn))
            self._wake_all()

    async def _pump(self, conn: Connection) -> None:
        try:
            async for notify in conn.notifies():
                event = self._events.get(notify.payload)
                if event is not None:
                    event.set()
        except (psycopg.Error, OSError, StoreError):
            log.warning("postgres LISTEN session lost", extra={"action": "pg_listen_lost"})
        finally:
            self._wake_all()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        if self._conn is not None:
            await close_quietly(self._conn)
            self._conn = None
