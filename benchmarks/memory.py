"""Memory of parsing and reading a message: eprlink beside python-hl7 and the split baselines.

Measured with :mod:`tracemalloc` (bytes the Python allocators hand out; the input text is
allocated before measuring and is not counted). For each library and message:

* **peak, parse + 5 fields**: peak traced memory above the starting point while running
  ``fields(parse(text))``, the harness' *access* operation (PID-3.1, PID-5.1, PV1-3.1,
  MSH-10, last OBX-5);
* **peak, parse + every field**: the same for ``parse(text)`` followed by reading the raw text of
  every field of every segment (each string is dropped once read);
* **retained after parse**: memory still held by the parsed object, right after ``parse``;
* **retained after every field**: memory held by the parsed object after the full traversal
  (lazy parsers keep what they split on the way).

Every figure is the median of ``--repeat`` measurements, each after ``gc.collect()`` and after
two warm-up runs (so that module-level caches, such as parsed paths, are already filled). Run it
under the harness' peers venv, which has python-hl7:

    $TMPDIR/eprlink-bench-peers/bin/python benchmarks/memory.py
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tracemalloc
from collections.abc import Callable
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import eprlink_adapter  # noqa: E402  (puts src/ on sys.path)

MESSAGES = ("adt_a01.hl7", "oru_r01_200obx.hl7")


class Library:
    def __init__(
        self,
        name: str,
        parse: Callable[[str], Any],
        fields: Callable[[Any], Any],
        traverse: Callable[[Any], None],
    ) -> None:
        self.name, self.parse, self.fields, self.traverse = name, parse, fields, traverse


# -- eprlink -------------------------------------------------------------------------------------
def _eprlink_traverse(m: Any) -> None:
    for segment in m:
        raw = segment.raw
        for i in range(1, len(segment) + 1):
            raw(i)


# -- split baselines (the harness' own definitions, restated: the harness is not a package) -----
def _split_parse(text: str) -> list[list[str]]:
    return [s.split("|") for s in text.split("\r") if s]


def _comp1(field: str) -> str:
    return field.split("~", 1)[0].split("^", 1)[0]


def _split_fields(segs: list[list[str]]) -> tuple[str, str, str, str, str | None]:
    pid = next(s for s in segs if s[0] == "PID")
    pv1 = next(s for s in segs if s[0] == "PV1")
    obx = next((s for s in reversed(segs) if s[0] == "OBX"), None)
    last5 = obx[5] if obx is not None and len(obx) > 5 else None
    return (_comp1(pid[3]), _comp1(pid[5]), _comp1(pv1[3]), segs[0][9], last5)


def _split_traverse(segs: list[list[str]]) -> None:
    for s in segs:
        for f in s:
            len(f)


def _full_parse(text: str) -> list[Any]:
    out: list[Any] = []
    for s in text.split("\r"):
        if not s:
            continue
        fs = s.split("|")
        if fs[0] == "MSH":
            tail = [[[sc.split("&") for sc in r.split("^")] for r in f.split("~")] for f in fs[2:]]
            out.append([*fs[:2], tail])
        else:
            rest = [[[c.split("&") for c in r.split("^")] for r in f.split("~")] for f in fs[1:]]
            out.append([fs[0], *rest])
    return out


def _full_text(field: list[list[list[str]]]) -> str:
    return "~".join("^".join("&".join(c) for c in r) for r in field)


def _full_fields(segs: list[Any]) -> tuple[str, str, str, str, str | None]:
    pid = next(s for s in segs if s[0] == "PID")
    pv1 = next(s for s in segs if s[0] == "PV1")
    obx = next((s for s in reversed(segs) if s[0] == "OBX"), None)
    last5 = _full_text(obx[5]) if obx is not None and len(obx) > 5 else None
    return (
        "&".join(pid[3][0][0]),
        "&".join(pid[5][0][0]),
        "&".join(pv1[3][0][0]),
        _full_text(segs[0][2][7]),
        last5,
    )


def _full_traverse(segs: list[Any]) -> None:
    for s in segs:
        fields = s[2] if s[0] == "MSH" else s[1:]
        for f in fields:
            _full_text(f)


# -- python-hl7 ---------------------------------------------------------------------------------
def _python_hl7() -> Library | None:
    try:
        import hl7
    except ImportError:
        return None

    def fields(m: Any) -> tuple[Any, ...]:
        try:
            last5 = str(m.segments("OBX")[-1](5))
        except KeyError:
            last5 = None
        return (m["PID.F3.R1.C1"], m["PID.F5.R1.C1"], m["PV1.F3.R1.C1"], m["MSH.F10"], last5)

    def traverse(m: Any) -> None:
        for segment in m:
            for field in segment:
                str(field)

    return Library("python-hl7", hl7.parse, fields, traverse)


def libraries() -> list[Library]:
    libs = [
        Library("eprlink", eprlink_adapter.parse, eprlink_adapter.fields, _eprlink_traverse),
    ]
    peer = _python_hl7()
    if peer is not None:
        libs.append(peer)
    libs.append(Library("split", _split_parse, _split_fields, _split_traverse))
    libs.append(Library("split-full", _full_parse, _full_fields, _full_traverse))
    return libs


# -- measuring ----------------------------------------------------------------------------------
def _measure(fn: Callable[[], Any], repeat: int) -> tuple[int, int]:
    """Median (peak, retained) bytes above the starting point; ``fn``'s result is kept alive
    until ``retained`` has been read, then dropped."""
    for _ in range(2):
        fn()
    peaks, kept = [], []
    for _ in range(repeat):
        gc.collect()
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        result = fn()
        current, peak = tracemalloc.get_traced_memory()
        peaks.append(peak - before)
        kept.append(current - before)
        del result
    return int(statistics.median(peaks)), int(statistics.median(kept))


def measure(lib: Library, text: str, repeat: int) -> dict[str, int]:
    def access() -> None:
        lib.fields(lib.parse(text))

    def traverse() -> Any:
        obj = lib.parse(text)
        lib.traverse(obj)
        return obj

    def parse() -> Any:
        return lib.parse(text)

    expected = _split_fields(_split_parse(text))
    got = tuple(lib.fields(lib.parse(text)))
    if got != expected:
        raise SystemExit(f"{lib.name}: fields {got!r} differ from the split baseline's")
    peak_access, _ = _measure(access, repeat)
    peak_traverse, kept_traverse = _measure(traverse, repeat)
    _, kept_parse = _measure(parse, repeat)
    return {
        "peak_access": peak_access,
        "peak_traverse": peak_traverse,
        "kept_parse": kept_parse,
        "kept_traverse": kept_traverse,
    }


def kib(n: int) -> str:
    return f"{n / 1024:,.1f}"


def main(argv: list[str] | None = None) -> None:
    default_dir = os.path.join(
        os.environ.get("BENCH_DIR", os.path.join(ROOT, "..", "shared", "bench")), "messages"
    )
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--messages", default=default_dir, help="directory holding the *.hl7 files")
    ap.add_argument("--repeat", type=int, default=5, help="measurements per cell (median)")
    args = ap.parse_args(argv)

    libs = libraries()
    tracemalloc.start()
    print(f"# memory  python {sys.version.split()[0]}  tracemalloc, median of {args.repeat}")
    if not any(lib.name == "python-hl7" for lib in libs):
        print("# python-hl7 is not installed here: run under the harness' peers venv")
    for name in MESSAGES:
        with open(os.path.join(args.messages, name), encoding="utf-8", newline="") as fh:
            text = fh.read()
        print(
            f"\n## {name[:-4]} ({len(text):,} characters; the text itself, "
            f"{kib(sys.getsizeof(text))} KiB, is not counted)\n"
        )
        print(
            "| library | peak KiB, parse + 5 fields | peak KiB, parse + every field "
            "| retained KiB after parse | retained KiB after every field |"
        )
        print("|---|---:|---:|---:|---:|")
        for lib in libs:
            r = measure(lib, text, args.repeat)
            print(
                f"| {lib.name} | {kib(r['peak_access'])} | {kib(r['peak_traverse'])} "
                f"| {kib(r['kept_parse'])} | {kib(r['kept_traverse'])} |"
            )
    tracemalloc.stop()


if __name__ == "__main__":
    main()
