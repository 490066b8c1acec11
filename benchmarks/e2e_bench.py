"""End to end at a fixed offered load: MLLP sender → eprlink (store, then ACK) → the
destination's durable FIFO queue → MLLP destination. Throughput and p50/p99 latency.

The engine runs in its own process (``store_bench.py --serve-engine``: what ``eprlink run``
builds from an ``eprlink.toml``), with one listener (``validate = false``) and one MLLP
destination. The senders and the downstream live in this process, so both ends of a message
are timed on one clock:

* **Offered load**: message *i* is due at ``t0 + i / rate`` and goes out on connection
  ``i mod C`` (one message in flight per connection). Latencies are measured from the due
  time, not from the actual send, so a sender that falls behind shows up as latency instead of
  quietly lowering the load (no coordinated omission).
* **ACK latency**: due time → the engine's AA (commit included).
* **End-to-end latency**: due time → the downstream's first receipt of that MSH-10. The
  downstream answers AA at once; the engine delivers one message at a time, in order (P3).

Reported per store: offered and achieved rates, delivered msg/s over the run, ACK and
end-to-end p50/p99/max, the downstream's duplicates and whether first deliveries kept the
acceptance order.

    python benchmarks/e2e_bench.py [--rate 200] [--seconds 15] [--connections 4]
        [--stores sqlite,postgres] [--loop asyncio|uvloop] [--dsn DSN] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import platform
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from store_bench import (
    CR,
    DEFAULT_DSN,
    FS,
    VT,
    BenchError,
    Server,
    Template,
    drop_schema,
    engine_toml,
    free_port,
    load_average,
    load_message,
)


class Downstream:
    """Answers AA at once and notes when each MSH-10 first arrived, and in which order."""

    def __init__(self) -> None:
        self.first: dict[str, float] = {}
        self.order: list[str] = []
        self.receipts = 0
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                data = await reader.readuntil(FS + CR)
                now = time.perf_counter()
                payload = data[data.find(VT) + 1 : -2]
                control_id = payload.split(b"\r", 1)[0].split(b"|")[9].decode()
                self.receipts += 1
                if control_id not in self.first:
                    self.first[control_id] = now
                    self.order.append(control_id)
                writer.write(
                    VT
                    + b"MSH|^~\\&|PAS|RXX01|TIE|ZZ1|20250101120000||ACK^A01^ACK|D"
                    + control_id.encode()
                    + b"|P|2.4\rMSA|AA|"
                    + control_id.encode()
                    + b"\r"
                    + FS
                    + CR
                )
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def close(self) -> None:
        if self.server is not None:
            self.server.close()


async def offer(
    port: int, downstream: Downstream, template: Template, args: argparse.Namespace, tag: str
) -> dict[str, Any]:
    total = int(args.rate * args.seconds)
    ids = [f"{tag}{i:07d}" for i in range(total)]
    links = [await asyncio.open_connection("127.0.0.1", port) for _ in range(args.connections)]
    acked: dict[str, float] = {}
    start = time.perf_counter() + 0.2
    due = {cid: start + i / args.rate for i, cid in enumerate(ids)}

    async def sender(index: int) -> None:
        reader, writer = links[index]
        for cid in ids[index :: args.connections]:
            delay = due[cid] - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            writer.write(template.frame(cid))
            reply = await reader.readuntil(FS + CR)
            acked[cid] = time.perf_counter()
            if b"MSA|AA|" + cid.encode() not in reply:
                raise BenchError(f"no AA for {cid}")

    try:
        await asyncio.gather(*(sender(k) for k in range(args.connections)))
        last_ack = time.perf_counter()
        async with asyncio.timeout(args.drain_timeout):
            while len(downstream.first) < total:
                await asyncio.sleep(0.01)
    finally:
        for _reader, writer in links:
            writer.close()
    ack_lat = sorted(acked[c] - due[c] for c in ids)
    e2e_lat = sorted(downstream.first[c] - due[c] for c in ids)

    def pct(values: list[float], q: float) -> float:
        return values[min(len(values) - 1, int(q * len(values)))]

    last_delivery = max(downstream.first[c] for c in ids)
    return {
        "messages": total,
        "offered_rate": args.rate,
        "accepted_rate": total / (last_ack - start),
        "delivered_rate": total / (last_delivery - start),
        "ack_p50": pct(ack_lat, 0.5),
        "ack_p99": pct(ack_lat, 0.99),
        "ack_max": ack_lat[-1],
        "e2e_p50": pct(e2e_lat, 0.5),
        "e2e_p99": pct(e2e_lat, 0.99),
        "e2e_max": e2e_lat[-1],
        "duplicates": downstream.receipts - len(downstream.first),
        # within one connection the acceptance order is exact (one message in flight), so
        # each connection's messages must reach the downstream first in that order (P3)
        "order_kept": all(
            [c for c in downstream.order if c in mine] == ids[k :: args.connections]
            for k in range(args.connections)
            for mine in [set(ids[k :: args.connections])]
        ),
    }


def run_store(
    store: str, args: argparse.Namespace, template: Template, rate: float
) -> dict[str, Any]:
    schema = f"eprlink_bench_{int(time.time())}_{secrets.token_hex(3)}"

    async def scenario() -> dict[str, Any]:
        downstream = Downstream()
        destination = await downstream.start()
        with tempfile.TemporaryDirectory(dir=args.data_dir) as folder:
            port = free_port()
            config = engine_toml(
                Path(folder),
                store=store,
                dsn=args.dsn,
                port=port,
                destination_port=destination,
                poll="1s",
            )
            extra = ["--schema", schema] if store == "postgres" else []
            loop = asyncio.get_running_loop()
            server = await loop.run_in_executor(
                None, lambda: Server("--serve-engine", str(config), "--loop", args.loop, *extra)
            )
            try:
                local = argparse.Namespace(**{**vars(args), "rate": rate})
                return await offer(port, downstream, template, local, f"{store[0]}{int(rate)}-")
            finally:
                await loop.run_in_executor(None, server.stop)
                downstream.close()
                if store == "postgres":
                    drop_schema(args.dsn, schema)

    return asyncio.run(scenario())


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:,.1f}"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", default="200", help="offered msg/s; a comma list runs each")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--stores", default="sqlite,postgres")
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio")
    parser.add_argument("--message")
    parser.add_argument("--dsn", default=os.environ.get("EPRLINK_BENCH_PG_DSN", DEFAULT_DSN))
    parser.add_argument("--data-dir", default=tempfile.gettempdir())
    parser.add_argument("--drain-timeout", type=float, default=120.0)
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    template = Template(load_message(args.message))
    rates = [float(r) for r in args.rate.split(",")]
    stores = [s for s in args.stores.split(",") if s]
    env = {
        "date_utc": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "message_bytes": template.size,
        "load_before": load_average(),
    }
    results: list[dict[str, Any]] = []
    for rate in rates:
        for store in stores:
            print(f"{store} at {rate:g} msg/s", file=sys.stderr, flush=True)
            outcome = run_store(store, args, template, rate)
            results.append({"store": store, **outcome})
    env["load_after"] = load_average()
    print(
        f"# end to end, run {env['date_utc']} UTC, {env['cpus']} cpus, python {env['python']}, "
        f"loop {args.loop}, message {env['message_bytes']} bytes, {args.seconds:g} s per load, "
        f"{args.connections} sender connections"
    )
    print()
    print(f"load average before/after: {env['load_before']} / {env['load_after']}")
    print()
    print(
        "| store | offered msg/s | accepted msg/s | delivered msg/s | ACK p50 ms | ACK p99 ms "
        "| end-to-end p50 ms | end-to-end p99 ms | end-to-end max ms | duplicates | order kept |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in results:
        print(
            f"| {r['store']} | {r['offered_rate']:,.0f} | {r['accepted_rate']:,.0f} "
            f"| {r['delivered_rate']:,.0f} | {ms(r['ack_p50'])} | {ms(r['ack_p99'])} "
            f"| {ms(r['e2e_p50'])} | {ms(r['e2e_p99'])} | {ms(r['e2e_max'])} "
            f"| {r['duplicates']} | {'yes' if r['order_kept'] else '**no**'} |"
        )
    if args.json:
        Path(args.json).write_text(
            json.dumps({"env": env, "args": vars(args), "results": results}, indent=1),
            encoding="utf-8",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
