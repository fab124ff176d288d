#!/usr/bin/env bash
# Card production and certificate issuance on SQLite beside PostgreSQL, with pgbench on the same
# PostgreSQL server as the reference for what the database gives on this machine, in one run.
# Each round, in turn: card_production N on SQLite, then on PostgreSQL (cards produced per second,
# a transaction per production batch); issuance_rate ISSUED 1 on SQLite, then on PostgreSQL
# (certificates per second, a transaction per certificate as at a handover); pgbench -b tpcb-like
# for SECONDS. PostgreSQL is a throwaway server on loopback (bench/pg_server.sh: fsync and
# synchronous_commit on), each PostgreSQL run on an empty database of its own.
# Usage: bench/store_rate.sh BUILD_DIR [N] [ISSUED] [RUNS] [SECONDS]
set -euo pipefail
build=$1 n=${2:-100000} issued=${3:-2000} runs=${4:-3} secs=${5:-10}
work=$(mktemp -d "${JLIS_BENCH_DIR:-/var/tmp}/jlis-store-rate.XXXXXX")
source "$(dirname "$0")/pg_server.sh"
trap 'pg_stop; rm -rf "$work"' EXIT
pg_start
pgbench_init

# The rate one benchmark prints: card_production "...: R applications/s", issuance_rate
# "certificate issuance: median R certificates/s with one thread, ..." (the one-thread rate).
card_rate() { "$build/bench/card_production" "$n" | sed -n 's/.*: \([0-9.]*\) applications\/s$/\1/p'; }
issue_rate() { "$build/bench/issuance_rate" "$issued" 1 | sed -n 's/^certificate issuance: median \([0-9.]*\) .*/\1/p'; }
on_postgresql() {  # runs "$@" on an empty database of its own
  local db=jlis_$RANDOM$RANDOM
  pg_psql -c "CREATE DATABASE $db TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C'" postgres
  JLIS_BENCH_STORE=$(pg_url "$db") "$@"
  pg_psql -c "DROP DATABASE $db" postgres
}
declare -A r
for i in $(seq "$runs"); do
  r[card_sqlite]+="$(card_rate) "
  r[card_postgresql]+="$(on_postgresql card_rate) "
  r[issue_sqlite]+="$(issue_rate) "
  r[issue_postgresql]+="$(on_postgresql issue_rate) "
  r[pgbench]+="$(pgbench_rate "$secs") "
done
for k in card_sqlite card_postgresql issue_sqlite issue_postgresql pgbench; do
  [ -n "${r[$k]// /}" ] || { echo "$k: no result" >&2; cat "$work/pgbench.err" >&2; exit 1; }
  echo "store rate: $k ${r[$k]}(median $(median "${r[$k]}"))"
done
b=$(median "${r[pgbench]}")
for w in card issue; do
  s=$(median "${r[${w}_sqlite]}") p=$(median "${r[${w}_postgresql]}")
  echo "store rate: $w median SQLite $s/s, PostgreSQL $p/s, PostgreSQL/SQLite $(ratio "$p" "$s"), PostgreSQL/pgbench tps $(ratio "$p" "$b")"
done
