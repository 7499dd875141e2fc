#!/usr/bin/env bash
# The README's run command: set up the machine, build, and run the suite on this machine with
# demo data. Every service listens on a loopback port (--auth=none) with its data under
# ${RUN_DIR:-.run}/<service> and its log in ${RUN_DIR:-.run}/<service>.log. Once all four report
# SERVING (grpc health), `salesopsctl demo load` loads the demo dataset (idempotent: a second
# run keeps the data and adds nothing) and prints the addresses and the forecast tree; then the
# web console (salesops-console, D64) serves on http://127.0.0.1:${CONSOLE_PORT:-7180}/ and its URL
# is printed. Ctrl-C (or SIGTERM) stops everything once, cleanly: each process gets one SIGTERM,
# drains and exits.
# `scripts/run.sh --federation` runs scripts/federation.sh instead: two regional suites (CNY,
# EUR) and a global forecast in USD.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--federation" ]; then
  exec scripts/federation.sh  # two regional suites and a global forecast (issue 19)
fi
scripts/setup.sh
scripts/build.sh
BUILD_DIR=${BUILD_DIR:-build}
RUN_DIR=${RUN_DIR:-.run}
CTL="$BUILD_DIR/tools/salesopsctl/salesopsctl"
mkdir -p "$RUN_DIR"

# service  port  metrics-port  peers it calls or follows
SERVICES=(
  "accounts 7101 9101"
  "pipeline 7102 9102 accounts credit"
  "forecast 7103 9103 accounts pipeline credit"
  "credit   7104 9104 accounts pipeline"
)
declare -A PORT=([accounts]=7101 [pipeline]=7102 [forecast]=7103 [credit]=7104)
ADDRS=(--accounts=127.0.0.1:7101 --pipeline=127.0.0.1:7102 --forecast=127.0.0.1:7103
       --credit=127.0.0.1:7104)

for entry in "${SERVICES[@]}"; do
  read -r name _ <<<"$entry"
  if [ ! -x "$BUILD_DIR/services/$name/salesops-$name" ]; then
    echo "run: $BUILD_DIR/services/$name/salesops-$name is missing; the build failed?" >&2
    exit 1
  fi
done
CONSOLE="$BUILD_DIR/console/salesops-console"
CONSOLE_PORT=${CONSOLE_PORT:-7180}
if [ ! -x "$CONSOLE" ]; then
  echo "run: $CONSOLE is missing; the build failed?" >&2
  exit 1
fi
if [ ! -x "$CTL" ]; then
  echo "run: $CTL is missing; the build failed?" >&2
  exit 1
fi

pids=()
stopping=0
# Stops the services once: one SIGTERM each, then waits for them to drain (each exits within
# its --drain_timeout, 10 s). Further Ctrl-C while stopping is ignored.
stop() {
  if [ "$stopping" -eq 1 ]; then
    return
  fi
  stopping=1
  trap '' INT TERM
  if [ "${#pids[@]}" -gt 0 ]; then
    echo "run: stopping the services and the console..."
    kill -TERM "${pids[@]}" 2>/dev/null || true
    for pid in "${pids[@]}"; do
      wait "$pid" 2>/dev/null || true
    done
    echo "run: stopped; the data stays in $RUN_DIR"
  fi
}
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM
trap stop EXIT

for entry in "${SERVICES[@]}"; do
  read -r name port metrics peer_names <<<"$entry"
  peers=()
  for peer in $peer_names; do
    peers+=("--${peer}_addr=127.0.0.1:${PORT[$peer]}")
  done
  mkdir -p "$RUN_DIR/$name"
  # setsid: a new session, so the terminal's Ctrl-C reaches only this script, which sends
  # each service exactly one SIGTERM (a second signal would make it exit without draining).
  http=$((port + 80))  # HTTP/JSON (Connect protocol, docs/API.md §4c): 7181..7184
  setsid "$BUILD_DIR/services/$name/salesops-$name" --listen="127.0.0.1:$port" \
    --http_listen="127.0.0.1:$http" \
    --metrics_listen="127.0.0.1:$metrics" --data_dir="$RUN_DIR/$name" --init --auth=none \
    "${peers[@]}" 2>>"$RUN_DIR/$name.log" &
  pids+=($!)
  echo "run: salesops-$name on 127.0.0.1:$port (HTTP/JSON http://127.0.0.1:$http)," \
    "metrics on 127.0.0.1:$metrics, log $RUN_DIR/$name.log"
done

if ! "$CTL" "${ADDRS[@]}" demo wait --wait_seconds=60; then
  echo "run: the services did not all report SERVING within 60 s; see $RUN_DIR/*.log" >&2
  exit 1
fi
if ! "$CTL" "${ADDRS[@]}" demo load; then
  echo "run: loading the demo data failed (above); the services keep running" >&2
fi
setsid "$CONSOLE" --listen="127.0.0.1:$CONSOLE_PORT" --assets_dir="$BUILD_DIR/console/assets" \
  --accounts_addr=127.0.0.1:7101 --pipeline_addr=127.0.0.1:7102 --forecast_addr=127.0.0.1:7103 \
  --credit_addr=127.0.0.1:7104 --locale="${CONSOLE_LOCALE:-en-US}" 2>>"$RUN_DIR/console.log" &
pids+=($!)
echo "run: web console: http://127.0.0.1:$CONSOLE_PORT/ (--auth=none: sign in with an empty" \
  "token), log $RUN_DIR/console.log"
echo "run: ${#pids[@]} processes running (4 services and the console); Ctrl-C stops them"
# Until Ctrl-C, or until a service exits on its own.
wait -n "${pids[@]}" || true
if [ "$stopping" -eq 0 ]; then
  echo "run: a service exited unexpectedly; see $RUN_DIR/*.log" >&2
  exit 1
fi
