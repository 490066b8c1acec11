#!/usr/bin/env python3
"""Validation benchmark: eprlink's parse + validate beside hl7apy's validating parse."""

# Run with a Python that has hl7apy and nhs-number installed (eprlink's ``src`` next to this
# file is put on ``sys.path``, so eprlink needs no install)::
#
#     $VENV/bin/python benchmarks/validate_bench.py [--reps 7] [--min-time 0.2] [--json out.json]
#
# Cells (adapter x message) are calibrated once so that a batch takes at least ``--min-time``
# seconds, then ``--reps`` batches are timed *interleaved* across all cells (rep 1 of every
# cell, then rep 2 ...), as ``../shared/bench/parse_bench.py`` does, so that slow phases of a
# noisy machine hit every adapter alike. The figure reported is the median time per message.
#
# - ``eprlink``: ``Validator(load_profile()).validate(parse(text))``, HL7 v2.4 + HL7 UK +
#   CareFlow layers; the validator is built once, as the engine does.
# - ``eprlink-v2.4``: the same against the generated HL7 v2.4 base layer only, the nearest
#   like-for-like with hl7apy (which knows the base standard only).
# - ``hl7apy-strict``: ``parse_message(text, validation_level=STRICT)`` then ``.validate()``.

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
if str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))

from eprlink.hl7 import parse  # noqa: E402
from eprlink.profiles import load_profile  # noqa: E402
from eprlink.profiles.validate import Validator  # noqa: E402

FIXTURES = HERE.parent / "tests" / "fixtures"
DEFAULT_MESSAGES = ("adt_a01.hl7", "oru_r01_20obx.hl7")


def eprlink_adapter(layers: tuple[str, ...] | None) -> tuple[Callable[[str], object], str]:
    profile = load_profile() if layers is None else load_profile(layers)
    validator = Validator(profile)

    def run(text: str) -> object:
        return validator.validate(parse(text))

    def describe(text: str) -> str:
        report = validator.validate(parse(text))
        kinds = {s: sum(1 for i in report.issues if i.severity.value == s) for s in "EWI"}
        return f"{report.ack_code()} ({kinds['E']} E, {kinds['W']} W, {kinds['I']} I)"

    run.describe = describe  # type: ignore[attr-defined]
    return run, "+".join(profile.layers)


def hl7apy_adapter() -> Callable[[str], object]:
    from hl7apy.consts import VALIDATION_LEVEL
    from hl7apy.parser import parse_message

    def run(text: str) -> object:
        message = parse_message(text, validation_level=VALIDATION_LEVEL.STRICT)
        message.validate()
        return message

    def describe(text: str) -> str:
        try:
            run(text)
        except Exception as exc:  # a refusal is a result worth showing
            return f"refused: {type(exc).__name__}"
        return "valid"

    run.describe = describe  # type: ignore[attr-defined]
    return run


def batch_time(fn: Callable[[str], object], text: str, n: int) -> float:
    gc.collect()
    started = time.perf_counter()
    for _ in range(n):
        fn(text)
    return (time.perf_counter() - started) / n


def calibrate(fn: Callable[[str], object], text: str, min_time: float) -> int:
    n = 1
    while True:
        elapsed = batch_time(fn, text, n) * n
        if elapsed >= min_time:
            return n
        n = max(n * 2, int(n * min_time / max(elapsed, 1e-9) * 1.1))


def rate(seconds: float) -> str:
    per_second = 1.0 / seconds
    return f"{per_second:,.0f}" if per_second >= 100 else f"{per_second:,.1f}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("messages", nargs="*", help=f"message files (default: {DEFAULT_MESSAGES})")
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--min-time", type=float, default=0.2, help="seconds per timed batch")
    parser.add_argument("--no-hl7apy", action="store_true", help="time eprlink only")
    parser.add_argument("--json", help="write raw results here")
    args = parser.parse_args(argv)

    paths = [Path(p) for p in args.messages] or [FIXTURES / name for name in DEFAULT_MESSAGES]
    # Bytes decoded by hand: read_text() would turn the \r segment terminators into \n.
    messages = [(p.stem, p.read_bytes().decode("utf-8", "surrogateescape")) for p in paths]
    adapters: dict[str, Callable[[str], object]] = {}
    adapters["eprlink"], layers = eprlink_adapter(None)
    adapters["eprlink-v2.4"], _ = eprlink_adapter(())
    if not args.no_hl7apy:
        try:
            adapters["hl7apy-strict"] = hl7apy_adapter()
        except ImportError as exc:
            print(f"# hl7apy not importable ({exc}); timing eprlink only", file=sys.stderr)

    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    print(
        f"# validate_bench  python {platform.python_version()}  cpus {os.cpu_count()}  "
        f"reps {args.reps}  min batch {args.min_time}s  load {load}"
    )
    print(f"# eprlink profile: {layers}\n")
    print("| message | adapter | result |")
    print("|---|---|---|")
    for name, text in messages:
        for label, fn in adapters.items():
            print(f"| {name} | {label} | {fn.describe(text)} |")  # type: ignore[attr-defined]

    cells = []
    for name, text in messages:
        for label, fn in adapters.items():
            try:
                fn(text)
            except Exception:  # an adapter that refuses a message is not timed
                continue
            n = calibrate(fn, text, args.min_time)
            cells.append({"msg": name, "adapter": label, "fn": fn, "text": text, "n": n, "t": []})
    for rep in range(args.reps):
        for cell in cells:
            cell["t"].append(batch_time(cell["fn"], cell["text"], cell["n"]))
        print(f"# rep {rep + 1}/{args.reps} done", file=sys.stderr)

    medians = {(c["msg"], c["adapter"]): statistics.median(c["t"]) for c in cells}
    labels = list(adapters)
    print(f"\n## parse + validate: messages/second (median of {args.reps}; µs per message)\n")
    header = " | ".join(labels)
    ratio_header = " | ".join(f"hl7apy / {x}" for x in labels if x.startswith("eprlink"))
    has_peer = "hl7apy-strict" in labels
    print(f"| message | bytes | {header} |" + (f" {ratio_header} |" if has_peer else ""))
    count = len(labels) + (sum(x.startswith("eprlink") for x in labels) if has_peer else 0)
    print("|---|---:|" + "---:|" * count)
    for name, text in messages:
        row = []
        for label in labels:
            seconds = medians.get((name, label))
            row.append(f"{rate(seconds)} ({seconds * 1e6:,.0f} µs)" if seconds else "-")
        if has_peer:
            peer = medians.get((name, "hl7apy-strict"))
            for label in labels:
                if label.startswith("eprlink"):
                    own = medians.get((name, label))
                    row.append(f"**{peer / own:,.0f}×**" if peer and own else "-")
        print(f"| {name} | {len(text)} | " + " | ".join(row) + " |")
    print(f"\n# load at end {os.getloadavg() if hasattr(os, 'getloadavg') else None}")
    if args.json:
        results = [
            {"msg": c["msg"], "adapter": c["adapter"], "n": c["n"], "times": c["t"]} for c in cells
        ]
        Path(args.json).write_text(json.dumps({"layers": layers, "results": results}, indent=1))


if __name__ == "__main__":
    main()
