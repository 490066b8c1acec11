"""Durable store-then-ACK: eprlink's MLLP intake committing to SQLite and to PostgreSQL, with 1
and 8 concurrent senders, beside the machine's limit measured in the same run.

    limit = 1 / (SQLite FULL commit + loopback MLLP round trip)

* **SQLite FULL commit**: a bare loop of one-row INSERTs (the message's bytes) in autocommit
  mode on a WAL database with ``synchronous=FULL``, in the folder where the engine's database
  lives (same file system, same disk). Each INSERT is one transaction, one fsync.
* **Loopback round trip**: the client below, one message in flight, against a bare
  ``asyncio.Protocol`` MLLP server in its own process that answers a raw ACK (MSH-10 cut out of
  the bytes: no parse, no storage).
* **eprlink**: ``Engine`` built from an ``eprlink.toml`` in its own process, as ``eprlink run``
  builds it: one MLLP listener (``validate = false``, the default header checks HD-4…HD-8,
  dedupe window 7 days), one MLLP destination whose port is closed, so every accepted message
  gets its queue entry in the same commit while the delivery worker never claims (intake is
  measured alone). Every reply is checked for ``MSA|AA|<MSH-10>``; every message has its own
  MSH-10, so none is a duplicate. ``memory`` (the in-memory store) is the same engine without
  durability: the engine's own cost.
* **PostgreSQL** (context): a bare autocommit INSERT loop on the same server gives its commit
  time; the engine's store uses a schema of its own, dropped afterwards.

Senders are asyncio connections in this process (one message in flight each); the engine and
the bare server get the other core. Measurements are interleaved: every rep measures the bare
commit, the bare round trip and each store in turn, so the ratios compare neighbours in time.

Targets (docs/design.md §7): 1 sender ≥ 0.8 × limit; 8 senders ≥ 3 × limit.

    python benchmarks/store_bench.py [--reps 3] [--n 2000] [--warmup 200]
        [--stores memory,sqlite,postgres] [--loop asyncio|uvloop] [--message PATH]
        [--dsn DSN] [--json PATH]
    python benchmarks/store_bench.py --serve-bare PORT                     (internal)
    python benchmarks/store_bench.py --serve-engine CONFIG [--schema S]    (internal)
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import datetime
import json
import os
import platform
import secrets
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SRC = Path(os.environ.get("EPRLINK_SRC", ROOT / "src"))  # the script may point at a snapshot
DEFAULT_BENCH_DIR = ROOT.parent / "shared" / "bench"
DEFAULT_DSN = "host=127.0.0.1 port=5432 dbname=test user=postgres connect_timeout=3"
VT, FS, CR = b"\x0b", b"\x1c", b"\r"

# A synthetic ADT^A01 for when the harness' corpus is not there (test-range NHS number).
FALLBACK_MESSAGE = (
    b"MSH|^~\\&|PAS|RXX01|TIE|ZZ1|20250101120000||ADT^A01^ADT_A01|MSG00001|P|2.4\r"
    b"EVN|A01|20250101120000\r"
    b"PID|1||9990000018^^^NHS^NH~K123456^^^RXX01^MR||TESTPATIENT^ALPHA||19800101|U\r"
    b"PV1|1|I|WARD1^BED1\r"
)


# -- messages and the client ------------------------------------------------------------------


class Template:
    """One message whose MSH-10 is replaced per send, so every message is new to dedupe."""

    def __init__(self, payload: bytes) -> None:
        first, sep, rest = payload.partition(b"\r")
        parts = first.split(b"|")
        if len(parts) < 12 or parts[0] != b"MSH":
            raise SystemExit("the message must start with an MSH segment with MSH-12")
        self.size = len(payload)
        self._head = b"|".join(parts[:9]) + b"|"
        self._tail = b"|" + b"|".join(parts[10:]) + sep + rest

    def payload(self, control_id: str) -> bytes:
        return self._head + control_id.encode("ascii") + self._tail

    def frame(self, control_id: str) -> bytes:
        return VT + self.payload(control_id) + FS + CR


def load_message(path: str | None) -> bytes:
    if path:
        return Path(path).read_bytes()
    corpus = Path(os.environ.get("BENCH_DIR", DEFAULT_BENCH_DIR)) / "messages" / "adt_a01.hl7"
    return corpus.read_bytes() if corpus.exists() else FALLBACK_MESSAGE


@dataclass
class Run:
    """One timed client run."""

    senders: int
    messages: int
    seconds: float
    latencies: list[float] = field(repr=False)

    @property
    def rate(self) -> float:
        return self.messages / self.seconds

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class BenchError(Exception):
    pass


async def _sender(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    template: Template,
    control_ids: list[str],
    latencies: list[float] | None,
) -> None:
    for control_id in control_ids:
        started = time.perf_counter()
        writer.write(template.frame(control_id))
        reply = await reader.readuntil(FS + CR)
        if latencies is not None:
            latencies.append(time.perf_counter() - started)
        if b"MSA|AA|" + control_id.encode() not in reply:
            raise BenchError(f"no AA for {control_id}: {reply[:200]!r}")


async def drive(
    port: int, *, senders: int, count: int, warmup: int, template: Template, tag: str
) -> Run:
    """``count`` messages over ``senders`` connections, after ``warmup`` untimed ones."""
    links = [await asyncio.open_connection("127.0.0.1", port) for _ in range(senders)]
    try:

        def ids(phase: str, total: int, sender: int) -> list[str]:
            share = total // senders + (1 if sender < total % senders else 0)
            return [f"{tag}{phase}{sender}-{i}" for i in range(share)]

        await asyncio.gather(
            *(_sender(r, w, template, ids("w", warmup, k), None) for k, (r, w) in enumerate(links))
        )
        latencies: list[float] = []
        started = time.perf_counter()
        await asyncio.gather(
            *(
                _sender(r, w, template, ids("t", count, k), latencies)
                for k, (r, w) in enumerate(links)
            )
        )
        seconds = time.perf_counter() - started
    finally:
        for _reader, writer in links:
            writer.close()
    return Run(senders, count, seconds, latencies)


# -- the bare pieces of the limit -------------------------------------------------------------


def sqlite_commit_loop(folder: Path, payload: bytes, count: int) -> list[float]:
    """Seconds per autocommit INSERT on WAL + synchronous=FULL (one fsync each)."""
    path = folder / f"bare-{secrets.token_hex(4)}.db"
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL").fetchall()
        conn.execute("PRAGMA synchronous = FULL")
        if conn.execute("PRAGMA synchronous").fetchone()[0] != 2:
            raise BenchError("synchronous=FULL did not take")
        conn.execute("CREATE TABLE m (id INTEGER PRIMARY KEY, payload BLOB NOT NULL)")
        times = []
        for _ in range(count):
            started = time.perf_counter()
            conn.execute("INSERT INTO m (payload) VALUES (?)", (payload,))
            times.append(time.perf_counter() - started)
    finally:
        conn.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    return times


def postgres_commit_loop(dsn: str, schema: str, payload: bytes, count: int) -> list[float]:
    import psycopg

    times = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        settings = [
            conn.execute(f"SHOW {name}").fetchone() for name in ("fsync", "synchronous_commit")
        ]
        if [row[0] if row else None for row in settings] != ["on", "on"]:
            raise BenchError(f"PostgreSQL is not durable here: {settings}")
        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        conn.execute(f'CREATE TABLE "{schema}".bare (id bigserial PRIMARY KEY, payload bytea)')
        try:
            for _ in range(count):
                started = time.perf_counter()
                conn.execute(f'INSERT INTO "{schema}".bare (payload) VALUES (%s)', (payload,))
                times.append(time.perf_counter() - started)
        finally:
            conn.execute(f'DROP TABLE "{schema}".bare')
    return times


def store_accept_loop(
    kind: str, template: Template, *, folder: Path, dsn: str, schema: str, count: int, tag: str
) -> list[float]:
    """Seconds per ``store.accept([message])`` called one at a time, outside the engine: the
    store's own cost (its statements, its pages, its writer thread) over a bare commit."""
    sys.path.insert(0, str(SRC))
    from eprlink.store import InboundMessage, Store
    from eprlink.store.postgres import PostgresStore
    from eprlink.store.sqlite import SQLiteStore

    header = template.payload("X").split(b"\r", 1)[0].split(b"|")
    app, facility = header[2].decode(), header[3].decode()
    kind_of = header[8].decode().split("^")
    message_type = "^".join(kind_of[:2])

    async def run() -> list[float]:
        path = folder / f"accept-{secrets.token_hex(4)}.db"
        store: Store = (
            SQLiteStore(path)
            if kind == "sqlite"
            else PostgresStore(dsn, schema=schema, application_name="bench")
        )
        await store.open()
        times = []
        try:
            for index in range(count):
                control_id = f"{tag}{index}"
                message = InboundMessage(
                    channel="adt",
                    payload=template.payload(control_id),
                    received_at=datetime.datetime.now(datetime.UTC),
                    peer="127.0.0.1:1",
                    control_id=control_id,
                    message_type=message_type,
                    sending_application=app,
                    sending_facility=facility,
                    destinations=("pas",),
                    identifiers=(("NHS", "9990000018"),),
                )
                started = time.perf_counter()
                await store.accept([message], dedupe_window=datetime.timedelta(days=7))
                times.append(time.perf_counter() - started)
        finally:
            await store.close()
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return times

    return asyncio.run(run())


