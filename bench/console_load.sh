#!/usr/bin/env bash
# The web console's page load (issue 22; docs/BENCHMARKS.md "Web console"): starts the browser
# tests' suite (tests/console/suite.mjs: the four services with tokens, the demo data,
# salesops-console), then runs the browser tests' load case (one warm-up, then five loads of the
# root's forecast page, each in a fresh browser context) ROUNDS times. With CONSOLE_B=<another
# salesops-console binary>, that console also serves the same suite on another port and the
# rounds alternate A, B, A, B, ..., so both are measured in one run on the same data.
# Usage: bench/console_load.sh [BUILD_DIR]   (env: ROUNDS=3, CONSOLE_B=, OUT=/tmp/console-load)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
ROUNDS=${ROUNDS:-3}
OUT=${OUT:-/tmp/console-load}
mkdir -p "$OUT"
STATE="$OUT/suite.json"
DEPS="$(cd "$BUILD" && pwd)/browser-tools"
b_pid=""
cleanup() {
  [ -n "$b_pid" ] && kill -TERM "$b_pid" 2>/dev/null || true
  [ -f "$STATE" ] && node tests/console/suite.mjs cleanup --state="$STATE" >/dev/null 2>&1 || true
}
trap cleanup EXIT
bash tests/console/setup.sh "$DEPS" "$STATE" \
  --accounts="$BUILD/services/accounts/salesops-accounts" \
  --pipeline="$BUILD/services/pipeline/salesops-pipeline" \
  --forecast="$BUILD/services/forecast/salesops-forecast" \
  --credit="$BUILD/services/credit/salesops-credit" \
  --ctl="$BUILD/tools/salesopsctl/salesopsctl" --console="$BUILD/console/salesops-console" \
  --assets="$BUILD/console/assets" >"$OUT/setup.log" 2>&1
states=("$STATE")
if [ -n "${CONSOLE_B:-}" ]; then
  port=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
  addrs=$(node -e 'const s=require(process.argv[1]);for(const n of ["accounts","pipeline","forecast","credit"])console.log(`--${n}_addr=127.0.0.1:${s.ports[n].grpc}`)' "$STATE")
  # shellcheck disable=SC2086
  "$CONSOLE_B" --listen="127.0.0.1:$port" --assets_dir="$BUILD/console/assets" $addrs 2>"$OUT/console-b.log" &
  b_pid=$!
  node -e 'const fs=require("fs");const s=JSON.parse(fs.readFileSync(process.argv[1]));s.consoleUrl=`http://127.0.0.1:${process.argv[2]}`;fs.writeFileSync(process.argv[3],JSON.stringify(s))' \
    "$STATE" "$port" "$OUT/suite-b.json"
  for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$port/config.json" >/dev/null && break; sleep 0.1; done
  states+=("$OUT/suite-b.json")
fi
for round in $(seq 1 "$ROUNDS"); do
  for s in "${states[@]}"; do
    label=A
    [ "$s" = "$STATE" ] || label=B
    log="$OUT/round-$round-$label.log"
    node tests/console/cases.mjs load --state="$s" --deps="$DEPS" >"$log" 2>&1 || true
    line=$(grep -E '^console_(load_ms|assets_gzip_bytes)' "$log" | tr '\n' ' ' || true)
    echo "round $round $label: ${line:-no figures: see $log}"
  done
done
