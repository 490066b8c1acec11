#!/usr/bin/env bash
# Durable store-then-ACK (1 and 8 senders, SQLite and PostgreSQL) beside the machine's limit,
# then end to end at a fixed offered load; one invocation, results side by side.
# Usage (from anywhere):  bash benchmarks/run_store_bench.sh [extra store_bench.py args]
# Env:   PY (default: the repo's .venv/bin/python; needs psycopg, which eprlink depends on),
#        OUT (default benchmarks/results, git-ignored),
#        EPRLINK_BENCH_PG_DSN (default host=127.0.0.1 port=5432 dbname=test user=postgres),
#        BENCH_DIR (default ../shared/bench: the ADT^A01 of its corpus is the message),
#        RATE (default 100,200: the offered msg/s end to end, one run each),
#        QUICK=1 for a smoke run (~1 min; the full run takes ~6 min on 2 cores).
# Writes $OUT/store_bench.{md,json,stderr} and $OUT/e2e_bench.{md,json,stderr}.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
PY="${PY:-$ROOT/.venv/bin/python}"
OUT="${OUT:-$HERE/results}"
RATE="${RATE:-100,200}"
mkdir -p "$OUT"
"$PY" -c "import psycopg" || { echo "$PY cannot import psycopg: set PY" >&2; exit 1; }
# Measure a snapshot of src/: edits made to the working tree during the run cannot mix in.
SNAPSHOT="$(mktemp -d "${TMPDIR:-/tmp}/eprlink-bench-src.XXXXXX")"
trap 'rm -rf "$SNAPSHOT"' EXIT
cp -r "$ROOT/src" "$SNAPSHOT/src"
export EPRLINK_SRC="$SNAPSHOT/src"

if [ "${QUICK:-0}" = 1 ]; then
  STORE=(--reps 1 -n 300 --warmup 50 --commits 300 --round-trips 1000)
  E2E=(--seconds 4)
else
  STORE=(--reps 3 -n 2000 --warmup 200 --commits 2000 --round-trips 5000)
  E2E=(--seconds 15)
fi

# One benchmark at a time: client and server take a core each on a 2-core machine.
"$PY" "$HERE/store_bench.py" "${STORE[@]}" "$@" --json "$OUT/store_bench.json" \
  > "$OUT/store_bench.md" 2> >(tee "$OUT/store_bench.stderr" >&2)
"$PY" "$HERE/e2e_bench.py" --rate "$RATE" "${E2E[@]}" --json "$OUT/e2e_bench.json" \
  > "$OUT/e2e_bench.md" 2> >(tee "$OUT/e2e_bench.stderr" >&2)
cat "$OUT/store_bench.md" "$OUT/e2e_bench.md"
echo "done: $OUT/store_bench.md, $OUT/e2e_bench.md"
