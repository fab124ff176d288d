#!/usr/bin/env bash
# Registry change events per second through `jlis serve` over HTTP (wrk on loopback, 64 keep-alive
# connections posting first registrations, each with its own event_id), side by side in one run:
#   SQLite synchronous=NORMAL  (jlis init, the default)
#   SQLite synchronous=FULL    (jlis init --sqlite-synchronous full)
#   PostgreSQL 15              (with --postgresql: a throwaway server on loopback, fsync and
#                               synchronous_commit on, the defaults) beside pgbench -b tpcb-like
#                               on the same server (scale 10, 8 clients: no more clients than
#                               branches, so pgbench does not measure its own row-lock queue)
# Runs alternate, RUNS times each, SECONDS each; prints every run, the medians and the ratios.
# Usage: bench/event_rate.sh JLIS [SECONDS] [RUNS] [--postgresql]
set -euo pipefail
jlis=$1 secs=${2:-10} runs=${3:-3} pg=${4:-}
# On the disk (not a tmpfs): FULL is about waiting for fsync.
work=$(mktemp -d "${JLIS_BENCH_DIR:-/var/tmp}/jlis-event-rate.XXXXXX")
source "$(dirname "$0")/pg_server.sh"
cleanup() {
  kill $(jobs -p) 2>/dev/null || true
  wait 2>/dev/null || true
  pg_stop
  rm -rf "$work"
}
trap cleanup EXIT

targets=(normal full)
"$jlis" init --data "$work/normal" > /dev/null
"$jlis" init --data "$work/full" --sqlite-synchronous full > /dev/null
if [ "$pg" = --postgresql ]; then
  targets+=(postgresql)
  pg_start
  pg_psql -c "CREATE DATABASE jlis TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C'" postgres
  "$jlis" init --data "$work/postgresql" --store "$(pg_url jlis)" > /dev/null
  pgbench_init
fi

declare -A port
for t in "${targets[@]}"; do
  token=$("$jlis" municipality token --data "$work/$t" --code 131016 | tail -n 1)
  port[$t]=$(free_port)
  "$jlis" serve --data "$work/$t" --listen "127.0.0.1:${port[$t]}" > "$work/$t.out" 2> "$work/$t.err" &
  until grep -q serving "$work/$t.out" 2>/dev/null; do sleep 0.2; done
  cat > "$work/$t.lua" <<LUA
-- First registrations (from abroad), each with an event_id of its own.
-- wrk's threads number themselves in setup(); the run number comes as an argument.
local threads = 0
function setup(thread) threads = threads + 1; thread:set("id", threads) end
local counter, prefix = 0, ""
local headers = { ["Authorization"] = "Bearer $token", ["Content-Type"] = "application/json" }
function init(args) prefix = args[1] .. "-" .. id end
request = function()
  counter = counter + 1
  local body = '{"event_id":"bench-' .. prefix .. '-' .. counter .. '","type":"move_in","from":"abroad",'
    .. '"date":"$(TZ=Asia/Tokyo date +%F)","person":{"name":"佐藤　花子","name_kana":"サトウ　ハナコ",'
    .. '"date_of_birth":"1980-04-0' .. (counter % 9 + 1) .. '","sex":"female",'
    .. '"address":"東京都千代田区丸の内一丁目1番' .. (counter % 9 + 1) .. '号"}}'
  return wrk.format("POST", "/v1/municipalities/131016/events", headers, body)
end
LUA
done

# events/s of one wrk run (and the non-2xx count, which must be 0)
rate() {
  wrk -t2 -c64 -d"${secs}s" -s "$work/$1.lua" "http://127.0.0.1:${port[$1]}" -- "$2" > "$work/wrk.out"
  local bad
  bad=$(awk '/Non-2xx/ {print $5}' "$work/wrk.out")
  if [ -n "$bad" ]; then echo "$1: $bad answers not 2xx" >&2; cat "$work/wrk.out" >&2; exit 1; fi
  awk '/Requests\/sec/ {print $2}' "$work/wrk.out"
}
declare -A results
for i in $(seq "$runs"); do
  for t in "${targets[@]}"; do results[$t]+="$(rate "$t" "$i") "; done
  if [ "$pg" = --postgresql ]; then results[pgbench]+="$(pgbench_rate "$secs") "; [ -n "${results[pgbench]// /}" ] || { cat "$work/pgbench.err" >&2; exit 1; }; fi
done
for t in "${targets[@]}" ${pg:+pgbench}; do
  echo "event rate: $t ${results[$t]}(median $(median "${results[$t]}"))"
done
n=$(median "${results[normal]}") f=$(median "${results[full]}")
echo "event rate: median NORMAL $n events/s, FULL $f events/s, FULL/NORMAL $(ratio "$f" "$n")"
if [ "$pg" = --postgresql ]; then
  p=$(median "${results[postgresql]}") b=$(median "${results[pgbench]}")
  echo "event rate: median PostgreSQL $p events/s, pgbench tpcb-like $b tps, ours/pgbench $(ratio "$p" "$b"), PostgreSQL/SQLite NORMAL $(ratio "$p" "$n")"
fi
