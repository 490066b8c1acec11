"""eprlink's MLLP receiver beside the shared harness' servers, in one interleaved run.

Servers, each in its own process (client and server get a core each on a 2-core box):

  eprlink               MLLPServer + eprlink.ack.answer_bytes(): header parse, charset check
                        of the whole payload, HD-13, policy ACK (answer()'s reply bytes), no
                        storage, on asyncio's own event loop
  eprlink-uvloop        the same on uvloop (picked by eprlink.mllp.loop_factory(), as
                        ``eprlink listen`` does when uvloop is installed)
  eprlink-frame         MLLPServer whose handler builds the ACK from raw bytes exactly as the
                        harness' ``raw_ack`` does: eprlink's transport cost without HL7 work
  eprlink-frame-uvloop  the same on uvloop
  asyncio, uvloop, hl7mllp, hl7mllp-frame, socket, c
                        the harness' own servers (``mllp_bench.py --serve MODE``, and the C
                        server ``mllp_pingpong server``), started unchanged

Clients: ``c`` = the harness' C ping-pong client (isolates the server's cost); ``py`` = the
matching Python client from the harness (asyncio.Protocol for the asyncio servers and for
eprlink on asyncio, uvloop Protocol for the uvloop ones, hl7.mllp for python-hl7, blocking
socket for socket and c). One message in flight, every ACK checked for ``MSA|AA``.

Each (server, client) pair runs N timed messages after W warm-up messages; the pairs are run
interleaved (rep 1 of every pair, then rep 2, ...), ``--reps`` times. The report gives median
msg/s, p50 and p99 per pair and eprlink's ratios against the bare asyncio framing server
(design target: ≥ 0.8×) and python-hl7's receiver, each as the ratio of medians and as the
range of the paired per-rep ratios.

The harness is imported (``mllp_bench`` from ``--bench-dir``, default ``../shared/bench``
relative to the repo root, or ``$BENCH_DIR``), not copied; eprlink comes from ``src/`` next to
this folder, so no install is needed (its MLLP, ACK and HL7 packages are stdlib only).

    python benchmarks/mllp_eprlink_bench.py [-n 5000] [--warmup 200] [--reps 3]
        [--message PATH] [--pairs eprlink:c,asyncio:c,...] [--n-for hl7mllp=300]
        [--json out.json] [--profile-dir DIR]
    python benchmarks/mllp_eprlink_bench.py --serve MODE --port P   (internal: one server)
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import datetime
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SRC = os.path.join(ROOT, "src")
DEFAULT_BENCH_DIR = os.path.join(ROOT, "..", "shared", "bench")

# The ACK's sending application and facility, as the harness' raw ACK and C server use.
APP, FACILITY = "TIE", "ZZ1"

# eprlink's servers: mode -> (handler kind, event loop).
EPRLINK_MODES: dict[str, tuple[str, str]] = {
    "eprlink": ("answer", "asyncio"),
    "eprlink-uvloop": ("answer", "uvloop"),
    "eprlink-frame": ("frame", "asyncio"),
    "eprlink-frame-uvloop": ("frame", "uvloop"),
}
HARNESS_MODES = ("hl7mllp", "hl7mllp-frame", "asyncio", "uvloop", "socket", "c")

# Pairs run in this order within each rep, so that the pairs a ratio compares run next to each
# other in time (the C-client runs first, then the Python clients, then python-hl7's slow ones).
DEFAULT_PAIRS = (
    "eprlink:c,eprlink-frame:c,asyncio:c,eprlink-uvloop:c,eprlink-frame-uvloop:c,uvloop:c,c:c,"
    "eprlink:py,eprlink-frame:py,asyncio:py,eprlink-uvloop:py,uvloop:py,hl7mllp:c,hl7mllp:py"
)
# Rows are printed in this order whatever the run order.
DISPLAY_ORDER = (*EPRLINK_MODES, "asyncio", "uvloop", "hl7mllp", "hl7mllp-frame", "socket", "c")

# The design target: eprlink (receive + ACK, no storage) at >= 0.8x the bare asyncio server's
# msg/s, i.e. at most 1/0.8 - 1 = 25 % more time per message.
TARGET = 0.8

# (label, numerator pair, denominator pair, target or None): rate ratios, > 1 = faster.
# Written as "SERVER:CLIENT" strings to keep the table readable.
_RATIO_SPECS: tuple[tuple[str, str, str, float | None], ...] = (
    ("eprlink (asyncio) / asyncio raw, C client", "eprlink:c", "asyncio:c", TARGET),
    ("eprlink (uvloop) / asyncio raw, C client", "eprlink-uvloop:c", "asyncio:c", TARGET),
    ("eprlink (asyncio) / asyncio raw, Python clients", "eprlink:py", "asyncio:py", None),
    ("eprlink (uvloop) / uvloop raw, C client", "eprlink-uvloop:c", "uvloop:c", None),
    ("eprlink-frame (asyncio) / asyncio raw, C client", "eprlink-frame:c", "asyncio:c", None),
    ("eprlink-frame (uvloop) / uvloop raw, C client", "eprlink-frame-uvloop:c", "uvloop:c", None),
    ("eprlink / eprlink-frame (asyncio), C client", "eprlink:c", "eprlink-frame:c", None),
    ("eprlink (asyncio) / python-hl7 hl7mllp, C client", "eprlink:c", "hl7mllp:c", None),
    ("eprlink (uvloop) / python-hl7 hl7mllp, C client", "eprlink-uvloop:c", "hl7mllp:c", None),
    ("eprlink (asyncio) / python-hl7, Python clients", "eprlink:py", "hl7mllp:py", None),
)

# (label, slower pair, faster pair): extra microseconds per message, C client, where
# microseconds per message = 1e6 / msg/s (one message in flight).
_COST_SPECS: tuple[tuple[str, str, str], ...] = (
    ("eprlink transport, asyncio (eprlink-frame - asyncio)", "eprlink-frame:c", "asyncio:c"),
    ("answer_bytes(), asyncio (eprlink - eprlink-frame)", "eprlink:c", "eprlink-frame:c"),
    ("eprlink in all, asyncio (eprlink - asyncio)", "eprlink:c", "asyncio:c"),
    (
        "eprlink transport, uvloop (eprlink-frame-uvloop - uvloop)",
        "eprlink-frame-uvloop:c",
        "uvloop:c",
    ),
    (
        "answer_bytes(), uvloop (eprlink-uvloop - eprlink-frame-uvloop)",
        "eprlink-uvloop:c",
        "eprlink-frame-uvloop:c",
    ),
    (
        "eprlink on uvloop vs asyncio raw (eprlink-uvloop - asyncio)",
        "eprlink-uvloop:c",
        "asyncio:c",
    ),
)


def _pair(spec: str) -> tuple[str, str]:
    server, client = spec.split(":")
    return server, client


RATIOS = tuple((label, _pair(a), _pair(b), target) for label, a, b, target in _RATIO_SPECS)
COSTS = tuple((label, _pair(a), _pair(b)) for label, a, b in _COST_SPECS)


def bench_dir(arg: str | None = None) -> str:
    return os.path.abspath(arg or os.environ.get("BENCH_DIR") or DEFAULT_BENCH_DIR)


def import_harness(directory: str) -> Any:
    """The harness' ``mllp_bench`` module, imported from its own folder."""
    if not os.path.isfile(os.path.join(directory, "mllp_bench.py")):
        raise SystemExit(f"no mllp_bench.py in {directory}: set BENCH_DIR or --bench-dir")
    if directory not in sys.path:
        sys.path.insert(0, directory)
    import mllp_bench

    return mllp_bench


