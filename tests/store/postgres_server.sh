#!/bin/sh
# The test suite's PostgreSQL 15 server: started once per ctest run (fixture postgres_server) and
# stopped at its end, also when tests failed.
#   postgres_server.sh start STATE_DIR   initdb + pg_ctl start in a fresh temporary directory, on
#                                        127.0.0.1 and a free port; writes STATE_DIR/url
#   postgres_server.sh stop STATE_DIR    stops it and removes the temporary directory
# The server refuses to run as root: as root it runs as the Debian `postgres` user. It is a test
# server: trust authentication on loopback only, fsync off (the durability tests, not these, need
# fsync). A server left behind by an interrupted run is stopped by the next start.
set -eu
BIN=${JLIS_PG_BIN:-/usr/lib/postgresql/15/bin}
cmd=${1:?start or stop}
state=${2:?state directory}
mkdir -p "$state"

as_server_user() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

stop() {
  [ -f "$state/dir" ] || return 0
  tmp=$(cat "$state/dir")
  if [ -f "$tmp/data/postmaster.pid" ]; then
    (cd "$tmp" && as_server_user "$BIN/pg_ctl" -D "$tmp/data" -m immediate -w -t 60 stop >/dev/null) || true
  fi
  case "$tmp" in /tmp/jlis-pg.*|"${TMPDIR:-/tmp}"/jlis-pg.*) rm -rf "$tmp" ;; esac
  rm -f "$state/dir" "$state/url"
}

case "$cmd" in
  start)
    stop
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/jlis-pg.XXXXXX")
    echo "$tmp" > "$state/dir"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$tmp"
    cd "$tmp"
    as_server_user "$BIN/initdb" -D "$tmp/data" -U postgres --auth=trust -E UTF8 --no-locale -N >"$tmp/initdb.log" 2>&1 ||
      { cat "$tmp/initdb.log" >&2; exit 1; }
    for attempt in 1 2 3 4 5; do
      port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
      if as_server_user "$BIN/pg_ctl" -D "$tmp/data" -l "$tmp/server.log" -w -t 60 \
           -o "-c listen_addresses=127.0.0.1 -p $port -k $tmp -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
           start >/dev/null; then
        echo "postgresql://postgres@127.0.0.1:$port/postgres" > "$state/url"
        echo "PostgreSQL test server on 127.0.0.1:$port in $tmp"
        exit 0
      fi
    done
    cat "$tmp/server.log" >&2
    exit 1
    ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop STATE_DIR" >&2; exit 2 ;;
esac
