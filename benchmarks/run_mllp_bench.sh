#!/usr/bin/env bash
# eprlink's MLLP receiver beside the harness' asyncio/uvloop/python-hl7/C servers, one run each
# for the 2 KB ADT^A01 and the 40 KB ORU^R01 (200 OBX).
# Usage (from anywhere):  bash benchmarks/run_mllp_bench.sh [extra mllp_eprlink_bench.py args]
# Env:   BENCH_DIR (default ../shared/bench relative to the repo root),
#        VENV (default $TMPDIR/eprlink-bench-peers, the harness' own peers venv),
#        OUT (default benchmarks/results, git-ignored),
#        QUICK=1 for a smoke run (n=500/200, 1 rep, under a minute; the full run ~8-12 min).
# Writes $OUT/mllp_eprlink_{adt_a01,oru_r01_200obx}.{md,json,stderr}.
# eprlink's MLLP, ACK and HL7 packages are stdlib only: the driver puts src/ on sys.path, so
# nothing of eprlink is installed; uvloop and python-hl7 come from the peers venv.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
BENCH_DIR="$(cd "${BENCH_DIR:-$ROOT/../shared/bench}" && pwd)"
export BENCH_DIR
VENV=${VENV:-${TMPDIR:-/tmp}/eprlink-bench-peers}
OUT="${OUT:-$HERE/results}"
DRIVER="$HERE/mllp_eprlink_bench.py"
mkdir -p "$OUT"

# The peers venv, created exactly as the harness' run_all.sh does (and reused when present).
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q hl7==0.4.5 hl7apy==1.3.5 uvloop
fi
PY="$VENV/bin/python"
"$PY" -c "import hl7.mllp, uvloop" || {
  echo "$VENV lacks python-hl7 or uvloop: $VENV/bin/pip install hl7==0.4.5 uvloop" >&2
  exit 1
}
if [ ! -f "$BENCH_DIR/messages/adt_a01.hl7" ]; then
  echo "no messages in $BENCH_DIR/messages: run 'python3 gen_messages.py' there first" >&2
  exit 1
fi
# The C ping-pong client/server is built by the driver (the harness' ensure_c) into
# $MLLP_PINGPONG, default ${TMPDIR:-/tmp}/mllp_pingpong, only when missing or stale.

if [ "${QUICK:-0}" = 1 ]; then
  ADT=(-n 500 --warmup 50 --reps 1)
  ORU=(-n 200 --warmup 20 --reps 1 --n-for hl7mllp=30)
else
  ADT=(-n 5000 --warmup 200 --reps 3)
  # As in the harness: the 40 KB ORU with N=2000, and python-hl7's receiver (≈ 16 msg/s
  # there) with N=300, still interleaved with the others.
  ORU=(-n 2000 --warmup 100 --reps 3 --n-for hl7mllp=300)
fi

run() {  # name, driver args...
  local name=$1
  shift
  "$PY" "$DRIVER" "$@" --json "$OUT/$name.json" \
    > "$OUT/$name.md" 2> >(tee "$OUT/$name.stderr" >&2)
}

# One benchmark at a time: client and server take a core each on a 2-core machine.
run mllp_eprlink_adt_a01 --message "$BENCH_DIR/messages/adt_a01.hl7" "${ADT[@]}" "$@"
run mllp_eprlink_oru_r01_200obx --message "$BENCH_DIR/messages/oru_r01_200obx.hl7" \
  "${ORU[@]}" "$@"
cat "$OUT/mllp_eprlink_adt_a01.md" "$OUT/mllp_eprlink_oru_r01_200obx.md"
echo "done: $OUT/mllp_eprlink_adt_a01.md, $OUT/mllp_eprlink_oru_r01_200obx.md"
