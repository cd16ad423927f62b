#!/usr/bin/env bash
# Berth test environment: the machine's PostgreSQL 15 (cluster 15/main on 127.0.0.1:5432).
#
#   - installs postgresql-15 via apt if it is missing (fresh machine variant)
#   - starts the cluster with pg_ctlcluster (no systemd here), reusing a running one
#   - ensures role `berth` (password `berth`, SUPERUSER so tests can create databases)
#     and database `berth_test` (owned by berth)
#   - checks that password auth over TCP on 127.0.0.1 really works (fixes pg_hba if not)
#
# Idempotent. Logs go to stderr; the last stdout line is
#   DATABASE_URL=postgresql://berth:berth@127.0.0.1:5432/berth_test
set -euo pipefail

PG_VERSION=15
PG_CLUSTER=main
PG_PORT=5432
DB_USER=berth
DB_PASS=berth
DB_NAME=berth_test
DATABASE_URL="postgresql://$DB_USER:$DB_PASS@127.0.0.1:$PG_PORT/$DB_NAME"
STATE_DIR="${BERTH_PG_STATE:-/root/.cache/berth/postgres}"
START_TS=$(date +%s.%N)

log() { printf '[postgres/up %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root"
mkdir -p "$STATE_DIR"

# ---------------------------------------------------------------- install
if [ ! -x "/usr/lib/postgresql/$PG_VERSION/bin/postgres" ] || ! command -v pg_ctlcluster >/dev/null 2>&1; then
  log "PostgreSQL $PG_VERSION not installed; installing postgresql-$PG_VERSION via apt"
  tmp_policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    # keep the package's init script from starting the cluster itself; we start it below
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    tmp_policy=/usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt_log="$STATE_DIR/apt.log"
  apt-get update >"$apt_log" 2>&1 || { tail -n 30 "$apt_log" >&2; die "apt-get update failed (see $apt_log)"; }
  apt-get install -y --no-install-recommends "postgresql-$PG_VERSION" "postgresql-client-$PG_VERSION" >>"$apt_log" 2>&1 \
    || { tail -n 30 "$apt_log" >&2; die "apt-get install failed (see $apt_log)"; }
  if [ -n "$tmp_policy" ]; then rm -f "$tmp_policy"; trap - EXIT; fi
fi

# The package's postinst normally creates 15/main; create it if it does not exist.
if ! pg_lsclusters -h | awk -v v="$PG_VERSION" -v c="$PG_CLUSTER" '$1==v && $2==c {f=1} END {exit !f}'; then
  log "creating cluster $PG_VERSION/$PG_CLUSTER on port $PG_PORT"
  pg_createcluster --port "$PG_PORT" "$PG_VERSION" "$PG_CLUSTER" >&2
fi

cluster_line=$(pg_lsclusters -h | awk -v v="$PG_VERSION" -v c="$PG_CLUSTER" '$1==v && $2==c')
port=$(awk '{print $3}' <<<"$cluster_line")
status=$(awk '{print $4}' <<<"$cluster_line")
[ "$port" = "$PG_PORT" ] || die "cluster $PG_VERSION/$PG_CLUSTER listens on port $port, expected $PG_PORT"

# ---------------------------------------------------------------- start
case "$status" in
  online*) log "cluster $PG_VERSION/$PG_CLUSTER already running" ;;
  *)
    log "pg_ctlcluster $PG_VERSION $PG_CLUSTER start"
    pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" start >&2
    ;;
esac

for _ in $(seq 1 60); do
  pg_isready -q -h 127.0.0.1 -p "$PG_PORT" && break
  sleep 0.5
done
pg_isready -q -h 127.0.0.1 -p "$PG_PORT" || die "PostgreSQL does not accept connections on 127.0.0.1:$PG_PORT after 30 s"

# ---------------------------------------------------------------- role + database
as_pg() { runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -p "$PG_PORT" -d postgres "$@"; }

if [ "$(as_pg -tAc "SELECT 1 FROM pg_roles WHERE rolname = '$DB_USER'")" = 1 ]; then
  log "role $DB_USER exists (resetting password and attributes)"
  as_pg -c "ALTER ROLE $DB_USER WITH LOGIN SUPERUSER CREATEDB PASSWORD '$DB_PASS'" >/dev/null
else
  log "creating role $DB_USER"
  as_pg -c "CREATE ROLE $DB_USER WITH LOGIN SUPERUSER CREATEDB PASSWORD '$DB_PASS'" >/dev/null
fi

if [ "$(as_pg -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'")" = 1 ]; then
  log "database $DB_NAME exists"
else
  log "creating database $DB_NAME (owner $DB_USER)"
  as_pg -c "CREATE DATABASE $DB_NAME OWNER $DB_USER" >/dev/null
fi

# ---------------------------------------------------------------- password auth over TCP
try_connect() { PGCONNECT_TIMEOUT=5 psql -X "$DATABASE_URL" -tAc 'SELECT 1' 2>"$STATE_DIR/connect.err"; }

if [ "$(try_connect || true)" != 1 ]; then
  log "password login over 127.0.0.1 failed: $(tr '\n' ' ' <"$STATE_DIR/connect.err")"
  hba=$(as_pg -tAc 'SHOW hba_file')
  # Debian's default is scram-sha-256 for host lines, which works; only a missing or
  # trust/ident/reject rule needs this. Prepend a rule for the test role and reload.
  if ! grep -qE "^host[[:space:]]+all[[:space:]]+${DB_USER}[[:space:]]+127\.0\.0\.1/32[[:space:]]+scram-sha-256" "$hba"; then
    log "prepending 'host all $DB_USER 127.0.0.1/32 scram-sha-256' to $hba"
    cp "$hba" "$hba.berth-backup"
    { echo "host    all    $DB_USER    127.0.0.1/32    scram-sha-256   # added by berth testenv"; cat "$hba.berth-backup"; } >"$hba"
    chown postgres:postgres "$hba"
    as_pg -c 'SELECT pg_reload_conf()' >/dev/null
    sleep 0.5
  fi
  [ "$(try_connect || true)" = 1 ] || die "still cannot log in as $DB_USER over 127.0.0.1: $(cat "$STATE_DIR/connect.err")"
fi
auth=$(as_pg -tAc "SELECT auth_method FROM pg_hba_file_rules WHERE type = 'host' AND '127.0.0.1' = ANY(ARRAY[split_part(address, '/', 1)]) ORDER BY line_number LIMIT 1" || true)
server=$(psql -X "$DATABASE_URL" -tAc 'SHOW server_version')
elapsed=$(awk -v s="$START_TS" -v e="$(date +%s.%N)" 'BEGIN{printf "%.1f", e-s}')
log "PostgreSQL $server ready on 127.0.0.1:$PG_PORT (host auth: ${auth:-?}); login as $DB_USER works; done in ${elapsed}s"

echo "DATABASE_URL=$DATABASE_URL"
