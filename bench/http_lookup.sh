#!/usr/bin/env bash
# Resident-code lookups over HTTP (keep-alive, wrk on loopback) beside nginx serving a static JSON
# file of the same size from the same machine, and beside `jlis serve` answering /healthz (the same
# server with no work behind the answer: its own ceiling). Runs alternate, RUNS times each; prints
# the medians; then the library's own rate for the lookups' provision rows (SQLite alone inserting
# them, bench/raw_provision_insert.py: the bound of its one writer), then the lookups' latency
# percentiles at 256 connections.
# Usage: bench/http_lookup.sh JLIS DATA_DIR [SECONDS] [RUNS]
# Ports: JLIS_BENCH_PORT (default 18080) for jlis serve, the next one for nginx. After the runs it
# also prints the server's peak and current resident memory (VmHWM, VmRSS; and RssAnon, RssFile of the
# current) from /proc/PID/status.
set -euo pipefail
jlis=$1 data=$2 secs=${3:-10} runs=${4:-3}
port=${JLIS_BENCH_PORT:-18080} nginx_port=$((${JLIS_BENCH_PORT:-18080} + 1))
work=$(mktemp -d)
chmod 755 "$work"  # nginx workers read www/ as an unprivileged user
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT

token=$("$jlis" agency add --data "$data" --name "benchmark" --purposes bench | tail -n 1)
"$jlis" residents export --data "$data" | tail -n +2 | cut -d, -f1 | shuf -n 100000 --random-source=<(yes) > "$work/codes.txt"

"$jlis" serve --data "$data" --listen "127.0.0.1:$port" ${JLIS_SERVE_ARGS:-} > "$work/jlis.out" 2> "$work/jlis.err" &
serve_pid=$!
until grep -q serving "$work/jlis.out" 2>/dev/null; do
  kill -0 "$serve_pid" 2>/dev/null || { echo "jlis serve exited:" >&2; cat "$work/jlis.err" >&2; exit 1; }
  sleep 0.2
done

mkdir -p "$work/www" "$work/nginx"
curl -sf -H "Authorization: Bearer $token" \
  "http://127.0.0.1:$port/v1/residents/$(head -n 1 "$work/codes.txt")?purpose=bench" > "$work/www/resident.json"
cat > "$work/nginx.conf" <<CONF
worker_processes auto;
daemon off;
error_log $work/nginx/error.log;
pid $work/nginx/nginx.pid;
events { worker_connections 1024; }
http {
  access_log off;
  default_type application/json;
  server { listen 127.0.0.1:$nginx_port; root $work/www; }
}
CONF
nginx -c "$work/nginx.conf" -p "$work/nginx" &
until curl -sf "http://127.0.0.1:$nginx_port/resident.json" > /dev/null; do sleep 0.2; done

cat > "$work/lookup.lua" <<LUA
local codes = {}
for line in io.lines("$work/codes.txt") do codes[#codes + 1] = line end
local headers = { ["Authorization"] = "Bearer $token" }
request = function()
  return wrk.format("GET", "/v1/residents/" .. codes[math.random(#codes)] .. "?purpose=bench", headers)
end
LUA
cat > "$work/healthz.lua" <<LUA
request = function() return wrk.format("GET", "/healthz") end
LUA
cat > "$work/static.lua" <<LUA
local headers = { ["Authorization"] = "Bearer $token" }
request = function() return wrk.format("GET", "/resident.json", headers) end
LUA

rate() { wrk -t2 -c64 -d"${secs}s" -s "$2" "$1" | awk '/Requests\/sec/ {print $2}'; }
# The writer's jobs and commits: how many provision records a group commit held.
store() { curl -s "http://127.0.0.1:$port/metrics" | awk -v k="jlis_store_$1_total" '$1 == k {print $2}'; }
jobs0=$(store jobs) commits0=$(store commits)
ours=() theirs=() ceiling=()
for i in $(seq "$runs"); do
  ours+=("$(rate "http://127.0.0.1:$port" "$work/lookup.lua")")
  theirs+=("$(rate "http://127.0.0.1:$nginx_port" "$work/static.lua")")
  ceiling+=("$(rate "http://127.0.0.1:$port" "$work/healthz.lua")")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
o=$(median "${ours[@]}") t=$(median "${theirs[@]}") c=$(median "${ceiling[@]}")
echo "http lookups: jlis ${ours[*]} req/s; nginx static ${theirs[*]} req/s; jlis /healthz ${ceiling[*]} req/s"
echo "http lookups: median jlis $o req/s, nginx $t req/s, ratio $(ratio "$o" "$t") (body $(wc -c < "$work/www/resident.json") bytes); jlis /healthz $c req/s ($(ratio "$c" "$t") of nginx; lookups $(ratio "$o" "$c") of it)"
# The library's own rate for the provision rows the lookups wrote (the bound of the one writer
# SQLite allows): bench/raw_provision_insert.py on a copy of audit.db as the server left it, as many
# rows a transaction as its group commits held.
per_commit=$(awk -v j=$(( $(store jobs) - jobs0 )) -v c=$(( $(store commits) - commits0 )) \
  'BEGIN {k = c ? int(j / c + 0.5) : 1; print k < 1 ? 1 : k}')
sqlite3 "$data/audit.db" ".backup $work/audit.db"
raw=()
for i in $(seq "$runs"); do
  cp "$work/audit.db" "$work/raw.db" && rm -f "$work/raw.db-wal" "$work/raw.db-shm"
  raw+=("$("$(dirname "$0")/raw_provision_insert.py" "$work/raw.db" "$secs" "$per_commit" | awk '{print $7}')")
done
r=$(median "${raw[@]}")
echo "http lookups: the library alone, their provision rows ($per_commit a transaction, as the server's commits held them): ${raw[*]} rows/s on one core; median $r ($(ratio "$r" "$t") of nginx; the lookups $(ratio "$o" "$r") of it)"
wrk -t2 -c256 -d"${secs}s" --latency -s "$work/lookup.lua" "http://127.0.0.1:$port" > "$work/c256.txt"
echo "http lookups at 256 connections: $(awk '/Requests\/sec/ {print $2}' "$work/c256.txt") req/s, latency p50 $(awk '$1 == "50%" {print $2}' "$work/c256.txt"), p99 $(awk '$1 == "99%" {print $2}' "$work/c256.txt")"
mem() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$serve_pid/status"; }
echo "http lookups: jlis serve memory VmHWM $(mem VmHWM) kB, VmRSS $(mem VmRSS) kB (RssAnon $(mem RssAnon) kB, RssFile $(mem RssFile) kB)"