class _BareProtocol(asyncio.Protocol):
    """Frames by hand and answers MSA|AA with MSH-10 cut out of the bytes."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.buffer = bytearray()

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(FS + CR)) >= 0:
            start = self.buffer.find(VT)
            payload = bytes(self.buffer[start + 1 : end])
            del self.buffer[: end + 2]
            control_id = payload.split(b"\r", 1)[0].split(b"|")[9]
            self.transport.write(
                VT
                + b"MSH|^~\\&|TIE|ZZ1|PAS|RXX01|20250101120000||ACK^A01^ACK|A"
                + control_id
                + b"|P|2.4\rMSA|AA|"
                + control_id
                + b"\r"
                + FS
                + CR
            )


def serve_bare(port: int) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(_BareProtocol, "127.0.0.1", port)
        print("ready", flush=True)
        stop = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()
        server.close()

    asyncio.run(main())


# -- the engine process -----------------------------------------------------------------------


def engine_toml(
    folder: Path, *, store: str, dsn: str, port: int, destination_port: int, poll: str = "5s"
) -> Path:
    store_section = {
        "memory": 'kind = "memory"',
        "sqlite": 'kind = "sqlite"\nmin_free_disk = "off"',
        "postgres": f'kind = "postgres"\ndsn = "{dsn}"',
    }[store]
    text = f"""
