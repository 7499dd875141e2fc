#!/usr/bin/env bash
# The PostgreSQL 15 write peer of issue 21 (called by bench/run.sh, or alone
# on the deals.csv a run left in $BENCH_DIR): the deals the benchmark created
# one by one with CreateOpportunity, inserted as single-row INSERTs with
# synchronous_commit=on (and fsync) over $CLIENTS connections (pgbench -c
# $CLIENTS -j 2) into a table shaped like the pipeline's opportunity: id,
# name, account, owner, amount, currency, stage, close date, external_id
# unique (the request_id), indexes on owner and account. Prints rows/s.
#   bench/pg_write.sh
# Each INSERT takes its row from a staging table by primary key (pgbench
# cannot read a CSV): one index lookup per row, the peer of the pipeline
# looking up the owner and the account it checks on each create.
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_DIR=${BENCH_DIR:-/tmp/salesops-bench}
PG_PORT=${PG_PORT:-7298}
CLIENTS=${CLIENTS:-64}
# PostgreSQL 15, pgbench and an empty cluster (PG_BIN, PGDATA, AS).
source bench/pg_common.sh "$BENCH_DIR/pg-write"
if [ "$(id -u)" -eq 0 ]; then
  chmod 644 "$BENCH_DIR/deals.csv"
fi
# Durable as the pipeline with --sync_writes (fsync, synchronous_commit=on);
# checkpoints spaced out so none falls in the measured minutes (the
# pipeline's compactions run in the background too).
"${AS[@]}" "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$PGDATA/server.log" -w start \
  -o "-c listen_addresses=127.0.0.1 -c port=$PG_PORT -c unix_socket_directories=$PGDATA \
      -c shared_buffers=1GB -c fsync=on -c synchronous_commit=on \
      -c max_connections=$((CLIENTS + 20)) -c max_wal_size=16GB -c checkpoint_timeout=30min" \
  >/dev/null
trap '"${AS[@]}" "$PG_BIN/pg_ctl" -D "$PGDATA" -m fast stop >/dev/null' EXIT
PSQL=(psql -h 127.0.0.1 -p "$PG_PORT" -U bench -d postgres -v ON_ERROR_STOP=1 -q)

"${PSQL[@]}" <<SQL
CREATE TABLE deal_src (k bigint PRIMARY KEY, name text, account text, owner text,
  amount bigint, currency text, stage text, close_date date, external_id text);
\copy deal_src FROM '$BENCH_DIR/deals.csv' WITH (FORMAT csv)
CREATE TABLE opportunity (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name text NOT NULL, account text NOT NULL, owner text NOT NULL,
  amount bigint NOT NULL, currency text NOT NULL, stage text NOT NULL,
  close_date date NOT NULL, external_id text NOT NULL UNIQUE);
CREATE INDEX opportunity_owner ON opportunity (owner);
CREATE INDEX opportunity_account ON opportunity (account);
VACUUM ANALYZE deal_src;
SQL
rows=$("${PSQL[@]}" -At -c "SELECT count(*) FROM deal_src")
per_client=$((rows / CLIENTS))
if [ "$per_client" -lt 1 ]; then
  echo "postgres write: $rows rows are fewer than $CLIENTS connections" >&2
  exit 1
fi
# Client c's n-th INSERT takes row c + CLIENTS * n (pgbench keeps a
# client's variables from one transaction to the next).
cat > "$BENCH_DIR/insert.sql" <<SQL
\set k :client_id + $CLIENTS * :n
\set n :n + 1
INSERT INTO opportunity (name, account, owner, amount, currency, stage, close_date, external_id)
  SELECT name, account, owner, amount, currency, stage, close_date, external_id
  FROM deal_src WHERE k = :k;
SQL
out=$(cd "$BENCH_DIR" && pgbench -h 127.0.0.1 -p "$PG_PORT" -U bench -n -c "$CLIENTS" -j 2 \
  -t "$per_client" -D n=0 -f insert.sql postgres 2>&1) || { echo "$out" >&2; exit 1; }
tps=$(echo "$out" | sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p')
got=$("${PSQL[@]}" -At -c "SELECT count(*) FROM opportunity")
want=$((per_client * CLIENTS))
if [ "$got" != "$want" ]; then
  echo "postgres write: $got rows in the table, $want inserted" >&2
  exit 1
fi
printf "postgres write: %d single-row INSERTs, %d connections, synchronous_commit=on: %.0f rows/s\n" \
  "$got" "$CLIENTS" "$tps"
