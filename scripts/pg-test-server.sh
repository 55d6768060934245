#!/usr/bin/env bash
# A throw-away PostgreSQL 15 (Debian's binaries) for the tests: initdb in a temporary directory,
# listening on 127.0.0.1 only, trust authentication, fsync off. Not for anything but tests.
#
# Usage:   scripts/pg-test-server.sh start     # stdout is ONLY the URL of the test database
#          scripts/pg-test-server.sh stop      # stops it and removes everything it made
#          scripts/pg-test-server.sh restart   # pg_ctl restart -m fast (the data stays)
#          scripts/pg-test-server.sh halt      # stops the server, keeps the data
#          scripts/pg-test-server.sh resume    # starts a halted server again
#          scripts/pg-test-server.sh freeze|thaw  # SIGSTOP / SIGCONT every process of the server
# Env in:  PG_PORT  (default 15432; 0 picks a free port, printed in the URL)
#          PG_DIR   (default /tmp/coffer-pg-$PG_PORT): data, socket, log; removed by stop
#          PG_DB    (default coffer_test, collated by ICU en-US) PG_USER (default coffer): superuser
#          PG_BIN   (default /usr/lib/postgresql/15/bin)
#
# initdb refuses to run as root: as root, the server runs as the system user `postgres` (created
# by Debian's postgresql package; a `coffer-pg` system user is added if it is missing), which owns
# PG_DIR. PG_DIR is outside /root, which that user could not enter.
set -euo pipefail

cmd="${1:-}"
PORT="${PG_PORT:-15432}"
DB="${PG_DB:-coffer_test}"
DB_USER="${PG_USER:-coffer}"
BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"

log() { echo "pg-test-server: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# A port nobody listens on, from a range away from the usual services and below the kernel's
# ephemeral range: a port there may be the local end of some outgoing connection, which a connect
# test cannot see but which makes the server's bind fail ("Address already in use").
free_port() {
  local p lo=32768
  [ -r /proc/sys/net/ipv4/ip_local_port_range ] && read -r lo _ < /proc/sys/net/ipv4/ip_local_port_range
  [ "$lo" -gt 21000 ] || lo=32768
  for ((i = 0; i < 200; i++)); do
    p=$((20000 + RANDOM % (lo - 20000)))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return
    fi
  done
  die "no free port found"
}

if [ "$cmd" = start ] && [ "$PORT" = 0 ]; then
  PORT="$(free_port)"
fi
D="${PG_DIR:-/tmp/coffer-pg-$PORT}"
case "$D" in
  /root | /root/*) die "PG_DIR must be outside /root (the server user cannot enter it)" ;;
  /) die "PG_DIR must not be /" ;;
esac

# Runs a command as the server's user (from / so that an unreadable working directory is no
# obstacle).
as_owner=()
if [ "$(id -u)" = 0 ]; then
  owner=postgres
  if ! id "$owner" >/dev/null 2>&1; then
    owner=coffer-pg
    id "$owner" >/dev/null 2>&1 || useradd --system --no-create-home --shell /bin/false "$owner"
  fi
  as_owner=(runuser -u "$owner" --)
fi
run() { (cd / && "${as_owner[@]}" "$@"); }

pg_ctl() { run "$BIN/pg_ctl" -D "$D/data" "$@"; }
is_running() { [ -f "$D/data/postmaster.pid" ] && pg_ctl status >/dev/null 2>&1; }

# The postmaster and its children: every process of this server, and only those.
server_pids() {
  local pid
  [ -f "$D/data/postmaster.pid" ] || return 0
  pid="$(head -n 1 "$D/data/postmaster.pid")"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  echo "$pid"
  pgrep -P "$pid" || true
}

start_server() {
  # -w: wait until it accepts connections.
  pg_ctl -l "$D/log/postgres.log" -w -t 60 start >/dev/null ||
    { tail -n 20 "$D/log/postgres.log" >&2 || true; die "the server did not start"; }
}

case "$cmd" in
  start)
    [ -x "$BIN/initdb" ] || die "$BIN/initdb is missing: apt-get install postgresql-15"
    if is_running; then
      log "stopping the server left running in $D"
      pg_ctl -m immediate stop >/dev/null || true
    fi
    rm -rf "$D"
    mkdir -p "$D/data" "$D/run" "$D/log"
    chmod 755 "$D"
    chmod 700 "$D/data"
    if [ "${#as_owner[@]}" -gt 0 ]; then chown -R "$owner": "$D"; fi
    run "$BIN/initdb" -D "$D/data" -U "$DB_USER" -A trust -E UTF8 --locale=C --no-sync \
      >"$D/log/initdb.log" 2>&1 || { cat "$D/log/initdb.log" >&2; die "initdb failed"; }
    cat >"$D/data/pg_hba.conf" <<EOF
local all all              trust
host  all all 127.0.0.1/32 trust
EOF
    cat >>"$D/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$D/run'
max_connections = 300
fsync = off
synchronous_commit = off
full_page_writes = off
log_min_messages = warning
EOF
    if [ "${#as_owner[@]}" -gt 0 ]; then chown "$owner": "$D/data/pg_hba.conf"; fi
    start_server
    # The test database sorts text as English does ('a' < 'B'), unlike the bytewise order Coffer
    # promises: the tests then show that the schema's COLLATE "C" holds whatever the locale.
    run "$BIN/psql" -h "$D/run" -p "$PORT" -U "$DB_USER" -d postgres -qAt -v ON_ERROR_STOP=1 \
      -c "CREATE DATABASE \"$DB\" LOCALE_PROVIDER icu ICU_LOCALE 'en-US' TEMPLATE template0" \
      >/dev/null || die "cannot create database $DB"
    echo "postgresql://$DB_USER@127.0.0.1:$PORT/$DB"
    ;;
  stop)
    # A frozen server would never finish stopping.
    for pid in $(server_pids); do kill -CONT "$pid" 2>/dev/null || true; done
    if is_running; then pg_ctl -m immediate -t 20 stop >/dev/null || true; fi
    # A frozen server cannot stop: whatever of it is left goes.
    for pid in $(server_pids); do kill -KILL "$pid" 2>/dev/null || true; done
    rm -rf "$D"
    ;;
  restart)
    is_running || die "no server in $D"
    pg_ctl -m fast -l "$D/log/postgres.log" -w -t 60 restart >/dev/null
    ;;
  halt)
    is_running || die "no server in $D"
    pg_ctl -m fast -w stop >/dev/null
    ;;
  resume)
    [ -d "$D/data" ] || die "no data in $D"
    is_running || start_server
    ;;
  freeze | thaw)
    pids="$(server_pids)"
    [ -n "$pids" ] || die "no server in $D"
    signal=STOP
    [ "$cmd" = thaw ] && signal=CONT
    for pid in $pids; do kill "-$signal" "$pid" 2>/dev/null || true; done
    ;;
  *)
    echo "usage: $0 start|stop|restart|halt|resume|freeze|thaw" >&2
    exit 2
    ;;
esac
