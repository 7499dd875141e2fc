# Sourced by bench/pg.sh and bench/pg_write.sh: installs PostgreSQL 15 and
# pgbench when missing and makes an empty cluster in $1 (PGDATA) owned by
# whoever runs it — the postgres user when root, since PostgreSQL refuses to
# run as root. Sets PG_BIN, PGDATA and AS (the command prefix that runs as
# that user); callers start the server with their own settings.
PG_BIN=/usr/lib/postgresql/15/bin

if [ ! -x "$PG_BIN/postgres" ] || ! command -v pgbench >/dev/null; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    postgresql-15 postgresql-client-15 >/dev/null
fi

PGDATA=$1
rm -rf "$PGDATA"
mkdir -p "$PGDATA"
AS=()
if [ "$(id -u)" -eq 0 ]; then
  chown postgres "$PGDATA"
  chmod 755 "$(dirname "$PGDATA")"
  AS=(runuser -u postgres --)
fi
"${AS[@]}" "$PG_BIN/initdb" -D "$PGDATA" -U bench --auth=trust >/dev/null
