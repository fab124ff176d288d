# Sourced by the benchmarks that run on PostgreSQL: a throwaway PostgreSQL 15 server on loopback in
# $work/pg, with fsync and synchronous_commit on (the defaults), as the postgres user when run as
# root (the server refuses root). Needs $work (a directory the caller removes).
#   pg_start           initdb and start; sets pg_port
#   pg_psql ARGS...    psql on the server (-qAt), as the postgres user
#   pg_url DB          the URI of database DB
#   pg_stop            stops the server (call it from the caller's EXIT trap)
PG_BIN=${JLIS_PG_BIN:-/usr/lib/postgresql/15/bin}
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
pg_start() {
  chmod 755 "$work"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$work"
  as_pg "$PG_BIN/initdb" -D "$work/pg" -U postgres --auth=trust -E UTF8 --no-locale -N > "$work/initdb.log"
  pg_port=$(free_port)
  as_pg "$PG_BIN/pg_ctl" -D "$work/pg" -l "$work/pg.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $pg_port -k $work -c max_connections=200" start > /dev/null
}
pg_psql() { "$PG_BIN/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -qAt "$@"; }
pg_url() { echo "postgresql://postgres@127.0.0.1:$pg_port/$1"; }
pg_stop() {
  if [ -f "$work/pg/postmaster.pid" ]; then as_pg "$PG_BIN/pg_ctl" -D "$work/pg" -m immediate -w stop > /dev/null || true; fi
}
# pgbench's TPC-B-like transactions per second over SECONDS (scale 10, 8 clients: no more clients
# than branches, so pgbench does not measure its own row-lock queue); pgbench_init first.
pgbench_init() {
  pg_psql -c "CREATE DATABASE pgbench" postgres
  "$PG_BIN/pgbench" -h 127.0.0.1 -p "$pg_port" -U postgres -i -q -s 10 pgbench 2> /dev/null
}
pgbench_rate() {
  "$PG_BIN/pgbench" -h 127.0.0.1 -p "$pg_port" -U postgres -b tpcb-like -c 8 -j 2 -T "$1" pgbench 2> "$work/pgbench.err" |
    awk '/^tps = / {print $3}'
}
median() { printf '%s\n' $1 | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
