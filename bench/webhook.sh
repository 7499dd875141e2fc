#!/usr/bin/env bash
# The webhook benchmark of issue 18 (results: docs/BENCHMARKS.md "Webhooks"):
# p99 of CreateOpportunity without and with a webhook subscription whose
# receiver accepts connections and never answers, in one run (alternating
# blocks of sequential calls). Builds in Release into build-bench/, starts
# salesops-accounts and salesops-pipeline (--sync_writes=true) on loopback
# ports 7211..7212 with data under $BENCH_DIR.
#
#   bench/webhook.sh                        # 10 rounds x 2 blocks x 500 calls
#   ROUNDS=4 CALLS=250 bench/webhook.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_DIR=${BENCH_DIR:-/tmp/salesops-bench-webhook}
BUILD_DIR=${BUILD_DIR:-build-bench}
ROUNDS=${ROUNDS:-10}
CALLS=${CALLS:-500}

if [ -z "${SKIP_BUILD:-}" ]; then
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DSALESOPS_BUILD_TESTS=OFF >/dev/null
  cmake --build "$BUILD_DIR" -j"${JOBS:-2}"
fi

rm -rf "$BENCH_DIR"
mkdir -p "$BENCH_DIR"
pids=()
stop() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop EXIT

start() {
  local name=$1 port=$2
  shift 2
  "$BUILD_DIR/services/$name/salesops-$name" --listen="127.0.0.1:$port" \
    --metrics_listen="127.0.0.1:$((port + 100))" --auth=none \
    --data_dir="$BENCH_DIR/$name" --init "$@" 2>>"$BENCH_DIR/$name.log" &
  pids+=($!)
  for _ in $(seq 1 600); do
    if grep -q "\"msg\":\"$name ready\"" "$BENCH_DIR/$name.log" 2>/dev/null; then
      return
    fi
    sleep 0.05
  done
  echo "bench: $name did not start; see $BENCH_DIR/$name.log" >&2
  exit 1
}

echo "bench: $(nproc) cores; $ROUNDS rounds of $CALLS calls without and with a subscription"
start accounts 7211
start pipeline 7212 --accounts_addr=127.0.0.1:7211 --sync_writes=true \
  --webhook_allow_http_loopback
"$BUILD_DIR/bench/salesops-bench" --accounts=127.0.0.1:7211 \
  --pipeline=127.0.0.1:7212 --state="$BENCH_DIR/state.txt" --reps=20 \
  --phases=org,webhook --webhook_rounds="$ROUNDS" --webhook_calls="$CALLS" |
  tee "$BENCH_DIR/webhook.txt"
