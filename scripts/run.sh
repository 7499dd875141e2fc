#!/usr/bin/env bash
# The README's run command: set up the machine, build, and run the suite on this machine with
# demo data, every service on a loopback port with its data under ${RUN_DIR:-.run}. Ctrl-C
# stops them all (each drains and exits cleanly on SIGINT/SIGTERM).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
BUILD_DIR=${BUILD_DIR:-build}
RUN_DIR=${RUN_DIR:-.run}
mkdir -p "$RUN_DIR"

# service  port  metrics-port  peers it calls or follows
SERVICES=(
  "accounts 7101 9101"
  "pipeline 7102 9102 accounts credit"
  "forecast 7103 9103 accounts pipeline credit"
  "credit   7104 9104 accounts pipeline"
)
declare -A PORT=([accounts]=7101 [pipeline]=7102 [forecast]=7103 [credit]=7104)

pids=()
stop() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait || true
}
trap stop EXIT INT TERM

started=0
for entry in "${SERVICES[@]}"; do
  read -r name port metrics peer_names <<<"$entry"
  bin="$BUILD_DIR/services/$name/salesops-$name"
  if [ ! -x "$bin" ]; then
    echo "run: salesops-$name is not part of this build yet (see the open issues)"
    continue
  fi
  # Only peers that exist in this build are passed (a service runs without an
  # optional peer, and refuses an address it has no client for).
  peers=""
  for peer in $peer_names; do
    if [ -x "$BUILD_DIR/services/$peer/salesops-$peer" ]; then
      peers="$peers --${peer}_addr=127.0.0.1:${PORT[$peer]}"
    fi
  done
  mkdir -p "$RUN_DIR/$name"
  "$bin" --listen="127.0.0.1:$port" --metrics_listen="127.0.0.1:$metrics" \
    --data_dir="$RUN_DIR/$name" --auth=none $peers 2>>"$RUN_DIR/$name.log" &
  pids+=($!)
  started=$((started + 1))
  echo "run: salesops-$name on 127.0.0.1:$port, metrics on 127.0.0.1:$metrics, log $RUN_DIR/$name.log"
done

if [ "$started" -eq 0 ]; then
  echo "run: the shared runtime is built and tested; no service binary exists yet, so there is"
  echo "run: nothing to start. Run scripts/test.sh to exercise the runtime."
  exit 0
fi
if [ -x "$BUILD_DIR/tools/salesopsctl/salesopsctl" ]; then
  "$BUILD_DIR/tools/salesopsctl/salesopsctl" demo --accounts=127.0.0.1:7101 \
    --pipeline=127.0.0.1:7102 --forecast=127.0.0.1:7103 --credit=127.0.0.1:7104 || true
fi
echo "run: $started service(s) running; Ctrl-C stops them"
wait
