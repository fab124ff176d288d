#!/bin/sh
# Two centres on loopback for the failover drill: a pg_auto_failover formation of a monitor and two
# PostgreSQL 15 nodes, "west" (the first primary) and "east" (its synchronous standby), each node
# run by its own keeper (`pg_autoctl run`) in its own process group, so that killing the group is a
# centre dying: keeper, postmaster and backends at once.
#   formation.sh start STATE        creates and starts the formation in a fresh temporary directory;
#                                   writes STATE/env (ports, directory) and returns when east is a
#                                   streaming synchronous standby
#   formation.sh kill STATE NODE    SIGKILL to NODE's keeper and PostgreSQL (the centre dies)
#   formation.sh rejoin STATE NODE  starts NODE's keeper again; returns when it is a secondary
#   formation.sh wait-primary STATE NODE   returns when the monitor has made NODE the primary
#   formation.sh switchover STATE NODE     a planned switchover (pg_autoctl perform switchover, as
#                                   the runbook does it); returns when NODE is the primary and the
#                                   other node its secondary
#   formation.sh state STATE        pg_autoctl show state
#   formation.sh stop STATE         stops everything and removes the temporary directory
# The servers refuse to run as root: as root they run as the Debian `postgres` user. Trust
# authentication on loopback only. The monitor's health checks are tightened from their defaults
# (node unhealthy after 20 s, primary demote timeout 30 s) to seconds, so that a drill stays short;
# docs/OPERATIONS.md says what to use in production. A formation left behind by an interrupted run
# is stopped by the next start.
set -eu
BIN=${JLIS_PG_BIN:-/usr/lib/postgresql/15/bin}
cmd=${1:?start, kill, rejoin, wait-primary, switchover, state or stop}
state=${2:?state directory}
mkdir -p "$state"
# pg_autoctl looks for each server's socket in Debian's default directory, which a machine started
# after the packages were installed may not have (/run is emptied at boot).
if [ "$(id -u)" = 0 ] && [ ! -d /var/run/postgresql ]; then
  install -d -o postgres -g postgres -m 2775 /var/run/postgresql
fi

as_server_user() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# pg_autoctl keeps its state under XDG_*; everything stays in the temporary directory.
autoctl() {
  (cd "$tmp" && as_server_user env XDG_CONFIG_HOME="$tmp/xdg/config" XDG_DATA_HOME="$tmp/xdg/data" \
     XDG_RUNTIME_DIR="$tmp/xdg/run" LC_ALL=C LANG=C PG_CONFIG="$BIN/pg_config" pg_autoctl "$@")
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Starts the keeper of $1 (monitor, west, east) detached: its pid in $tmp/$1.keeper, in a new
# session with its own process group (keeper_group), every inherited descriptor closed (a test
# runner waits for the pipes it handed its test to close).
run_keeper() {
  chuid=""
  [ "$(id -u)" = 0 ] && chuid="--chuid postgres"
  rm -f "$tmp/$1.keeper"
  (cd "$tmp" && env XDG_CONFIG_HOME="$tmp/xdg/config" XDG_DATA_HOME="$tmp/xdg/data" XDG_RUNTIME_DIR="$tmp/xdg/run" \
     LC_ALL=C LANG=C PG_CONFIG="$BIN/pg_config" \
     start-stop-daemon --start --background $chuid --make-pidfile --pidfile "$tmp/$1.keeper" \
       --output "$tmp/$1.log" --chdir "$tmp" --exec "$(command -v pg_autoctl)" -- run --pgdata "$tmp/$1")
}

# The process group of $1's keeper (and its PostgreSQL); empty when it is not running.
keeper_group() {
  [ -f "$tmp/$1.keeper" ] || return 0
  ps -o pgid= -p "$(cat "$tmp/$1.keeper")" 2>/dev/null | tr -d ' ' || true
}

kill_node() {
  pgid=$(keeper_group "$1")
  [ -n "$pgid" ] || { echo "$1 is not running" >&2; return 1; }
  kill -KILL "-$pgid" 2>/dev/null || true
  # The postmaster's children exit when it is gone; wait for the port to close.
  i=0
  while [ $i -lt 100 ] && pgrep -g "$pgid" >/dev/null 2>&1; do i=$((i + 1)); sleep 0.1; done
  rm -f "$tmp/$1.keeper"
}

load() {
  [ -f "$state/env" ] || { echo "no formation in $state" >&2; exit 1; }
  . "$state/env"
}

# Waits (up to $2 seconds) until `pg_autoctl show state` has a line matching $1.
wait_state() {
  i=0
  while [ $i -lt $(($2 * 2)) ]; do
    autoctl show state --pgdata "$tmp/monitor" 2>/dev/null | grep -Eq "$1" && return 0
    i=$((i + 1)); sleep 0.5
  done
  autoctl show state --pgdata "$tmp/monitor" >&2 || true
  echo "timed out waiting for: $1" >&2
  return 1
}

stop() {
  [ -f "$state/env" ] || return 0
  . "$state/env"
  groups=""
  for node in east west monitor; do
    pgid=$(keeper_group "$node")
    [ -n "$pgid" ] && groups="$groups $pgid" && kill -TERM "-$pgid" 2>/dev/null || true
  done
  for pgid in $groups; do
    i=0
    while [ $i -lt 100 ] && pgrep -g "$pgid" >/dev/null 2>&1; do i=$((i + 1)); sleep 0.1; done
    kill -KILL "-$pgid" 2>/dev/null || true
  done
  # A postmaster that outlived its keeper (its group gone) is stopped through its pid file.
  for node in east west monitor; do
    if [ -f "$tmp/$node/postmaster.pid" ]; then
      pid=$(head -n1 "$tmp/$node/postmaster.pid")
      # Only if that pid is still this node's postmaster (a stale file's pid may be reused).
      if [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "-D $tmp/$node "; then
        kill -9 "$pid" 2>/dev/null || true
      fi
    fi
  done
  case "$tmp" in /tmp/jlis-centres.*|"${TMPDIR:-/tmp}"/jlis-centres.*) rm -rf "$tmp" ;; esac
  rm -f "$state/env"
}

case "$cmd" in
  start)
    stop
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/jlis-centres.XXXXXX")
    chmod 755 "$tmp"
    mkdir -p "$tmp/xdg/config" "$tmp/xdg/data" "$tmp/xdg/run"
    chmod 700 "$tmp/xdg/run"
    [ "$(id -u)" = 0 ] && chown -R postgres:postgres "$tmp"
    monitor_port=$(free_port); west_port=$(free_port); east_port=$(free_port)
    cat >"$state/env" <<EOF
