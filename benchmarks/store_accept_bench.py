"""The store alone: what one durable ``accept()`` costs, beside a bare commit in the same run.

The engine is left out on purpose: this isolates the store's share of store-then-ACK, so a
change to the store's statements, its writer thread or its group commit shows up here without
the MLLP session, the parse and the ACK around it (``store_bench.py`` measures those).

Rows, each over ``-n`` messages after ``--warmup`` (each store gets a fresh file or schema):

* **SQLite bare commit**: autocommit ``INSERT`` of the message's bytes into ``(id INTEGER
  PRIMARY KEY, payload BLOB)``, WAL, ``synchronous=FULL`` (read back): one fsync per message.
  This is the yardstick every ratio below is taken against.
* **SQLiteStore.accept, 1 caller**: one message per call, awaited one after another.
* **SQLiteStore.accept, 8 callers**: 8 tasks under ``asyncio.gather``, each awaiting its own
  one-message calls; the writer thread groups whatever is waiting into one commit.
* **PostgreSQL bare commit** and **PostgresStore.accept** (1 and 8 callers): the same on the
  local server, in a schema of the run's own, dropped afterwards.

Every message is the corpus ADT^A01 with its own MSH-10 (so none is a duplicate), the sending
application and facility from its MSH, one NHS identifier and one destination, as the inbound
path builds it. Messages are built (and hashed) before the clock starts.

Statements per message (SQLite): a second, untimed pass with ``set_trace_callback`` on the
writer connection counts every statement SQLite starts, BEGIN/COMMIT/SAVEPOINT and each row of
an ``executemany`` included, divided by the messages accepted. Commits per message come from
the store's own counters.

    python benchmarks/store_accept_bench.py [-n 2000] [--warmup 200] [--count-n 800]
        [--stores sqlite,postgres] [--dsn DSN] [--data-dir DIR] [--message PATH] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import datetime
import json
import os
import secrets
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(Path(os.environ.get("EPRLINK_SRC", ROOT / "src"))))

from eprlink.store import InboundMessage  # noqa: E402
from eprlink.store.postgres import PostgresStore  # noqa: E402
from eprlink.store.sqlite import SQLiteStore  # noqa: E402
from store_bench import postgres_commit_loop, sqlite_commit_loop  # noqa: E402

DEFAULT_MESSAGE = ROOT.parent / "shared" / "bench" / "messages" / "adt_a01.hl7"
DEFAULT_DSN = "host=127.0.0.1 port=5432 dbname=test user=postgres"
WINDOW = datetime.timedelta(days=7)
CALLERS = 8


def load_payload(path: Path) -> bytes:
    """The file's segments joined by CR, whatever line ends it was saved with."""
    text = path.read_bytes().replace(b"\r\n", b"\r").replace(b"\n", b"\r")
    return b"\r".join(s for s in text.split(b"\r") if s) + b"\r"


class Messages:
    """Inbound messages of one template, each with its own MSH-10."""

    def __init__(self, payload: bytes) -> None:
        header, self._rest = payload.split(b"\r", 1)
        self._fields = header.split(b"|")
        self.app = self._fields[2].decode()
        self.facility = self._fields[3].decode()
        self.message_type = "^".join(self._fields[8].decode().split("^")[:2])

    def make(self, prefix: str, count: int) -> list[InboundMessage]:
        now = datetime.datetime.now(datetime.UTC)
        made = []
        for index in range(count):
            control_id = f"{prefix}{index:07d}"
            fields = list(self._fields)
            fields[9] = control_id.encode()
            made.append(
                InboundMessage(
                    channel="adt",
                    payload=b"|".join(fields) + b"\r" + self._rest,
                    received_at=now,
                    peer="127.0.0.1:40000",
                    control_id=control_id,
                    message_type=self.message_type,
                    sending_application=self.app,
                    sending_facility=self.facility,
                    destinations=("epr",),
                    identifiers=(("NHS", "9991234578"),),
                )
            )
        return made


def bare_sqlite(folder: Path, payload: bytes, count: int) -> float:
    """Seconds for ``count`` autocommit INSERTs (one transaction and one fsync each), after as
    many as 200 untimed ones: ``store_bench``'s bare loop, so both benchmarks share a yardstick."""
    warm = min(200, count)
    return sum(sqlite_commit_loop(folder, payload, warm + count)[warm:])


def bare_postgres(dsn: str, schema: str, payload: bytes, count: int) -> float:
    """The same on the PostgreSQL server (``fsync`` and ``synchronous_commit`` checked on)."""
    warm = min(200, count)
    return sum(postgres_commit_loop(dsn, schema, payload, warm + count)[warm:])


