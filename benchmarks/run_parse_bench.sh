#!/usr/bin/env bash
# eprlink beside python-hl7, hl7apy and the str.split lower bounds, with the shared harness.
# Usage (from the repo root):  bash benchmarks/run_parse_bench.sh [extra parse_bench.py args]
# Env:   BENCH_DIR (default ../shared/bench relative to the repo root),
#        VENV (default $TMPDIR/eprlink-bench-peers, the harness' own peers venv),
#        OUT (default benchmarks/results, git-ignored),
#        QUICK=1 for a smoke run (--reps 3 --min-time 0.05, about 1.5 min; the full run ~6-10 min).
# Writes $OUT/{parse_bench.md,parse_bench.json,parse_bench.stderr,targets.md,memory.md}.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
BENCH_DIR="$(cd "${BENCH_DIR:-$ROOT/../shared/bench}" && pwd)"
VENV=${VENV:-${TMPDIR:-/tmp}/eprlink-bench-peers}
OUT="${OUT:-$HERE/results}"
ADAPTER="$HERE/eprlink_adapter.py"
mkdir -p "$OUT"

# The peers venv, created exactly as the harness' run_all.sh does (and reused when present).
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q hl7==0.4.5 hl7apy==1.3.5 uvloop
fi
PY="$VENV/bin/python"
if [ ! -f "$BENCH_DIR/messages/adt_a01.hl7" ]; then
  echo "no messages in $BENCH_DIR/messages: run 'python3 gen_messages.py' there first" >&2
  exit 1
fi

if [ "${QUICK:-0}" = 1 ]; then
  REPS=(--reps 3 --min-time 0.05)
else
  REPS=(--reps 9 --min-time 0.2)
fi

# Progress goes to the terminal and to parse_bench.stderr; the tables to parse_bench.md.
"$PY" "$BENCH_DIR/parse_bench.py" --candidate "eprlink=$ADAPTER" "${REPS[@]}" \
  --json "$OUT/parse_bench.json" "$@" \
  > "$OUT/parse_bench.md" 2> >(tee "$OUT/parse_bench.stderr" >&2)
"$PY" "$HERE/targets.py" "$OUT/parse_bench.json" > "$OUT/targets.md"
"$PY" "$HERE/memory.py" --messages "$BENCH_DIR/messages" > "$OUT/memory.md"
cat "$OUT/targets.md"
echo "done: $OUT/parse_bench.md, $OUT/targets.md, $OUT/memory.md"