tmp=$tmp
monitor_port=$monitor_port
west_port=$west_port
east_port=$east_port
EOF
    common="--hostname 127.0.0.1 --listen 127.0.0.1 --auth trust --no-ssl --pgctl $BIN/pg_ctl"
    autoctl create monitor --pgdata "$tmp/monitor" --pgport "$monitor_port" $common >"$tmp/create-monitor.log" 2>&1 ||
      { cat "$tmp/create-monitor.log" >&2; exit 1; }
    run_keeper monitor
    i=0
    until "$BIN/pg_isready" -q -h 127.0.0.1 -p "$monitor_port"; do
      i=$((i + 1)); [ $i -lt 100 ] || { echo "the monitor did not start" >&2; exit 1; }; sleep 0.2
    done
    "$BIN/psql" -qX -h 127.0.0.1 -p "$monitor_port" -U postgres -d pg_auto_failover \
      -c "ALTER SYSTEM SET pgautofailover.health_check_period = 1000" \
      -c "ALTER SYSTEM SET pgautofailover.health_check_timeout = 1000" \
      -c "ALTER SYSTEM SET pgautofailover.health_check_max_retries = 1" \
      -c "ALTER SYSTEM SET pgautofailover.health_check_retry_delay = 500" \
      -c "ALTER SYSTEM SET pgautofailover.node_considered_unhealthy_timeout = 3000" \
      -c "ALTER SYSTEM SET pgautofailover.primary_demote_timeout = 3000" \
      -c "SELECT pg_reload_conf()" >/dev/null
    monitor="postgres://autoctl_node@127.0.0.1:$monitor_port/pg_auto_failover?sslmode=disable"
    for node in west east; do
      eval port=\$${node}_port
      autoctl create postgres --pgdata "$tmp/$node" --pgport "$port" --name "$node" --dbname jlis \
        --monitor "$monitor" $common >"$tmp/create-$node.log" 2>&1 || { cat "$tmp/create-$node.log" >&2; exit 1; }
      # A test machine: small shared buffers (pg_auto_failover sizes them for a dedicated server).
      echo "shared_buffers = '64MB'" >>"$tmp/$node/postgresql.conf"
      run_keeper "$node"
      [ "$node" = west ] && wait_state "^ *west .*\| *single *\| *single$" 60
    done
    wait_state "^ *east .*\| *secondary *\| *secondary$" 90
    wait_state "^ *west .*\| *primary *\| *primary$" 30
    echo "pg_auto_failover formation: monitor 127.0.0.1:$monitor_port, west 127.0.0.1:$west_port, east 127.0.0.1:$east_port in $tmp"
    ;;
  kill) load; kill_node "${3:?node}" ;;
  rejoin)
    load; node=${3:?node}
    run_keeper "$node"
    wait_state "^ *$node .*\| *secondary *\| *secondary$" 90
    ;;
  wait-primary)
    load; node=${3:?node}
    wait_state "^ *$node .*\| *(wait_primary|primary) *\| *(wait_primary|primary)$" 90
    ;;
  switchover)
    load; node=${3:?node}
    other=west; [ "$node" = west ] && other=east
    # The monitor refuses a switchover while no node is primary (a rejoined standby's primary can
    # still be wait_primary): wait until the formation is settled first.
    wait_state "^ *$other .*\| *primary *\| *primary$" 90
    wait_state "^ *$node .*\| *secondary *\| *secondary$" 90
    autoctl perform switchover --pgdata "$tmp/monitor" --formation default >"$tmp/switchover.log" 2>&1 ||
      { cat "$tmp/switchover.log" >&2; exit 1; }
    wait_state "^ *$node .*\| *primary *\| *primary$" 90
    wait_state "^ *$other .*\| *secondary *\| *secondary$" 90
    ;;
  state) load; autoctl show state --pgdata "$tmp/monitor" ;;
  stop) stop ;;
  *) echo "usage: $0 start|kill|rejoin|wait-primary|switchover|state|stop STATE_DIR [NODE]" >&2; exit 2 ;;
esac
