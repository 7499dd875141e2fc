#!/usr/bin/env bash
# The forecast benchmark of issue 5 (results: docs/BENCHMARKS.md). Builds the
# binaries in Release into build-bench/, starts salesops-accounts,
# salesops-pipeline (--sync_writes=true) and, after the load, salesops-forecast
# on loopback ports 7201..7203 with data under $BENCH_DIR, then runs
# salesops-bench's phases and measures restart time and resident memory.
#
#   bench/run.sh                 # 1,000,000 opportunities over 10,000 reps
#   OPPORTUNITIES=100000 bench/run.sh
#   CLIENTS=128 bench/run.sh     # calls in flight while loading (default 64)
set -euo pipefail
cd "$(dirname "$0")/.."
OPPORTUNITIES=${OPPORTUNITIES:-1000000}
REPS=${REPS:-10000}
# Calls in flight during the load phase: the group commit merges what waits,
# so more in flight means larger groups.
CLIENTS=${CLIENTS:-64}
BENCH_DIR=${BENCH_DIR:-/tmp/salesops-bench}
BUILD_DIR=${BUILD_DIR:-build-bench}

if [ -z "${SKIP_BUILD:-}" ]; then
  bash scripts/setup.sh
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DSALESOPS_BUILD_TESTS=OFF >/dev/null
  # Without tests, "all" is the four binaries and their libraries (several
  # --target names at once race in the generated Makefiles).
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

# How many times service $1 has logged that it is ready.
readies() {
  local n
  n=$(grep -c "\"msg\":\"$1 ready\"" "$BENCH_DIR/$1.log" 2>/dev/null)
  echo "${n:-0}"
}

# Starts service $1 on port $2 with more flags; waits for a new "ready" line.
start() {
  local name=$1 port=$2
  shift 2
  local seen
  seen=$(readies "$name")
  "$BUILD_DIR/services/$name/salesops-$name" --listen="127.0.0.1:$port" \
    --metrics_listen="127.0.0.1:$((port + 100))" --auth=none \
    --data_dir="$BENCH_DIR/$name" --init --log_level=warn "$@" \
    2>>"$BENCH_DIR/$name.log" &
  pids+=($!)
  eval "${name}_pid=$!"
  for _ in $(seq 1 600); do
    if [ "$(readies "$name")" -gt "$seen" ]; then
      return
    fi
    sleep 0.05
  done
  echo "bench: $name did not start; see $BENCH_DIR/$name.log" >&2
  exit 1
}

BENCH=("$BUILD_DIR/bench/salesops-bench" --state="$BENCH_DIR/state.txt"
       --csv_dir="$BENCH_DIR" --opportunities="$OPPORTUNITIES" --reps="$REPS")
A=--accounts_addr=127.0.0.1:7201
P=--pipeline_addr=127.0.0.1:7202

echo "bench: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; $OPPORTUNITIES opportunities, $REPS reps"
start accounts 7201 --log_level=info
start pipeline 7202 $A --sync_writes=true --log_level=info
"${BENCH[@]}" --phases=org,load --clients="$CLIENTS" | tee "$BENCH_DIR/load.txt"

# The forecast starts on a full pipeline feed: its catch-up is the ingest rate.
start forecast 7203 $A $P --log_level=info
"${BENCH[@]}" --phases=catchup,query,fresh | tee "$BENCH_DIR/bench.txt"

rss_kb=$(awk '/VmRSS/{print $2}' /proc/"$forecast_pid"/status)
echo "memory: forecast resident $((rss_kb / 1024)) MiB = $((rss_kb * 1024 / OPPORTUNITIES)) bytes per opportunity"

# Restart on its own data: SIGKILL, start again, time until GetForecast answers.
kill -9 "$forecast_pid"
wait "$forecast_pid" 2>/dev/null || true
t0=$(date +%s.%N)
start forecast 7203 $A $P --log_level=info
"${BENCH[@]}" --phases=catchup >/dev/null
t1=$(date +%s.%N)
echo "restart: forecast answering on its own data $(awk "BEGIN{printf \"%.2f\", $t1 - $t0}") s after start"

# The same rollup in PostgreSQL 15, on the opportunities of the load phase (the
# query phase ran before the fresh phase added more).
stop
pids=()
root=$(head -1 "$BENCH_DIR/state.txt")
expected=$(sed -n 's/^query: root forecast [0-9]* minor units, pipeline_weighted \([0-9]*\).*/\1/p' "$BENCH_DIR/bench.txt")
ours_p99=$(sed -n 's/.*GetForecast root p50 [0-9]* us p99 \([0-9]*\) us.*/\1/p' "$BENCH_DIR/bench.txt")
BENCH_DIR="$BENCH_DIR" bash bench/pg.sh "$root" "$expected" | tee "$BENCH_DIR/pg.txt"
for q in cte mv; do
  pg_p99=$(sed -n "s/^postgres $q: p50 [0-9]* us p99 \([0-9]*\) us.*/\1/p" "$BENCH_DIR/pg.txt")
  awk -v q="$q" -v pg="$pg_p99" -v ours="$ours_p99" \
    'BEGIN { printf "ratio: PostgreSQL %s p99 / GetForecast root p99 = %d / %d us = %.0fx\n", q, pg, ours, pg / ours }'
done
