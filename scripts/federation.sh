#!/usr/bin/env bash
# A global forecast over two regional instances on this machine (issue 19; `scripts/run.sh
# --federation` runs this): China reports in CNY (ports 7111..7114), Europe in EUR
# (7121..7124), each a whole suite loaded with the demo data and its dated rates; the
# headquarters' accounts (7131, USD) hold the node above the regions and the global rates,
# and a global forecast in USD (7133) follows both regions (--regions_file). Prints the
# global tree, then runs until Ctrl-C. Data and logs under ${RUN_DIR:-.run-federation}.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${SKIP_BUILD:-}" ]; then
  scripts/setup.sh
  scripts/build.sh
fi
BUILD_DIR=${BUILD_DIR:-build}
RUN_DIR=${RUN_DIR:-.run-federation}
CTL="$BUILD_DIR/tools/salesopsctl/salesopsctl"
mkdir -p "$RUN_DIR"
pids=()
stopping=0
stop() {
  if [ "$stopping" -eq 1 ]; then return; fi
  stopping=1
  trap '' INT TERM
  if [ "${#pids[@]}" -gt 0 ]; then
    echo "federation: stopping..."
    kill -TERM "${pids[@]}" 2>/dev/null || true
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    echo "federation: stopped; the data stays in $RUN_DIR"
  fi
}
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM
trap stop EXIT

# Starts salesops-$1 as $2 on port $3 with the rest as flags.
launch() {
  local service=$1 name=$2 port=$3
  shift 3
  mkdir -p "$RUN_DIR/$name"
  setsid "$BUILD_DIR/services/$service/salesops-$service" --listen="127.0.0.1:$port" \
    --metrics_listen="127.0.0.1:$((port + 2000))" --data_dir="$RUN_DIR/$name" --init \
    --auth=none "$@" 2>>"$RUN_DIR/$name.log" &
  pids+=($!)
  echo "federation: $name on 127.0.0.1:$port, metrics 127.0.0.1:$((port + 2000)), log $RUN_DIR/$name.log"
}

# A regional suite: region id, currency, base port.
region() {
  local id=$1 cur=$2 base=$3
  local a=127.0.0.1:$((base + 1)) p=127.0.0.1:$((base + 2)) c=127.0.0.1:$((base + 4))
  launch accounts "$id-accounts" $((base + 1)) --currency="$cur"
  launch pipeline "$id-pipeline" $((base + 2)) --currency="$cur" --accounts_addr="$a" --credit_addr="$c"
  launch forecast "$id-forecast" $((base + 3)) --currency="$cur" --accounts_addr="$a" \
    --pipeline_addr="$p" --credit_addr="$c"
  launch credit "$id-credit" $((base + 4)) --currency="$cur" --accounts_addr="$a" --pipeline_addr="$p"
}

region china CNY 7110
region europe EUR 7120
launch accounts hq-accounts 7131 --currency=USD
for base in 7110 7120; do
  addrs=(--accounts=127.0.0.1:$((base + 1)) --pipeline=127.0.0.1:$((base + 2))
         --forecast=127.0.0.1:$((base + 3)) --credit=127.0.0.1:$((base + 4)))
  cur=$([ "$base" = 7110 ] && echo CNY || echo EUR)
  "$CTL" "${addrs[@]}" demo wait --wait_seconds=60
  "$CTL" "${addrs[@]}" --currency="$cur" demo load >"$RUN_DIR/demo-$base.txt" ||
    { echo "federation: demo load failed, see $RUN_DIR/demo-$base.txt" >&2; exit 1; }
done

HQ=(--accounts=127.0.0.1:7131)
hq_id=$("$CTL" "${HQ[@]}" --output=json orgnodes create --kind=GLOBAL --name=Headquarters \
  --request-id=federation-hq | sed -n 's/.*"id": *"\([^"]*\)".*/\1/p' | head -1)
if [ -z "$hq_id" ]; then
  echo "federation: could not create the headquarters node" >&2
  exit 1
fi
# The global rates to USD (the demo's), from 2026-01-01 and 2026-07-01.
while read -r cur jan jul; do
  "$CTL" "${HQ[@]}" rates set --currency="$cur" --start=2026-01-01 --rate="$jan" >/dev/null
  "$CTL" "${HQ[@]}" rates set --currency="$cur" --start=2026-07-01 --rate="$jul" >/dev/null
done <<'RATES'
EUR 1.087 1.111
CNY 0.139 0.1389
JPY 0.00663 0.00656
KWD 3.25 3.256
RATES

cat >"$RUN_DIR/regions.textproto" <<EOF2
# salesops.v1.FederationConfig (docs/API.md "Federation")
regions {
  id: "china"
  parent_node_id: "$hq_id"
  accounts_addr: "127.0.0.1:7111"
  pipeline_addr: "127.0.0.1:7112"
  credit_addr: "127.0.0.1:7114"
  reporting_currency: "CNY"
}
regions {
  id: "europe"
  parent_node_id: "$hq_id"
  accounts_addr: "127.0.0.1:7121"
  pipeline_addr: "127.0.0.1:7122"
  credit_addr: "127.0.0.1:7124"
  reporting_currency: "EUR"
}
EOF2
launch forecast global-forecast 7133 --currency=USD --accounts_addr=127.0.0.1:7131 \
  --regions_file="$RUN_DIR/regions.textproto"

# The demo quarter's global tree, once both regions arrived (at most 60 s).
year_quarter=$(sed -n 's/^Forecast \([0-9]*\)-Q\([1-4]\).*/--year=\1 --quarter=\2/p' "$RUN_DIR/demo-7110.txt" | head -1)
for _ in $(seq 1 120); do
  tree=$("$CTL" --forecast=127.0.0.1:7133 --accounts=127.0.0.1:7131 --currency=USD \
    forecast tree --node="$hq_id" \
    $year_quarter --depth=3 2>/dev/null || true)
  if [ "$(grep -c '^  [^ ]' <<<"$tree")" -ge 2 ]; then break; fi
  sleep 0.5
done
echo "federation: the global forecast in USD (http: none; grpc 127.0.0.1:7133):"
echo "$tree"
echo "federation: ${#pids[@]} services running; Ctrl-C stops them"
wait -n "${pids[@]}" || true
if [ "$stopping" -eq 0 ]; then
  echo "federation: a service exited unexpectedly; see $RUN_DIR/*.log" >&2
  exit 1
fi