def import_eprlink() -> None:
    if SRC not in sys.path:
        sys.path.insert(0, SRC)


# ------------------------------------------------------------------ eprlink servers
def make_handler(kind: str, raw_ack: Callable[[bytes], bytes]) -> Any:
    import_eprlink()
    from eprlink.ack import answer_bytes
    from eprlink.mllp import PeerInfo

    if kind == "answer":

        def handle_answer(payload: bytes, peer: PeerInfo) -> bytes | None:
            # What a listener that keeps nothing does per frame: the reply answer() would give,
            # as bytes, returned at once so the session writes it without a task.
            return answer_bytes(payload, sending_application=APP, sending_facility=FACILITY)

        return handle_answer

    def handle_frame(payload: bytes, peer: PeerInfo) -> bytes | None:
        # raw_ack returns a framed ACK; MLLPServer frames the reply itself, so unwrap it.
        return raw_ack(payload)[1:-2]

    return handle_frame


def serve(mode: str, port: int, harness_dir: str, profile: str | None) -> None:
    """Run one eprlink server until SIGTERM; print READY once it listens."""
    kind, loop_name = EPRLINK_MODES[mode]
    harness = import_harness(harness_dir)
    import_eprlink()
    from eprlink.mllp import MLLPServer, SessionPolicy, loop_factory

    handler = make_handler(kind, harness.raw_ack)
    factory = asyncio.new_event_loop if loop_name == "asyncio" else loop_factory()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        actual = type(loop).__module__.split(".")[0]
        if actual != loop_name:
            raise SystemExit(f"{mode}: wanted the {loop_name} loop, got {type(loop)!r}")
        stop = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        server = MLLPServer(handler, host="127.0.0.1", port=port, policy=SessionPolicy())
        await server.start()
        print("READY", flush=True)
        await stop.wait()
        await server.close(timeout=1.0)

    profiler = cProfile.Profile()
    if profile:
        profiler.enable()
    try:
        with asyncio.Runner(loop_factory=factory) as runner:
            runner.run(main())
    finally:
        if profile:
            profiler.disable()
            profiler.dump_stats(profile)


