"""RSS of an MLLP listener holding 1,000 idle connections: eprlink beside a bare asyncio server.

Each server runs in a child process (this script with ``--serve KIND``) on 127.0.0.1, port 0.
The parent:

1. reads the child's ``VmRSS`` from ``/proc/<pid>/status`` before any connection (baseline);
2. opens ``--connections`` (default 1,000) plain TCP connections from 127.0.0.1, in batches,
   waiting after each batch until the server reports them accepted (so the listen backlog never
   overflows), and sends nothing on them;
3. waits until the server reports every connection held and the RSS is stable (several
   consecutive readings within ``STABLE_KB``), then reads ``VmRSS`` again;
4. sends one small HL7 message on a few of the connections (first, middle, last ...) and checks
   that every reply contains ``MSA|AA``, proving the connections are live;
5. closes every connection and stops the child.

Bytes per connection = (RSS with the connections - baseline) / connections. The baseline is
taken before the first connection, so one-off costs of the first accept (lazy imports, caches,
the first handler call) are spread over the connections; they are small against 1,000.

Servers:

* ``eprlink``: ``MLLPServer(handler, host="127.0.0.1", port=0, max_connections=N+100,
  max_connections_per_peer=N+100)`` with the default ``SessionPolicy``; the handler returns a
  fixed small ACK payload (no parse). Run on asyncio's own loop and, if importable, on uvloop.
* ``bare``: ``asyncio.start_server`` with a callback that reads and discards (no echo); only
  when a chunk ends an MLLP frame (``FS CR``) does it write the same fixed framed ACK, so that
  the liveness check works the same way. Idle, it holds what any ``start_server`` connection
  holds: a StreamReader, a StreamWriter, a transport and the callback's task.

Loopback only, bounded (a hard alarm stops the run after ``TIME_LIMIT`` seconds), and the
children are always stopped. Run it from the repository root:

    .venv/bin/python benchmarks/idle_connections.py
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as _dt
import os
import platform
import resource
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SRC = os.path.join(ROOT, "src")
if SRC not in sys.path:
    sys.path.insert(0, SRC)

HOST = "127.0.0.1"
TIME_LIMIT = 55  # seconds, whole run
BATCH = 50  # connections opened before waiting for the server to accept them
STABLE_KB = 16  # RSS readings within this many kB count as the same
STABLE_READINGS = 4
POLL = 0.1
LIVE_CHECKS = 5

SB, FS, CR = b"\x0b", b"\x1c", b"\r"
ACK_PAYLOAD = (
    b"MSH|^~\\&|EPRLINK|ZZ1|BENCH|ZZ1|20240101000000||ACK^A01^ACK|IDLE1|P|2.5\rMSA|AA|IDLE1\r"
)
MESSAGE = (
    b"MSH|^~\\&|BENCH|ZZ1|EPRLINK|ZZ1|20240101000000||ADT^A01^ADT_A01|IDLE1|P|2.5\r"
    b"EVN|A01|20240101000000\r"
    b"PID|1||123456^^^ZZ1^MR||DOE^JANE||19700101|F\r"
    b"PV1|1|I|WARD1^1^1\r"
)

KINDS = {
    "eprlink-asyncio": ("eprlink", "asyncio"),
    "eprlink-uvloop": ("eprlink", "uvloop"),
    "bare-asyncio": ("bare asyncio `start_server`", "asyncio"),
    "bare-uvloop": ("bare asyncio `start_server`", "uvloop"),
}


def _raise_nofile(needed: int) -> tuple[int, int]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def _have_uvloop() -> bool:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return False
    return True


# -- child: the server ---------------------------------------------------------------------------
def _loop_factory(loop_name: str) -> Callable[[], asyncio.AbstractEventLoop]:
    if loop_name == "uvloop":
        import uvloop

        return uvloop.new_event_loop
    return asyncio.new_event_loop


async def _serve_eprlink(limit: int) -> None:
    from eprlink.mllp.server import MLLPServer

    async def handler(payload: bytes, peer: object) -> bytes:
        return ACK_PAYLOAD

    server = MLLPServer(
        handler,
        host=HOST,
        port=0,
        max_connections=limit,
        max_connections_per_peer=limit,
        backlog=BATCH * 2,
    )
    await server.start()
    try:
        await _control(server.port, lambda: server.connections)
    finally:
        await server.close(timeout=5.0)


async def _serve_bare() -> None:
    live = 0
    framed_ack = SB + ACK_PAYLOAD + FS + CR

    async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal live
        live += 1
        try:
            while data := await reader.read(65536):
                if data.endswith(FS + CR):
                    writer.write(framed_ack)
                    await writer.drain()
        except OSError:
            pass
        finally:
            live -= 1
            writer.close()

    server = await asyncio.start_server(on_client, HOST, 0, backlog=BATCH * 2)
    try:
        await _control(server.sockets[0].getsockname()[1], lambda: live)
    finally:
        server.close()


async def _control(port: int, count: Callable[[], int]) -> None:
    """Answer the parent over stdin/stdout: ``count`` -> number of connections held; ``quit``."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    print(f"port {port}", flush=True)
    while line := await reader.readline():
        command = line.strip()
        if command == b"count":
            print(f"count {count()}", flush=True)
        elif command == b"quit":
            break


