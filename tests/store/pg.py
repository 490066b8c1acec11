"""PostgreSQL for the store tests: find the server (start it in CI), fresh schemas, fault tools.

Outside CI a missing server skips the PostgreSQL tests. In CI (``CI=true``) it must not: the
fixture first tries to start the machine's cluster with ``pg_ctlcluster`` and then fails the
tests if the server is still unreachable, so a broken CI machine can never pass by skipping.

``EPRLINK_TEST_PG_DSN`` overrides the default DSN (127.0.0.1:5432, database ``test``).
Schemas are named ``eprlink_test_<epoch>_<random>`` and dropped afterwards, so parallel runs and
reruns never collide; schemas left behind by a killed run are dropped after an hour. A module
may share one schema between its tests and empty it before each (``empty_schema``): a migration
costs far more than deleting a few rows.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

__all__ = [
    "DSN",
    "PgSchema",
    "admin",
    "backends",
    "drop_failure_trigger",
    "empty_schema",
    "fresh_schema",
    "in_ci",
    "install_failure_trigger",
    "require_server",
    "terminate",
]

DSN = os.environ.get(
    "EPRLINK_TEST_PG_DSN",
    "host=127.0.0.1 port=5432 dbname=test user=postgres connect_timeout=3",
)
PREFIX = "eprlink_test_"
STALE_AFTER = 3600.0
START_WAIT = 30.0


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def _probe() -> str | None:
    """None when the server answers, else a one-line reason."""
    try:
        with psycopg.connect(DSN, autocommit=True) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return f"{type(exc).__name__}: {first}"
    return None


def start_command() -> list[list[str]]:
    """How this machine's cluster is started: Debian/Ubuntu's pg_ctlcluster per version."""
    if shutil.which("pg_ctlcluster") is None or not Path("/etc/postgresql").is_dir():
        return []
    return [
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"]
        for version in sorted(os.listdir("/etc/postgresql"))
    ]


def _start_server() -> str:
    commands = start_command()
    if not commands:
        return "pg_ctlcluster not found, nothing to start"
    for command in commands:
        subprocess.run(command, check=False, capture_output=True, timeout=60)
    deadline = time.monotonic() + START_WAIT
    while (problem := _probe()) is not None and time.monotonic() < deadline:
        time.sleep(0.5)
    return problem or ""


@cache
def server_problem() -> str | None:
    """Why the server cannot be used (None when it can); in CI, after trying to start it."""
    problem = _probe()
    if problem is not None and in_ci():
        after = _start_server()
        problem = None if after == "" else f"{problem}; after trying to start it: {after}"
    if problem is None:
        _drop_stale_schemas()
    return problem


def require_server() -> str:
    problem = server_problem()
    if problem is None:
        return DSN
    if in_ci():
        pytest.fail(f"CI=true and PostgreSQL is unreachable at {DSN!r}: {problem}", pytrace=False)
    pytest.skip(f"no PostgreSQL server reachable at {DSN!r} ({problem})")


@contextmanager
def admin() -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """A plain autocommit session for test set-up and fault injection."""
    with psycopg.connect(DSN, autocommit=True) as conn:
        yield conn


def _drop_stale_schemas() -> None:
    cutoff = int(time.time() - STALE_AFTER)
    with admin() as conn:
        rows = conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE %s", (PREFIX + "%",)
        ).fetchall()
        for (name,) in rows:
            stamp = str(name)[len(PREFIX) :].split("_")[0]
            if stamp.isdigit() and int(stamp) < cutoff:
                conn.execute(
                    sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(str(name)))
                )


@dataclass(frozen=True, slots=True)
class PgSchema:
    dsn: str
    schema: str


@contextmanager
def fresh_schema() -> Iterator[PgSchema]:
    """A schema name nobody else uses; dropped (with everything in it) on the way out."""
    dsn = require_server()
    name = f"{PREFIX}{int(time.time())}_{secrets.token_hex(6)}"
    try:
        yield PgSchema(dsn, name)
    finally:
        with admin() as conn:
            # a test that failed with sessions still open must not hang here; a schema left
            # behind is dropped by a later run
            conn.execute("SET lock_timeout = '10s'")
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


def empty_schema(schema: PgSchema) -> None:
    """Delete every row but the schema version: an empty store without migrating again."""
    with admin() as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s AND tablename <> %s",
            (schema.schema, "schema_version"),
        ).fetchall()
        with conn.transaction():
            for (table,) in rows:
                conn.execute(
                    sql.SQL("DELETE FROM {}").format(sql.Identifier(schema.schema, str(table)))
                )


def backends(application_name: str) -> list[tuple[int, str | None]]:
    """(pid, wait_event_type) of the sessions a store opened under this application name."""
    with admin() as conn:
        rows = conn.execute(
            "SELECT pid, wait_event_type FROM pg_stat_activity WHERE application_name = %s",
            (application_name,),
        ).fetchall()
    return [(int(str(pid)), None if kind is None else str(kind)) for pid, kind in rows]


def terminate(pids: list[int]) -> None:
    """Kill sessions the way an administrator or a crashing server would (F24)."""
    with admin() as conn:
        for pid in pids:
            conn.execute("SELECT pg_terminate_backend(%s)", (pid,))


def install_failure_trigger(schema: PgSchema, control_id: str) -> None:
    """Make every insert of this control id raise inside the accepting transaction."""
    name = sql.Identifier(schema.schema)
    with admin() as conn:
        conn.execute(
            sql.SQL(
                "CREATE FUNCTION {schema}.fail_on() RETURNS trigger LANGUAGE plpgsql AS $$"
                " BEGIN IF NEW.control_id = {cid} THEN RAISE EXCEPTION 'injected'; END IF;"
                " RETURN NEW; END $$"
            ).format(schema=name, cid=sql.Literal(control_id))
        )
        conn.execute(
            sql.SQL(
                "CREATE TRIGGER fail_on BEFORE INSERT ON {schema}.messages"
                " FOR EACH ROW EXECUTE FUNCTION {schema}.fail_on()"
            ).format(schema=name)
        )


def drop_failure_trigger(schema: PgSchema) -> None:
    with admin() as conn:
        table = sql.Identifier(schema.schema, "messages")
        conn.execute(sql.SQL("DROP TRIGGER IF EXISTS fail_on ON {}").format(table))
        conn.execute(
            sql.SQL("DROP FUNCTION IF EXISTS {}.fail_on()").format(sql.Identifier(schema.schema))
        )
