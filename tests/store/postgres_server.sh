#!/bin/sh
# The test suite's PostgreSQL 15 server: started once per ctest run (fixture postgres_server) and
# stopped at its end, also when tests failed.
#   postgres_server.sh start STATE_DIR   initdb + pg_ctl start in a fresh temporary directory, on
#                                        127.0.0.1 and a free port; writes STATE_DIR/url
#   postgres_server.sh start STATE_DIR durable
#                                        the same with fsync and synchronous_commit on (the defaults),
#                                        for the durability test, which crashes it
#   postgres_server.sh crash STATE_DIR   SIGKILL to the server and all its backends at once, as when
#                                        the database host dies
#   postgres_server.sh restart STATE_DIR starts it again on the same port (crash recovery first)
#   postgres_server.sh stop STATE_DIR    stops it and removes the temporary directory
# The server refuses to run as root: as root it runs as the Debian `postgres` user. It is a test
# server: trust authentication on loopback only, and unless durable fsync off. A server left behind
# by an interrupted run is stopped by the next start.
set -eu
BIN=${JLIS_PG_BIN:-/usr/lib/postgresql/15/bin}
cmd=${1:?start or stop}
state=${2:?state directory}
mkdir -p "$state"

as_server_user() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# Starts the server in a session of its own (setsid), away from the test's terminal and its signals.
start_server() {
  (cd "$tmp" && as_server_user setsid "$BIN/pg_ctl" -D "$tmp/data" -l "$tmp/server.log" -w -t 60 \
     -o "-c listen_addresses=127.0.0.1 -p $port -k $tmp $(cat "$state/options") -c max_connections=200" start >/dev/null)
}

stop() {
  [ -f "$state/dir" ] || return 0
  tmp=$(cat "$state/dir")
  if [ -f "$tmp/data/postmaster.pid" ]; then
    (cd "$tmp" && as_server_user "$BIN/pg_ctl" -D "$tmp/data" -m immediate -w -t 60 stop >/dev/null) || true
  fi
  case "$tmp" in /tmp/jlis-pg.*|"${TMPDIR:-/tmp}"/jlis-pg.*) rm -rf "$tmp" ;; esac
  rm -f "$state/dir" "$state/url" "$state/options"
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
    if [ "${3:-}" = durable ]; then : > "$state/options"
    else echo "-c fsync=off -c synchronous_commit=off -c full_page_writes=off" > "$state/options"; fi
    for attempt in 1 2 3 4 5; do
      port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
      if start_server; then
        echo "postgresql://postgres@127.0.0.1:$port/postgres" > "$state/url"
        echo "PostgreSQL test server on 127.0.0.1:$port in $tmp"
        exit 0
      fi
    done
    cat "$tmp/server.log" >&2
    exit 1
    ;;
  crash)
    tmp=$(cat "$state/dir")
    pid=$(head -n 1 "$tmp/data/postmaster.pid")
    # PostgreSQL's children each call setsid(), so no process group holds them all: the postmaster
    # is stopped first (it forks no new backend meanwhile), its children are listed (the processes
    # whose parent it is), then all of them get SIGKILL together.
    kill -STOP "$pid"
    pids=$pid
    for stat in /proc/[0-9]*/stat; do
      read -r line 2>/dev/null < "$stat" || continue
      set -- ${line##*) }  # after "pid (comm) ": state, parent, ...
      [ "${2:-}" = "$pid" ] && pids="$pids ${line%% *}"
    done
    kill -KILL $pids 2>/dev/null || true
    # Each is dead once gone or a zombie: the PID 1 of some machines reaps an orphan only a second or
    # more later, and a zombie holds no port, file or memory. A backend still running could finish a
    # commit after the "crash", and would keep the old shared memory attached at the restart.
    for p in $pids; do
      while read -r line 2>/dev/null < "/proc/$p/stat"; do
        set -- ${line##*) }
        [ "$1" = Z ] && break
        sleep 0.02
      done
    done
    # A zombie's PID in the lock files would make the restart refuse ("lock file already exists"):
    # they go, with the interlock shared memory segment postmaster.pid's seventh line names ("key id").
    shmid=$(sed -n 7p "$tmp/data/postmaster.pid" | cut -d ' ' -f 2)
    rm -f "$tmp/data/postmaster.pid" "$tmp"/.s.PGSQL.*.lock
    if [ -n "$shmid" ]; then ipcrm -m "$shmid" 2>/dev/null || true; fi
    ;;
  restart)
    tmp=$(cat "$state/dir")
    port=$(sed 's/.*:\([0-9]*\)\/.*/\1/' "$state/url")
    start_server || { cat "$tmp/server.log" >&2; exit 1; }
    ;;
  stop) stop ;;
  *) echo "usage: $0 start|crash|restart|stop STATE_DIR [durable]" >&2; exit 2 ;;
esac