# ------------------------------------------------------------------ driver
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_server(
    mode: str, port: int, harness: Any, harness_dir: str, profile: str | None
) -> subprocess.Popen[str]:
    if mode in EPRLINK_MODES:
        cmd = [sys.executable, os.path.abspath(__file__), "--serve", mode, "--port", str(port)]
        cmd += ["--bench-dir", harness_dir]
        if profile:
            cmd += ["--profile", profile]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = proc.stdout.readline() if proc.stdout else ""
        if "READY" not in line:
            proc.kill()
            err = proc.stderr.read()[:800] if proc.stderr else ""
            raise RuntimeError(f"server {mode} failed: {line!r} {err}")
        return proc
    started: subprocess.Popen[str] = harness.start_server(mode, port)
    return started


def client_base(mode: str) -> str:
    """Which harness client serves as the 'py' client of a server mode."""
    if mode in EPRLINK_MODES:
        return EPRLINK_MODES[mode][1]
    return mode


def client_name(mode: str, client: str, harness: Any) -> str:
    if client == "c":
        return "C (mllp_pingpong)"
    name: str = harness.PY_CLIENT_NAME[client_base(mode)]
    return name


def stop_servers(procs: dict[str, subprocess.Popen[str]]) -> None:
    for proc in procs.values():
        proc.send_signal(signal.SIGTERM)
    for proc in procs.values():
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _fmt_ratio(x: float) -> str:
    return f"{x:,.0f}" if x >= 100 else f"{x:,.1f}" if x >= 10 else f"{x:.2f}"


