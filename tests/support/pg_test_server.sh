#!/usr/bin/env bash
# A throwaway PostgreSQL server for tests and benchmarks: initdb + pg_ctl in DIR, listening on a
# Unix socket in DIR only (no TCP port, no root service, nothing shared with another run).
#
#   pg_test_server.sh start DIR      # (re)creates the cluster in DIR and starts it
#   pg_test_server.sh stop DIR       # stops it and removes DIR
#   pg_test_server.sh url DIR        # prints the libpq URL of its "postgres" database
#   pg_test_server.sh run DIR CMD... # start, run CMD with IOTSEC_TEST_PG_URL set, stop (also on
#                                    # failure or interrupt), exit with CMD's status
#
# initdb refuses to run as root (CI and the dev machines are root): the server then runs as the
# unprivileged `postgres` user that Debian's postgresql package creates, and DIR is given to
# it. Authentication is `trust` over the socket, whose directory only that user and root can
# enter. Durability settings are off unless PG_TEST_FSYNC=on (benchmarks want the real thing).
set -euo pipefail

usage() {
    echo "usage: $0 start|stop|url DIR | run DIR CMD..." >&2
    exit 2
}
[ $# -ge 2 ] || usage
action=$1
dir=$2
shift 2
case "$dir" in /*) ;; *) dir="$PWD/$dir" ;; esac
port=5432 # only names the socket file: the socket directory is private to this server

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
    echo "pg_test_server: no PostgreSQL server binaries under /usr/lib/postgresql (run scripts/setup)" >&2
    exit 1
fi

as_server() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

url() {
    echo "postgresql:///postgres?host=$dir&port=$port&user=postgres"
}

stop() {
    if [ -f "$dir/data/postmaster.pid" ]; then
        as_server "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
}

start() {
    stop # a server left by an interrupted run of the same build
    mkdir -p "$dir"
    chmod 700 "$dir"
    if [ "$(id -u)" -eq 0 ]; then
        chown postgres: "$dir"
    fi
    trap 'echo "pg_test_server: start failed; log:" >&2; cat "$dir/log" >&2 2>/dev/null; stop' ERR
    as_server "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C \
        --no-sync >"$dir/initdb.log" 2>&1
    local durable=off
    [ "${PG_TEST_FSYNC:-off}" = on ] && durable=on
    cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$dir'
port = $port
max_connections = 200
fsync = $durable
synchronous_commit = $durable
full_page_writes = $durable
log_min_messages = warning
log_min_error_statement = panic
CONF
    as_server "$bindir/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 60 start >/dev/null
    # amcheck lets store_integrity_check verify indexes (contrib, shipped with the server).
    as_server "$bindir/psql" -q -h "$dir" -p "$port" -U postgres -d template1 \
        -c "CREATE EXTENSION IF NOT EXISTS amcheck" >/dev/null
    trap - ERR
}

case "$action" in
start) start ;;
stop) stop ;;
url) url ;;
run)
    [ $# -ge 1 ] || usage
    trap stop EXIT
    trap 'exit 130' INT TERM
    start
    IOTSEC_TEST_PG_URL=$(url) "$@"
    ;;
*) usage ;;
esac
