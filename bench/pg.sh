#!/usr/bin/env bash
# The PostgreSQL 15 side of the forecast benchmark (called by bench/run.sh,
# or alone on the CSV files a run left in $BENCH_DIR): loads the same org and
# opportunities into a PostgreSQL started on 127.0.0.1:$PG_PORT, checks that it
# computes the same root forecast, and measures the root rollup as
#   1. the obvious recursive CTE over the org tree, and
#   2. PostgreSQL's best effort: per-rep totals in a materialized view joined
#      with an indexed closure table of the org tree,
# with pgbench (one client), printing p50/p99 of each.
#   bench/pg.sh <root node id> <expected root pipeline_weighted minor units>
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$1
EXPECTED=$2
BENCH_DIR=${BENCH_DIR:-/tmp/salesops-bench}
PG_PORT=${PG_PORT:-7299}
# PostgreSQL 15, pgbench and an empty cluster (PG_BIN, PGDATA, AS).
source bench/pg_common.sh "$BENCH_DIR/pg"
"${AS[@]}" "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$PGDATA/server.log" -w start \
  -o "-c listen_addresses=127.0.0.1 -c port=$PG_PORT -c unix_socket_directories=$PGDATA \
      -c shared_buffers=1GB -c work_mem=256MB -c max_parallel_workers_per_gather=2" >/dev/null
trap '"${AS[@]}" "$PG_BIN/pg_ctl" -D "$PGDATA" -m fast stop >/dev/null' EXIT
PSQL=(psql -h 127.0.0.1 -p "$PG_PORT" -U bench -d postgres -v ON_ERROR_STOP=1 -q)

t0=$(date +%s)
"${PSQL[@]}" <<SQL
CREATE TABLE org (id text PRIMARY KEY, parent text);
CREATE INDEX org_parent ON org (parent);
CREATE TABLE stage_rate (stage text PRIMARY KEY, bp int);
INSERT INTO stage_rate VALUES ('INTEREST', 500), ('CONSIDERATION', 1000),
  ('DESIGN', 2000), ('COMPARISON', 3000), ('COMMITMENT', 5000), ('USAGE', 8000);
CREATE TABLE opp (owner text, amount bigint, stage text);
\copy org FROM '$BENCH_DIR/org.csv' WITH (FORMAT csv)
\copy opp FROM '$BENCH_DIR/opportunities.csv' WITH (FORMAT csv)
UPDATE org SET parent = NULL WHERE parent = '';
CREATE INDEX opp_owner ON opp (owner);
-- round_half_even(amount x bp / 10000) per opportunity, in integers.
CREATE FUNCTION weighted(amount bigint, bp int) RETURNS bigint
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS \$\$
  SELECT (amount * bp) / 10000 + CASE
    WHEN (amount * bp) % 10000 > 5000 THEN 1
    WHEN (amount * bp) % 10000 = 5000 AND ((amount * bp) / 10000) % 2 = 1 THEN 1
    ELSE 0 END \$\$;
-- Best effort: per-rep totals and the closure of the tree.
CREATE MATERIALIZED VIEW rep_total AS
  SELECT o.owner AS rep, sum(weighted(o.amount, r.bp)) AS weighted, count(*) AS n
  FROM opp o JOIN stage_rate r ON r.stage = o.stage GROUP BY o.owner;
CREATE UNIQUE INDEX rep_total_rep ON rep_total (rep);
CREATE TABLE closure AS
  WITH RECURSIVE c(ancestor, descendant) AS (
    SELECT id, id FROM org
    UNION ALL
    SELECT c.ancestor, o.id FROM c JOIN org o ON o.parent = c.descendant)
  SELECT * FROM c;
CREATE INDEX closure_ancestor ON closure (ancestor, descendant);
VACUUM ANALYZE;
SQL
t1=$(date +%s)
echo "postgres: loaded $(wc -l < "$BENCH_DIR/opportunities.csv") opportunities and $(wc -l < "$BENCH_DIR/org.csv") org nodes, built the view and closure in $((t1 - t0)) s"

cat > "$BENCH_DIR/cte.sql" <<SQL
WITH RECURSIVE sub(id) AS (
  SELECT id FROM org WHERE id = '$ROOT'
  UNION ALL SELECT o.id FROM org o JOIN sub s ON o.parent = s.id)
SELECT sum(weighted(p.amount, r.bp)) FROM sub
  JOIN opp p ON p.owner = sub.id JOIN stage_rate r ON r.stage = p.stage;
SQL
cat > "$BENCH_DIR/mv.sql" <<SQL
SELECT sum(t.weighted) FROM closure c JOIN rep_total t ON t.rep = c.descendant
  WHERE c.ancestor = '$ROOT';
SQL
for q in cte mv; do
  got=$("${PSQL[@]}" -At -f "$BENCH_DIR/$q.sql")
  if [ "$got" != "$EXPECTED" ]; then
    echo "postgres: $q answered $got, the forecast $EXPECTED" >&2
    exit 1
  fi
done

# Latency with pgbench: one client, per-transaction log (latency in µs is the
# third field); p50 and p99 from the sorted latencies.
measure() {
  local name=$1 tx=$2
  rm -f "$BENCH_DIR"/pgbench_log.*
  (cd "$BENCH_DIR" && pgbench -h 127.0.0.1 -p "$PG_PORT" -U bench -n -c 1 -t "$tx" \
     -f "$name.sql" -l --log-prefix=pgbench_log postgres >/dev/null 2>&1)
  cat "$BENCH_DIR"/pgbench_log.* | awk '{print $3}' | sort -n | awk -v name="$name" '
    { v[NR] = $1 }
    END {
      p50 = int(NR * 0.5) + 1
      p99 = int(NR * 0.99) + 1
      if (p99 > NR) p99 = NR
      printf "postgres %s: p50 %d us p99 %d us over %d runs\n", name, v[p50], v[p99], NR
    }'
}
measure cte "${CTE_RUNS:-30}"
measure mv "${MV_RUNS:-1000}"