def report(
    info: dict[str, Any],
    pairs: list[tuple[str, str]],
    results: dict[tuple[str, str], list[dict[str, Any]]],
    harness: Any,
) -> list[dict[str, Any]]:
    reps = info["reps"]
    print(
        f"# mllp_eprlink_bench {info['date_utc']} UTC  python {info['python']}  "
        f"cpus {info['cpu_count']}  {info['platform']}"
    )
    print(
        f"# message {info['message']} ({info['bytes']:,} B)  n={info['n']} warmup={info['warmup']}"
        f" reps={reps}  n overrides {info['n_for'] or 'none'}  uvloop {info['uvloop']}"
    )
    print(f"# load average start {info['loadavg_start']} end {info['loadavg_end']}\n")
    ref = results.get(("c", "c"))
    ref_rate = statistics.median(r["rate"] for r in ref) if ref else None
    print(
        f"| server | client | n | msg/s (median of {reps}) | p50 us | p99 us | rate min..max "
        "| x slower than C<->C |"
    )
    print("|---|---|---:|---:|---:|---:|---|---:|")
    rows = []
    medians: dict[tuple[str, str], float] = {}
    order = {mode: i for i, mode in enumerate(DISPLAY_ORDER)}
    for pair in sorted(pairs, key=lambda p: (order[p[0]], p[1] != "c")):
        rs = results[pair]
        srv, cli = pair
        rate = statistics.median(r["rate"] for r in rs)
        medians[pair] = rate
        p50 = statistics.median(r["p50_us"] for r in rs)
        p99 = statistics.median(r["p99_us"] for r in rs)
        lo, hi = min(r["rate"] for r in rs), max(r["rate"] for r in rs)
        slower = f"{ref_rate / rate:.1f}" if ref_rate else "-"
        print(
            f"| {srv} | {client_name(srv, cli, harness)} | {rs[0]['n']:,} | {rate:,.0f} "
            f"| {p50:,.1f} | {p99:,.1f} | {lo:,.0f}..{hi:,.0f} | {slower} |"
        )
        rows.append(
            {"server": srv, "client": cli, "rate": rate, "p50_us": p50, "p99_us": p99, "runs": rs}
        )

    print("\nRatios of msg/s, same run (> 1 = the first server is faster):\n")
    print("| ratio | of medians | paired per-rep, min..max | target | met |")
    print("|---|---:|---|---:|---|")
    ratios = []
    for label, num, den, target in RATIOS:
        if num not in results or den not in results:
            continue
        of_medians = medians[num] / medians[den]
        paired = [a["rate"] / b["rate"] for a, b in zip(results[num], results[den], strict=True)]
        verdict, goal = "", ""
        if target is not None:
            goal = f"≥ {target}"
            hits = sum(p >= target for p in paired)
            verdict = (
                f"{'yes' if of_medians >= target else '**no**'} ({hits} of {len(paired)} reps)"
            )
        print(
            f"| {label} | {_fmt_ratio(of_medians)} | {_fmt_ratio(min(paired))}.."
            f"{_fmt_ratio(max(paired))} | {goal} | {verdict} |"
        )
        ratios.append(
            {"label": label, "of_medians": of_medians, "paired": paired, "target": target}
        )
    info["ratios"] = ratios

    costs = []
    base = results.get(("asyncio", "c"))
    if base is not None:
        per_msg = statistics.median(1e6 / r["rate"] for r in base)
        budget = per_msg * (1 / TARGET - 1)
        print(
            "\nWhere the time goes, C client: microseconds per message = 1e6 / msg/s, "
            "differences of paired reps:\n"
        )
        print("| quantity | us per message (median) | paired per-rep, min..max |")
        print("|---|---:|---|")
        print(f"| asyncio raw server, whole round trip | {per_msg:,.1f} | |")
        print(
            f"| budget for the {TARGET}x target: {1 / TARGET - 1:.0%} of the asyncio round trip "
            f"| {budget:,.1f} | |"
        )
        for label, slow, fast in COSTS:
            if slow not in results or fast not in results:
                continue
            diffs = [
                1e6 / a["rate"] - 1e6 / b["rate"]
                for a, b in zip(results[slow], results[fast], strict=True)
            ]
            median = statistics.median(diffs)
            print(f"| {label} | {median:+,.1f} | {min(diffs):+,.1f}..{max(diffs):+,.1f} |")
            costs.append({"label": label, "median_us": median, "paired_us": diffs})
        info["asyncio_us_per_message"] = per_msg
    info["costs"] = costs
    return rows


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--serve", choices=sorted(EPRLINK_MODES))
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument(
        "--bench-dir", help="the shared harness (default $BENCH_DIR or ../shared/bench)"
    )
    ap.add_argument("-n", type=int, default=5000)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--message", help="default: adt_a01.hl7 from the harness' messages/")
    ap.add_argument("--pairs", default=DEFAULT_PAIRS, help="comma list of SERVER:CLIENT")
    ap.add_argument(
        "--n-for",
        default="",
        help="per-server N, e.g. hl7mllp=300 (slow servers on large messages); same warm-up",
    )
    ap.add_argument("--json")
    ap.add_argument("--profile", help=argparse.SUPPRESS)
    ap.add_argument(
        "--profile-dir",
        help="run the eprlink servers under cProfile, writing DIR/<mode>.prof (slows them)",
    )
    args = ap.parse_args(argv)
    harness_dir = bench_dir(args.bench_dir)
    if args.serve:
        serve(args.serve, args.port, harness_dir, args.profile)
        return

    harness = import_harness(harness_dir)
    harness.ensure_c()
    message = args.message or os.path.join(harness_dir, "messages", "adt_a01.hl7")
    with open(message, "rb") as fh:
        payload = fh.read()
    pairs = [(s, c) for s, c in (p.split(":") for p in args.pairs.split(",") if p)]
    for srv, cli in pairs:
        if srv not in EPRLINK_MODES and srv not in HARNESS_MODES:
            raise SystemExit(f"unknown server {srv}")
        if cli not in ("c", "py"):
            raise SystemExit(f"unknown client {cli} (c or py)")
    n_for = {k: int(v) for k, v in (x.split("=") for x in args.n_for.split(",") if x)}
    try:
        import uvloop

        uvloop_version = uvloop.__version__
    except ImportError:
        uvloop_version = "not installed"
        dropped = [p for p in pairs if client_base(p[0]) == "uvloop"]
        pairs = [p for p in pairs if client_base(p[0]) != "uvloop"]
        if dropped:
            print("# uvloop not installed: skipping", dropped, file=sys.stderr)
    modes = list(dict.fromkeys(s for s, _ in pairs))
    info: dict[str, Any] = {
        "date_utc": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "message": os.path.basename(message),
        "bytes": len(payload),
        "n": args.n,
        "warmup": args.warmup,
        "reps": args.reps,
        "n_for": args.n_for,
        "uvloop": uvloop_version,
        "loadavg_start": [round(x, 2) for x in os.getloadavg()],
    }
    print(
        f"# mllp_eprlink_bench {info['date_utc']} UTC: {len(pairs)} pairs x {args.reps} reps, "
        f"{info['message']} ({len(payload)} B), n={args.n}",
        file=sys.stderr,
    )
    results: dict[tuple[str, str], list[dict[str, Any]]] = {p: [] for p in pairs}
    procs: dict[str, subprocess.Popen[str]] = {}
    ports: dict[str, int] = {}
    try:
        for mode in modes:
            ports[mode] = free_port()
            profile = None
            if args.profile_dir and mode in EPRLINK_MODES:
                os.makedirs(args.profile_dir, exist_ok=True)
                profile = os.path.join(os.path.abspath(args.profile_dir), f"{mode}.prof")
            procs[mode] = start_server(mode, ports[mode], harness, harness_dir, profile)
        t0 = time.time()
        for rep in range(args.reps):
            for srv, cli in pairs:
                n = n_for.get(srv, args.n)
                r = harness.run_client(
                    client_base(srv), cli, ports[srv], message, payload, n, args.warmup
                )
                results[(srv, cli)].append(r)
                print(
                    f"# rep {rep + 1} {srv}:{cli} {r['rate']:,.0f} msg/s p50 {r['p50_us']:.0f}us "
                    f"p99 {r['p99_us']:.0f}us ({time.time() - t0:.0f}s)",
                    file=sys.stderr,
                )
    finally:
        stop_servers(procs)
    info["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    rows = report(info, pairs, results, harness)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"env": info, "rows": rows}, fh, indent=1)
        print(f"\n# wrote {args.json}")


if __name__ == "__main__":
    main()
