"""Choosing the store backend the configuration names."""

from __future__ import annotations

import shutil

from eprlink.engine.config import EngineConfig, StoreKind
from eprlink.store import Store
from eprlink.store.memory import MemoryStore
from eprlink.store.sqlite import SQLiteStore

__all__ = ["store_for"]

_GIB = 1 << 30


def store_for(config: EngineConfig) -> Store:
    """A new, unopened store for ``config.store`` (SQLite's folder is created if missing)."""
    section = config.store
    if section.kind is StoreKind.MEMORY:
        return MemoryStore()
    if section.kind is StoreKind.POSTGRES:
        # Imported here so that SQLite and in-memory users never load the PostgreSQL driver.
        from eprlink.store.postgres import PostgresStore  # noqa: PLC0415

        # the node's name on its sessions, so pg_stat_activity shows which node holds what
        return PostgresStore(
            section.dsn or "",
            schema=section.schema,
            application_name=f"eprlink:{config.engine.node}",
        )
    path = config.store_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    watermark = section.min_free_disk
    if watermark == "auto":
        watermark = max(shutil.disk_usage(path.parent).total // 20, _GIB)
    return SQLiteStore(path, min_free_disk=watermark, busy_timeout=section.busy_timeout)
