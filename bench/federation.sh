#!/usr/bin/env bash
# The federation benchmark of issue 19 (results: docs/BENCHMARKS.md). Builds
# the binaries in Release into build-bench/, starts 8 regional instances
# (salesops-accounts + salesops-pipeline, each region in its own currency) on
# loopback, loads each region's org and open deals, starts a headquarters'
# salesops-accounts in USD (one GLOBAL node, the rates of the other four
# currencies from 2026-01-01) and a global salesops-forecast following all
# regions (--regions_file), then measures with salesops-bench: the global
# forecast's catch-up, root GetForecast p99 against Health/Check p99 on the
# same server, and region-to-global freshness at FRESH_RATE writes/s spread
# round-robin over the regions.
#
#   bench/federation.sh                       # 8 x 125,000 deals, 8 x 1,250 reps
#   REGION_DEALS=5000 REPS=100 bench/federation.sh   # a quick try
#   SYNC_WRITES=true bench/federation.sh      # regional pipelines fsync (default false)
set -euo pipefail
cd "$(dirname "$0")/.."
REGION_DEALS=${REGION_DEALS:-125000}
REPS=${REPS:-1250}
CLIENTS=${CLIENTS:-64}
SYNC_WRITES=${SYNC_WRITES:-false}
FRESH_RATE=${FRESH_RATE:-1000}
FRESH_SECONDS=${FRESH_SECONDS:-20}
QUERIES=${QUERIES:-20000}
# Writer threads of the fresh phase: a sampled write's thread waits until the
# global forecast shows it, so more than bench/run.sh's 16 keep the rate.
FRESH_THREADS=${FRESH_THREADS:-64}
# Pause between one sample's GetForecast polls (us): with ~10 samples waiting
# at once, polling back to back took the 2 cores from the global forecast.
FRESH_POLL_US=${FRESH_POLL_US:-1000}
# More flags for the global forecast (e.g. GLOBAL_FLAGS=--sync_writes=false).
GLOBAL_FLAGS=${GLOBAL_FLAGS:-}
BENCH_DIR=${BENCH_DIR:-/tmp/salesops-fedbench}
BUILD_DIR=${BUILD_DIR:-build-bench}
# Region k's currency: five currencies over eight regions (JPY has 0
# decimals, KWD 3; the amounts are minor units of each).
CURRENCIES=(EUR USD JPY KWD CNY EUR USD JPY)
REGIONS=${#CURRENCIES[@]}
RATES=EUR=1.08,JPY=0.0067,KWD=3.25,CNY=0.14  # to USD; USD deals need none
HQ_ACCOUNTS=7401
GLOBAL=7402

if [ -z "${SKIP_BUILD:-}" ]; then
  bash scripts/setup.sh
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

# Starts salesops-$2 as instance $1 on port $3 with more flags (data and log
# under $BENCH_DIR/$1); waits up to 60 s for its "ready" line.
start() {
  local label=$1 name=$2 port=$3
  shift 3
  "$BUILD_DIR/services/$name/salesops-$name" --listen="127.0.0.1:$port" \
    --metrics_listen="127.0.0.1:$((port + 100))" --auth=none \
    --data_dir="$BENCH_DIR/$label" --init --log_level=info "$@" \
    2>>"$BENCH_DIR/$label.log" &
  pids+=($!)
  last_pid=$!
  for _ in $(seq 1 1200); do
    if grep -q "\"msg\":\"$name ready\"" "$BENCH_DIR/$label.log" 2>/dev/null; then
      return
    fi
    sleep 0.05
  done
  echo "federation: $label did not start; see $BENCH_DIR/$label.log" >&2
  exit 1
}

BENCH="$BUILD_DIR/bench/salesops-bench"
echo "federation: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; $REGIONS regions x $REGION_DEALS deals, $REPS reps each; regional --sync_writes=$SYNC_WRITES"

# The regions: accounts on 7410+2k, pipeline on 7411+2k, k = 1..8.
: >"$BENCH_DIR/regions.list"
: >"$BENCH_DIR/regions.textproto"
load_start=$(date +%s.%N)
for k in $(seq 1 "$REGIONS"); do
  cur=${CURRENCIES[$((k - 1))]}
  acc=$((7410 + 2 * k))
  pip=$((7411 + 2 * k))
  start "r$k-accounts" accounts "$acc" --currency="$cur"
  start "r$k-pipeline" pipeline "$pip" --currency="$cur" \
    --accounts_addr="127.0.0.1:$acc" --sync_writes="$SYNC_WRITES"
  "$BENCH" --accounts="127.0.0.1:$acc" --pipeline="127.0.0.1:$pip" \
    --state="$BENCH_DIR/r$k.state" --opportunities="$REGION_DEALS" \
    --reps="$REPS" --currency="$cur" --clients="$CLIENTS" \
    --phases=org,load | sed "s/^/r$k $cur /" | tee -a "$BENCH_DIR/load.txt"
  echo "r$k $cur 127.0.0.1:$pip $BENCH_DIR/r$k.state" >>"$BENCH_DIR/regions.list"
  printf 'regions { id: "r%d" parent_node_id: "@HQ@" accounts_addr: "127.0.0.1:%d" pipeline_addr: "127.0.0.1:%d" reporting_currency: "%s" stale_after_seconds: 5 }\n' \
    "$k" "$acc" "$pip" "$cur" >>"$BENCH_DIR/regions.textproto"
done
load_end=$(date +%s.%N)
echo "federation: $REGIONS regions built and loaded in $(awk "BEGIN{printf \"%.1f\", $load_end - $load_start}") s"

# Headquarters: accounts in USD, one GLOBAL node, the rates.
start hq-accounts accounts "$HQ_ACCOUNTS" --currency=USD
HQ=("$BENCH" --accounts="127.0.0.1:$HQ_ACCOUNTS" --forecast="127.0.0.1:$GLOBAL"
    --state="$BENCH_DIR/hq.state" --regions_list="$BENCH_DIR/regions.list")
"${HQ[@]}" --phases=hq --rates="$RATES" | tee "$BENCH_DIR/bench.txt"
hq_node=$(head -1 "$BENCH_DIR/hq.state")
sed -i "s/@HQ@/$hq_node/" "$BENCH_DIR/regions.textproto"

# The global forecast starts on full regional feeds: its catch-up is its
# ingest rate over all regions.
start global-forecast forecast "$GLOBAL" --accounts_addr="127.0.0.1:$HQ_ACCOUNTS" \
  --regions_file="$BENCH_DIR/regions.textproto" --currency=USD --time_zone=UTC $GLOBAL_FLAGS
global_pid=$last_pid
"${HQ[@]}" --phases=fedcatchup --expect_open=$((REGIONS * REGION_DEALS)) | tee -a "$BENCH_DIR/bench.txt"
rss_kb=$(awk '/VmRSS/{print $2}' /proc/"$global_pid"/status)
echo "memory: global forecast resident $((rss_kb / 1024)) MiB = $((rss_kb * 1024 / (REGIONS * REGION_DEALS))) bytes per deal" | tee -a "$BENCH_DIR/bench.txt"
"${HQ[@]}" --phases=query --queries="$QUERIES" | tee -a "$BENCH_DIR/bench.txt"
"${HQ[@]}" --phases=fresh --fresh_rate="$FRESH_RATE" --fresh_seconds="$FRESH_SECONDS" \
  --fresh_threads="$FRESH_THREADS" --fresh_poll_us="$FRESH_POLL_US" | tee -a "$BENCH_DIR/bench.txt"
rss_kb=$(awk '/VmRSS/{print $2}' /proc/"$global_pid"/status)
echo "memory: global forecast resident $((rss_kb / 1024)) MiB after the fresh phase" | tee -a "$BENCH_DIR/bench.txt"

# The targets of issue 19.
sed -n 's/.*GetForecast root p50 [0-9]* us p99 \([0-9]*\) us (p99 ratio \([0-9.]*\)).*/\2/p' "$BENCH_DIR/bench.txt" |
  awk '{ printf "ratio: global root GetForecast p99 / Health/Check p99 = %.2f (target <= 1.5)\n", $1 }'
sed -n 's/.*visible p50 [0-9.]* ms p99 \([0-9.]*\) ms.*/\1/p' "$BENCH_DIR/bench.txt" |
  awk '{ printf "freshness: region-to-global p99 %.1f ms (target < 100 ms)\n", $1 }'