def serve(kind: str, limit: int) -> None:
    _raise_nofile(limit + 64)
    server, loop_name = KINDS[kind]
    main = _serve_eprlink(limit) if server == "eprlink" else _serve_bare()
    with asyncio.Runner(loop_factory=_loop_factory(loop_name)) as runner:
        runner.run(main)


# -- parent: the measurement ---------------------------------------------------------------------
class Child:
    def __init__(self, kind: str, limit: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--serve", kind, "--limit", str(limit)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            bufsize=0,
        )
        self._buf = b""
        self.port = int(self._line(timeout=15.0).split()[1])

    def _line(self, timeout: float) -> str:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimeoutError("server did not answer")
            chunk = os.read(fd, 4096)
            if not chunk:
                raise RuntimeError(f"server exited (rc={self.proc.wait()})")
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return line.decode()

    def connections(self) -> int:
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"count\n")
        return int(self._line(timeout=5.0).split()[1])

    def rss_kb(self) -> int:
        with open(f"/proc/{self.proc.pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.write(b"quit\n")
                self.proc.stdin.close()
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def _wait_for(child: Child, target: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    held = child.connections()
    while held < target and time.monotonic() < deadline:
        time.sleep(POLL / 5)
        held = child.connections()
    return held


def _stable_rss(child: Child, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    readings = [child.rss_kb()]
    while time.monotonic() < deadline:
        time.sleep(POLL)
        readings.append(child.rss_kb())
        last = readings[-STABLE_READINGS:]
        if len(last) == STABLE_READINGS and max(last) - min(last) <= STABLE_KB:
            break
    return readings[-1]


def _exchange(sock: socket.socket) -> bytes:
    sock.settimeout(5.0)
    sock.sendall(SB + MESSAGE + FS + CR)
    reply = b""
    while not reply.endswith(FS + CR):
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed before the reply")
        reply += chunk
    return reply


@dataclass(frozen=True, slots=True)
class Result:
    kind: str
    baseline_kb: int
    loaded_kb: int
    held: int  # connections the server reported holding at the RSS reading
    held_after: int  # ... and after the liveness checks
    live: int  # replies containing MSA|AA
    checked: int
    per_conn: float  # bytes


def measure(kind: str, n: int) -> Result:
    child = Child(kind, limit=n + 100)
    socks: list[socket.socket] = []
    try:
        time.sleep(0.3)  # let the child settle after start-up
        baseline = _stable_rss(child, timeout=3.0)
        held_before = child.connections()
        assert held_before == 0, held_before
        for start in range(0, n, BATCH):
            for _ in range(start, min(start + BATCH, n)):
                sock = socket.create_connection(
                    (HOST, child.port), timeout=5.0, source_address=(HOST, 0)
                )
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                socks.append(sock)
            _wait_for(child, len(socks), timeout=10.0)
        held = _wait_for(child, n, timeout=10.0)
        loaded = _stable_rss(child, timeout=5.0)
        step = max(1, n // (LIVE_CHECKS - 1))
        picks = sorted({*range(0, n, step), n - 1})[:LIVE_CHECKS]
        live = sum(b"MSA|AA" in _exchange(socks[i]) for i in picks)
        held_after = child.connections()
    finally:
        for sock in socks:
            sock.close()
        child.stop()
    return Result(
        kind, baseline, loaded, held, held_after, live, len(picks), (loaded - baseline) * 1024 / n
    )


def _mib(kb: int) -> str:
    return f"{kb / 1024:.1f} MiB ({kb:,} kB)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--serve", choices=sorted(KINDS), help=argparse.SUPPRESS)
    parser.add_argument("--limit", type=int, default=1100, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.limit)
        return 0

    def _too_long(signum: int, frame: object) -> None:
        raise TimeoutError(f"benchmark exceeded {TIME_LIMIT} s")

    signal.signal(signal.SIGALRM, _too_long)
    signal.alarm(TIME_LIMIT)
    n = args.connections
    _raise_nofile(n + 64)
    uv = _have_uvloop()
    kinds = [k for k in KINDS if uv or not k.endswith("uvloop")]
    started = time.monotonic()
    results = [measure(kind, n) for kind in kinds]
    signal.alarm(0)

    uv_version = ""
    if uv:
        import uvloop

        uv_version = f", uvloop {uvloop.__version__}"
    print(
        f"{_dt.datetime.now(_dt.UTC):%Y-%m-%d %H:%M} UTC; Python {platform.python_version()}"
        f"{uv_version}; {platform.system()} {platform.release()} {platform.machine()}; "
        f"{n:,} idle connections from {HOST}; {time.monotonic() - started:.1f} s"
    )
    print()
    print(
        f"| server | loop | baseline RSS | RSS with {n:,} idle connections | bytes per connection "
        "| connections held | replies with MSA AA |"
    )
    print("|---|---|---:|---:|---:|---:|---:|")
    for r in results:
        server, loop_name = KINDS[r.kind]
        print(
            f"| {server} | {loop_name} | {_mib(r.baseline_kb)} | {_mib(r.loaded_kb)} "
            f"| {r.per_conn:,.0f} | {r.held:,} (after checks: {r.held_after:,}) "
            f"| {r.live}/{r.checked} |"
        )
    if not uv:
        print("\nuvloop is not importable: its rows were skipped.")
    ok = all(r.held == r.held_after == n and r.live == r.checked for r in results)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
