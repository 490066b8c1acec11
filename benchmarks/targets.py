"""eprlink against its performance targets, from one ``parse_bench.py --json`` file.

The harness prints ratios with three decimals, which rounds eprlink's cells to ``0.000``-``0.00x``;
this reads the same run's medians and prints the ratios the targets are stated in:

* *access* (parse + five fields) ≥ 100× faster than python-hl7, geometric mean over the messages;
* *access* within 2× of the ``split`` lower bound, geometric mean (and per message);
* round trip byte-exact on every message (and the five fields agree with ``split``).

    python benchmarks/targets.py benchmarks/results/parse_bench.json
"""

from __future__ import annotations

import json
import statistics
import sys
from typing import Any

CANDIDATE = "eprlink"
PEERS = ("python-hl7", "hl7apy", "split", "split-full")


def _fmt(x: float) -> str:
    return f"{x:,.0f}" if x >= 100 else f"{x:,.2f}" if x >= 1 else f"{x:.3f}"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[0]) as fh:
        data: dict[str, Any] = json.load(fh)
    med = {(r["op"], r["msg"], r["adapter"]): r["median_s"] for r in data["results"]}
    reps = {(r["op"], r["msg"], r["adapter"]): r["times"] for r in data["results"]}
    msgs = sorted({r["msg"] for r in data["results"]})
    ops = [o for o in ("parse", "access", "roundtrip") if any(k[0] == o for k in med)]
    env = data["env"]
    print(
        f"# targets  run {env['date_utc']} UTC  python {env['python']}  cpus {env['cpu_count']}  "
        f"reps {data['args']['reps']}, min batch {data['args']['min_time']}s"
    )

    print(f"\n## Correctness gate ({CANDIDATE})\n")
    print("| message | parse | 5 fields agree with split | round trip byte-exact | detail |")
    print("|---|---|---|---|---|")
    yn = {True: "yes", False: "**no**", None: "-"}
    gate_ok = True
    for m in msgs:
        status, fields_ok, rt_ok, detail = data["checks"][f"{CANDIDATE}|{m}"]
        gate_ok &= status == "ok" and fields_ok is True and rt_ok is True
        print(f"| {m} | {status} | {yn[fields_ok]} | {yn[rt_ok]} | {detail} |")

    peers = [p for p in PEERS if any(k[2] == p for k in med)]
    geo: dict[tuple[str, str], float] = {}
    for op in ops:
        print(
            f"\n## {op}: how many times faster {CANDIDATE} is "
            f"(peer time / {CANDIDATE} time; <1 = {CANDIDATE} slower)\n"
        )
        print("| message | " + " | ".join(f"vs {p}" for p in peers) + " |")
        print("|---|" + "---:|" * len(peers))
        per: dict[str, list[float]] = {p: [] for p in peers}
        for m in msgs:
            row = []
            for p in peers:
                a, b = med.get((op, m, CANDIDATE)), med.get((op, m, p))
                if a is None or b is None:
                    row.append("-")
                    continue
                per[p].append(b / a)
                row.append(_fmt(b / a))
            print(f"| {m} | " + " | ".join(row) + " |")
        cells = []
        for p in peers:
            if per[p]:
                geo[(op, p)] = statistics.geometric_mean(per[p])
                cells.append(f"**{_fmt(geo[(op, p)])}**")
            else:
                cells.append("-")
        print("| geometric mean | " + " | ".join(cells) + " |")

    print("\n## Targets\n")
    print(
        "Per message, the last column also gives the range of the paired per-rep ratios (rep *i* "
        f"of {CANDIDATE} against rep *i* of the peer, both timed in the same interleaved pass).\n"
    )
    print("| target | measured | met | paired per-rep ratios, min..max |")
    print("|---|---|---|---|")
    vs_hl7 = geo.get(("access", "python-hl7"))
    if vs_hl7 is not None:
        print(
            f"| access ≥ 100× faster than python-hl7 (geometric mean) | {_fmt(vs_hl7)}× "
            f"| {'yes' if vs_hl7 >= 100 else '**no**'} | |"
        )
    vs_split = geo.get(("access", "split"))
    if vs_split is not None:
        slower = 1 / vs_split
        print(
            f"| access within 2× of split (geometric mean of {CANDIDATE}/split time) "
            f"| {slower:.2f}× | {'yes' if slower <= 2 else '**no**'} | |"
        )
        for m in msgs:
            a, b = med.get(("access", m, CANDIDATE)), med.get(("access", m, "split"))
            if a is not None and b is not None:
                paired = [
                    x / y
                    for x, y in zip(
                        reps[("access", m, CANDIDATE)], reps[("access", m, "split")], strict=True
                    )
                ]
                print(
                    f"| … {m} ({CANDIDATE}/split time) | {a / b:.2f}× "
                    f"| {'yes' if a / b <= 2 else '**no**'} "
                    f"| {min(paired):.2f}..{max(paired):.2f} "
                    f"({sum(x <= 2 for x in paired)} of {len(paired)} reps ≤ 2×) |"
                )
    print(
        f"| round trip byte-exact, fields agree, on all {len(msgs)} messages "
        f"| {'all' if gate_ok else 'not all'} | {'yes' if gate_ok else '**no**'} | |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
