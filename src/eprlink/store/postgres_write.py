"""Schema migrations, replay and pruning for the PostgreSQL store (one connection each)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from psycopg import sql

from eprlink.store.errors import StoreError
from eprlink.store.postgres_conn import Connection
from eprlink.store.postgres_sql import migration_lock_key, migrations, queries

__all__ = ["migrate", "prune_batch", "prune_finish", "replay"]

log = logging.getLogger(__name__)


async def migrate(conn: Connection, *, schema: str) -> None:
    """Apply missing migrations in one transaction under an advisory lock, so two processes
    starting together never run the same migration twice, and refuse a newer schema."""
    q = queries()
    known = migrations()
    async with conn.transaction():
        await conn.execute(q["migrate_lock"], {"key": migration_lock_key(schema)})
        cur = await conn.execute(q["schema_exists"], {"schema": schema})
        if await cur.fetchone() is None:  # a DBA may have created it for a role without CREATE
            await conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        await conn.execute(q["schema_version_table"])
        cur = await conn.execute(q["schema_version_applied"])
        applied = {int(row[0]) for row in await cur.fetchall()}
        if applied and max(applied) > len(known):
            raise StoreError(
                f"PostgreSQL schema {schema} is at version {max(applied)}, newer than this "
                f"eprlink ({len(known)}): refusing to run against it"
            )
        for migration in known:
            if migration.version not in applied:
                await conn.execute(migration.text)
                await conn.execute(
                    q["schema_version_record"],
                    {"version": migration.version, "name": migration.name},
                )
                log.info(
                    "postgres migration applied",
                    extra={"action": "pg_migrate", "version": migration.version},
                )


async def replay(
    conn: Connection,
    *,
    message_ids: Sequence[int],
    destination: str,
    operator: str,
    reason: str,
    channel: str,
) -> list[int]:
    """New entries at the tail, under the destination's tail lock like an accept, so their ids
    follow commit order; the messages are locked against a concurrent prune (P6)."""
    q = queries()
    async with conn.transaction():
        await conn.execute(q["streams_ensure"], {"destinations": [destination]})
        await conn.execute(q["streams_lock_tail"], {"destinations": [destination]})
        cur = await conn.execute(q["replay_messages"], {"ids": list(message_ids)})
        found = {int(row[0]) for row in await cur.fetchall()}
        missing = [i for i in message_ids if i not in found]
        if missing:
            raise StoreError(f"replay: no stored message with id {missing[0]}")
        entry_ids = []
        for message_id in message_ids:
            params = {
                "message_id": message_id,
                "destination": destination,
                "operator": operator,
                "reason": reason,
            }
            row = await (await conn.execute(q["replay_entry"], params)).fetchone()
            assert row is not None
            entry_ids.append(int(row[0]))
        await conn.execute(q["notify_work"], {"channel": channel, "destinations": [destination]})
    return entry_ids


async def prune_batch(conn: Connection, *, cutoff: datetime, size: int) -> tuple[int, int, int]:
    """One short transaction: (messages, entries, payload bytes) deleted."""
    q = queries()
    async with conn.transaction():
        cur = await conn.execute(q["prune_candidates"], {"cutoff": cutoff, "batch": size})
        ids = [int(row[0]) for row in await cur.fetchall()]
        if not ids:
            return (0, 0, 0)
        row = await (await conn.execute(q["prune_delete"], {"ids": ids})).fetchone()
        assert row is not None
        return (int(row[0]), int(row[1]), int(row[2]))


async def prune_finish(conn: Connection, *, cutoff: datetime, details: str) -> None:
    """Drop sender-key lock rows nobody used since the cutoff, and audit the prune."""
    q = queries()
    await conn.execute(q["prune_dedupe_keys"], {"cutoff": cutoff})
    await conn.execute(q["prune_event"], {"details": details})