[engine]
name = "TIE"
facility = "ZZ1"
data_dir = "{folder}"
poll_interval = "{poll}"
shutdown_timeout = "5s"

[store]
{store_section}

[profiles]
layers = []

[metrics]
listen = "off"

[[channels]]
name = "adt"
validate = false

[channels.source]
kind = "mllp_listener"
port = {port}
encoding = "utf-8"
max_connections = 64
max_connections_per_peer = 64

[[channels.destinations]]
name = "pas"
kind = "mllp"
host = "127.0.0.1"
port = {destination_port}
ack_timeout = "5s"
connect_timeout = "1s"
backoff_initial = "1ms"
backoff_max = "20ms"
"""
    path = folder / f"{store}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def serve_engine(config_path: str, schema: str | None, loop_name: str) -> None:
    """What ``eprlink run`` does, with a PostgreSQL schema of the benchmark's own."""
    sys.path.insert(0, str(SRC))
    from eprlink.engine import Engine, load_config
    from eprlink.mllp import loop_factory
    from eprlink.store import Store

    config = load_config(config_path, environ=os.environ)
    store: Store | None = None
    if schema is not None:
        from eprlink.store.postgres import PostgresStore

        store = PostgresStore(config.store.dsn or "", schema=schema, application_name="bench")

    async def main() -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        engine = Engine(config, store=store)
        await engine.start()
        print("ready", flush=True)
        try:
            await stop.wait()
        finally:
            await engine.stop()

    factory = loop_factory() if loop_name == "uvloop" else asyncio.new_event_loop
    # EPRLINK_BENCH_PROFILE=DIR: write a cProfile of each engine process there (for finding
    # where the intake's time goes; profiled runs are not measurements).
    profile_dir = os.environ.get("EPRLINK_BENCH_PROFILE")
    profiler = cProfile.Profile() if profile_dir else None
    if profiler is not None:
        profiler.enable()
    try:
        with asyncio.Runner(loop_factory=factory) as runner:
            runner.run(main())
    finally:
        if profiler is not None and profile_dir:
            profiler.disable()
            name = f"engine-{Path(config_path).stem}-{os.getpid()}.prof"
            profiler.dump_stats(str(Path(profile_dir) / name))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """A server subprocess (this script with ``--serve-…``) that prints ``ready``."""

    def __init__(self, *args: str) -> None:
        env = {**os.environ, "PYTHONPATH": str(SRC)}
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), *args],
            stdout=subprocess.PIPE,
            stderr=sys.stderr,
            env=env,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if line.strip() != b"ready":
            self.process.kill()
            raise BenchError(f"server {args} did not start: {line!r}")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def drop_schema(dsn: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


# -- the run ----------------------------------------------------------------------------------


def measure_engine(
    store: str, args: argparse.Namespace, template: Template, rep: int, schema: str
) -> dict[str, Run]:
    with tempfile.TemporaryDirectory(dir=args.data_dir) as folder:
        port = free_port()
        config = engine_toml(
            Path(folder), store=store, dsn=args.dsn, port=port, destination_port=free_port()
        )
        extra = ["--schema", schema] if store == "postgres" else []
        server = Server("--serve-engine", str(config), "--loop", args.loop, *extra)
        try:
            runs = {}
            for senders in (1, 8):
                runs[str(senders)] = asyncio.run(
                    drive(
                        port,
                        senders=senders,
                        count=args.n,
                        warmup=args.warmup,
                        template=template,
                        tag=f"r{rep}{store[0]}{senders}-",
                    )
                )
        finally:
            server.stop()
            if store == "postgres":
                drop_schema(args.dsn, schema)
    return runs


def us(seconds: float) -> str:
    return f"{seconds * 1e6:,.0f}"


def rate(value: float) -> str:
    return f"{value:,.0f}"


def ratio(value: float) -> str:
    return f"{value:.2f}"


def report(results: dict[str, Any]) -> str:
    reps = results["reps"]
    stores = results["args"]["stores"]
    lines = []
    env = results["env"]
    lines.append(
        f"# store-then-ACK, run {env['date_utc']} UTC, {env['cpus']} cpus, python {env['python']}, "
        f"loop {results['args']['loop']}, message {env['message_bytes']} bytes, "
        f"n={results['args']['n']} per configuration, {len(reps)} interleaved reps"
    )
    lines.append("")
    lines.append(
        f"load average before/after: {env['load_before']} / {env['load_after']}; "
        f"data folder {env['data_dir']} ({env['filesystem']}); source {env['source']}"
    )
    lines.append("")
    columns = " | ".join(f"rep {i + 1}" for i in range(len(reps)))
    lines.append(f"| measure | {columns} | median |")
    lines.append("|---|" + "---:|" * (len(reps) + 1))

    def row(label: str, values: list[float], fmt: Callable[[float], str]) -> None:
        cells = " | ".join(fmt(v) for v in values)
        lines.append(f"| {label} | {cells} | {fmt(statistics.median(values))} |")

    commit = [r["sqlite_commit_s"] for r in reps]
    trip = [r["round_trip_s"] for r in reps]
    limit = [r["limit"] for r in reps]
    row("SQLite FULL commit, bare loop (µs, median)", commit, us)
    row("loopback MLLP round trip, bare asyncio server (µs, median)", trip, us)
    row("**machine limit** 1/(commit + round trip) (msg/s)", limit, rate)
    if "sqlite" in stores:
        row(
            "SQLiteStore.accept alone, one at a time (µs, median)",
            [r["sqlite_accept_s"] for r in reps],
            us,
        )
    if "postgres" in stores:
        row("PostgreSQL commit, bare loop (µs, median)", [r["postgres_commit_s"] for r in reps], us)
        row(
            "PostgresStore.accept alone, one at a time (µs, median)",
            [r["postgres_accept_s"] for r in reps],
            us,
        )
    for store in stores:
        for senders in ("1", "8"):
            runs = [r["engine"][store][senders] for r in reps]
            row(f"eprlink {store}, {senders} sender(s) (msg/s)", [x["rate"] for x in runs], rate)
            row(f"eprlink {store}, {senders} sender(s), p50 (µs)", [x["p50"] for x in runs], us)
            row(f"eprlink {store}, {senders} sender(s), p99 (µs)", [x["p99"] for x in runs], us)
    lines.append("")
    lines.append("| ratio to the machine limit | of medians | per rep | target | met |")
    lines.append("|---|---:|---|---:|---|")
    for store in stores:
        for senders, target in (("1", 0.8), ("8", 3.0)):
            per_rep = [r["engine"][store][senders]["rate"] / r["limit"] for r in reps]
            medians = statistics.median(
                [r["engine"][store][senders]["rate"] for r in reps]
            ) / statistics.median(limit)
            shown = ", ".join(ratio(x) for x in per_rep)
            durable = store != "memory"
            goal = f"≥ {target:g}" if durable else "(no durability)"
            met = ""
            if durable:
                hits = sum(x >= target for x in per_rep)
                met = "yes" if medians >= target else f"**no** ({hits} of {len(per_rep)} reps)"
            lines.append(
                f"| {store}, {senders} sender(s) | {ratio(medians)} | {shown} | {goal} | {met} |"
            )
    lines.append("")
    lines.append("| where the time goes, 1 sender (µs per message, medians) | value |")
    lines.append("|---|---:|")
    m_commit = statistics.median(commit)
    m_trip = statistics.median(trip)
    lines.append(
        f"| bare round trip + bare SQLite commit (the limit's period) | {us(m_commit + m_trip)} |"
    )
    for store in stores:
        period = statistics.median([1 / r["engine"][store]["1"]["rate"] for r in reps])
        lines.append(f"| eprlink {store}, 1 sender: time per message | {us(period)} |")
    if "memory" in stores and "sqlite" in stores:
        memory = statistics.median([1 / r["engine"]["memory"]["1"]["rate"] for r in reps])
        sqlite_period = statistics.median([1 / r["engine"]["sqlite"]["1"]["rate"] for r in reps])
        lines.append(
            f"| engine without durability (memory) − bare round trip | {us(memory - m_trip)} |"
        )
        lines.append(
            f"| SQLite store in the engine (sqlite − memory) | {us(sqlite_period - memory)} |"
        )
        lines.append(
            f"| … of which beyond one bare commit | {us(sqlite_period - memory - m_commit)} |"
        )
        accept = statistics.median([r["sqlite_accept_s"] for r in reps])
        own = us(accept - m_commit)
        lines.append(f"| SQLiteStore.accept alone − bare commit (the store's own work) | {own} |")
        lines.append(
            f"| sqlite − memory − SQLiteStore.accept alone (running inside the engine) "
            f"| {us(sqlite_period - memory - accept)} |"
        )
    return "\n".join(lines)


def load_average() -> str:
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "?"


def filesystem(folder: str) -> str:
    best = ("", "?")
    with open("/proc/mounts") as mounts:
        for line in mounts:
            parts = line.split()
            if len(parts) > 2 and folder.startswith(parts[1]) and len(parts[1]) >= len(best[0]):
                best = (parts[1], f"{parts[2]} on {parts[0]}")
    return best[1]


def revision() -> str:
    """The commit measured, and whether the tree had changes (the script snapshots it)."""
    try:
        head = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--", "src"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head}{' + uncommitted changes' if dirty else ''} (src from {SRC})"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--serve-bare", type=int, metavar="PORT")
    parser.add_argument("--serve-engine", metavar="CONFIG")
    parser.add_argument("--schema")
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument(
        "-n", "--n", type=int, default=2000, help="timed messages per configuration"
    )
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--commits", type=int, default=2000, help="bare commits per rep")
    parser.add_argument("--round-trips", type=int, default=5000, help="bare round trips per rep")
    parser.add_argument("--stores", default="memory,sqlite,postgres")
    parser.add_argument("--message")
    parser.add_argument("--dsn", default=os.environ.get("EPRLINK_BENCH_PG_DSN", DEFAULT_DSN))
    parser.add_argument("--data-dir", default=tempfile.gettempdir())
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    if args.serve_bare is not None:
        serve_bare(args.serve_bare)
        return 0
    if args.serve_engine is not None:
        serve_engine(args.serve_engine, args.schema, args.loop)
        return 0

    stores = [s for s in args.stores.split(",") if s]
    payload = load_message(args.message)
    template = Template(payload)
    env = {
        "date_utc": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "message_bytes": template.size,
        "data_dir": args.data_dir,
        "filesystem": filesystem(os.path.realpath(args.data_dir)),
        "load_before": load_average(),
        "source": revision(),
    }
    schema = f"eprlink_bench_{int(time.time())}_{secrets.token_hex(3)}"
    reps = []
    for rep in range(args.reps):
        print(f"rep {rep + 1}/{args.reps}", file=sys.stderr, flush=True)
        commits = sqlite_commit_loop(Path(args.data_dir), payload, args.commits)
        bare_port = free_port()
        bare = Server("--serve-bare", str(bare_port))
        try:
            trip_run = asyncio.run(
                drive(
                    bare_port,
                    senders=1,
                    count=args.round_trips,
                    warmup=args.warmup,
                    template=template,
                    tag=f"b{rep}-",
                )
            )
        finally:
            bare.stop()
        commit_s = statistics.median(commits)
        trip_s = statistics.median(trip_run.latencies)
        record: dict[str, Any] = {
            "sqlite_commit_s": commit_s,
            "sqlite_commit_p99_s": sorted(commits)[int(0.99 * len(commits))],
            "round_trip_s": trip_s,
            "round_trip_rate": trip_run.rate,
            "limit": 1 / (commit_s + trip_s),
            "engine": {},
        }
        if "sqlite" in stores:
            accepts = store_accept_loop(
                "sqlite",
                template,
                folder=Path(args.data_dir),
                dsn=args.dsn,
                schema=schema,
                count=args.commits,
                tag=f"a{rep}-",
            )
            record["sqlite_accept_s"] = statistics.median(accepts)
        if "postgres" in stores:
            pg_times = postgres_commit_loop(args.dsn, schema, payload, args.commits)
            record["postgres_commit_s"] = statistics.median(pg_times)
            drop_schema(args.dsn, schema)
            accepts = store_accept_loop(
                "postgres",
                template,
                folder=Path(args.data_dir),
                dsn=args.dsn,
                schema=schema,
                count=args.commits,
                tag="p",
            )
            record["postgres_accept_s"] = statistics.median(accepts)
            drop_schema(args.dsn, schema)
        for store in stores:
            runs = measure_engine(store, args, template, rep, schema)
            record["engine"][store] = {
                senders: {
                    "rate": run.rate,
                    "p50": run.percentile(0.50),
                    "p99": run.percentile(0.99),
                    "messages": run.messages,
                    "seconds": run.seconds,
                }
                for senders, run in runs.items()
            }
            print(
                f"  {store}: "
                + ", ".join(f"{k} sender(s) {v.rate:,.0f} msg/s" for k, v in runs.items()),
                file=sys.stderr,
                flush=True,
            )
        print(
            f"  limit {record['limit']:,.0f} msg/s (commit {commit_s * 1e6:,.0f} µs, "
            f"round trip {trip_s * 1e6:,.0f} µs)",
            file=sys.stderr,
            flush=True,
        )
        reps.append(record)
    env["load_after"] = load_average()
    results = {"env": env, "args": {**vars(args), "stores": stores}, "reps": reps}
    print(report(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