def drop_schema(dsn: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


async def accept_all(store: Any, messages: Sequence[InboundMessage], callers: int) -> float:
    """Seconds to accept every message, one per call, from ``callers`` concurrent tasks."""

    async def caller(mine: Sequence[InboundMessage]) -> None:
        for message in mine:
            [outcome] = await store.accept([message], dedupe_window=WINDOW)
            if outcome.message_id is None:
                raise SystemExit(f"not stored: {outcome}")

    shares = [messages[k::callers] for k in range(callers)]
    started = time.perf_counter()
    await asyncio.gather(*(caller(share) for share in shares))
    return time.perf_counter() - started


class Tracer:
    """Counts the statements SQLite starts on the writer connection, by their first words."""

    def __init__(self) -> None:
        self.kinds: collections.Counter[str] = collections.Counter()

    def __call__(self, statement: str) -> None:
        words = statement.split()
        head = " ".join(words[:3]) if words[:1] == ["INSERT"] else " ".join(words[:2])
        self.kinds[head] += 1


async def sqlite_run(
    folder: Path, messages: Messages, n: int, *, warmup: int, callers: int, count_n: int
) -> dict[str, Any]:
    store = SQLiteStore(folder / f"accept-{secrets.token_hex(4)}.db")
    await store.open()
    try:
        await accept_all(store, messages.make("W", warmup), callers)
        timed = messages.make("T", n)
        commits = store.commits
        seconds = await accept_all(store, timed, callers)
        commits = store.commits - commits
        tracer = Tracer()
        await store._write("trace on", lambda conn: conn.set_trace_callback(tracer))
        tracer.kinds.clear()  # the switch-on request's own RELEASE/COMMIT
        await accept_all(store, messages.make("C", count_n), callers)
        counted = collections.Counter(tracer.kinds)
        await store._write("trace off", lambda conn: conn.set_trace_callback(None))
    finally:
        await store.close()
    return {
        "msg_per_s": n / seconds,
        "us_per_msg": seconds / n * 1e6,
        "msgs_per_commit": n / commits,
        "statements_per_msg": sum(counted.values()) / count_n,
        "statements": {k: v / count_n for k, v in counted.most_common()},
    }


async def postgres_run(
    dsn: str, schema: str, messages: Messages, n: int, *, warmup: int, callers: int
) -> dict[str, Any]:
    store = PostgresStore(dsn, schema=schema, application_name="accept-bench")
    await store.open()
    try:
        await accept_all(store, messages.make("W", warmup), callers)
        timed = messages.make("T", n)
        before = store.accept_transactions
        seconds = await accept_all(store, timed, callers)
        transactions = store.accept_transactions - before
    finally:
        await store.close()
        drop_schema(dsn, schema)
    return {
        "msg_per_s": n / seconds,
        "us_per_msg": seconds / n * 1e6,
        "msgs_per_commit": n / transactions,
    }


def table(rows: list[tuple[str, dict[str, Any]]], bare: float) -> str:
    out = [
        "| row | msg/s | µs/msg | ratio to SQLite bare | msgs/commit | statements/msg |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label, r in rows:
        statements = r.get("statements_per_msg")
        out.append(
            f"| {label} | {r['msg_per_s']:,.0f} | {r['us_per_msg']:,.0f} | "
            f"{r['msg_per_s'] / bare:.2f} | {r.get('msgs_per_commit', 1.0):.1f} | "
            f"{'' if statements is None else f'{statements:.2f}'} |"
        )
    return "\n".join(out)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--count-n", type=int, default=800, help="messages in the traced pass")
    parser.add_argument("--stores", default="sqlite,postgres")
    parser.add_argument("--dsn", default=os.environ.get("EPRLINK_BENCH_PG_DSN", DEFAULT_DSN))
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--message", type=Path, default=DEFAULT_MESSAGE)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    stores = set(args.stores.split(","))
    messages = Messages(load_payload(args.message))
    sample = messages.make("S", 1)[0].payload
    rows: list[tuple[str, dict[str, Any]]] = []
    run: Callable[[Awaitable[dict[str, Any]]], dict[str, Any]] = asyncio.run
    with tempfile.TemporaryDirectory(dir=args.data_dir) as tmp:
        folder = Path(tmp)
        seconds = bare_sqlite(folder, sample, args.n)
        bare = args.n / seconds
        rows.append(
            (
                "SQLite bare autocommit INSERT",
                {"msg_per_s": bare, "us_per_msg": seconds / args.n * 1e6},
            )
        )
        if "sqlite" in stores:
            for callers in (1, CALLERS):
                result = run(
                    sqlite_run(
                        folder,
                        messages,
                        args.n,
                        warmup=args.warmup,
                        callers=callers,
                        count_n=args.count_n,
                    )
                )
                rows.append((f"SQLiteStore.accept, {callers} caller{'s' * (callers > 1)}", result))
        if "postgres" in stores:
            schema = f"eprlink_acceptbench_{int(time.time())}_{secrets.token_hex(3)}"
            seconds = bare_postgres(args.dsn, schema, sample, args.n)
            drop_schema(args.dsn, schema)
            rows.append(
                (
                    "PostgreSQL bare autocommit INSERT",
                    {"msg_per_s": args.n / seconds, "us_per_msg": seconds / args.n * 1e6},
                )
            )
            for callers in (1, CALLERS):
                schema = f"eprlink_acceptbench_{int(time.time())}_{secrets.token_hex(3)}"
                result = run(
                    postgres_run(
                        args.dsn, schema, messages, args.n, warmup=args.warmup, callers=callers
                    )
                )
                rows.append(
                    (f"PostgresStore.accept, {callers} caller{'s' * (callers > 1)}", result)
                )
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"store accept cost, {stamp}, n={args.n}, load average {os.getloadavg()[0]:.2f}\n")
    print(table(rows, bare))
    for label, r in rows:
        if "statements" in r:
            parts = ", ".join(f"{k} {v:.2f}" for k, v in r["statements"].items())
            print(f"\n{label}, statements per message: {parts}")
    if args.json is not None:
        args.json.write_text(json.dumps({"when": stamp, "rows": rows}, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
