#!/usr/bin/env bash
# OCSP GET throughput (keep-alive, wrk on loopback) of three responders answering the same
# requests for COUNT certificates, one request per certificate in rotation:
#   jlis     bench/ocsp_serve: OcspResponder + http::Server (add_ocsp_routes), pre-produced answers
#   nginx    the same DER answers as static files (worker_processes 2, access log off)
#   openssl  `openssl ocsp -index ... -multi 2`, which signs every response
# Runs interleave, RUNS rounds; prints the req/s of each run, the medians and jlis/nginx.
# Everything listens on 127.0.0.1 only: `openssl ocsp` can only bind every interface, so the
# benchmark re-runs itself in a private network namespace (unshare -n, with only loopback) when it
# can; otherwise it leaves the openssl responder out.
# Needs wrk, nginx (make bench-deps) and openssl; installs nothing.
# Usage: bench/ocsp_throughput.sh BUILD_DIR [SECONDS=10] [RUNS=3] [COUNT=1000]
set -euo pipefail
build=$1 secs=${2:-10} runs=${3:-3} count=${4:-1000}
serve=$(realpath "$build/bench/ocsp_serve")
[ -x "$serve" ] || { echo "build the ocsp_serve target first" >&2; exit 1; }

if [ -z "${JLIS_OCSP_BENCH_NETNS:-}" ] && unshare -n true 2> /dev/null; then
  exec env JLIS_OCSP_BENCH_NETNS=1 unshare -n -- bash -c 'ip link set lo up && exec "$0" "$@"' "$0" "$@"
fi
with_openssl=${JLIS_OCSP_BENCH_NETNS:-}
[ -n "$with_openssl" ] || echo "no private network namespace (unshare -n needs root): openssl ocsp left out"

jlis_port=18180 nginx_port=18181 openssl_port=18182
work=$(mktemp -d)
chmod 755 "$work"  # nginx workers read www/ as an unprivileged user
pids=()
cleanup() {
  # openssl ocsp leads a process group of its own; the others are single processes (nginx's
  # master stops its workers).
  for p in "${pids[@]}"; do kill -- "-$p" 2> /dev/null || kill "$p" 2> /dev/null || true; done
  wait 2> /dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# Not under setsid: a new session is a new scheduler autogroup, which would split the CPU between
# the server and wrk differently from how it is split in the other runs.
"$serve" "$jlis_port" "$work/d" "$count" > "$work/serve.out" 2> "$work/serve.err" &
pids+=($!)
until grep -q serving "$work/serve.out" 2> /dev/null; do
  kill -0 "${pids[0]}" 2> /dev/null || { cat "$work/serve.err" >&2; exit 1; }
  sleep 0.2
done
chmod -R a+rX "$work/d"

mkdir -p "$work/nginx"
cat > "$work/nginx.conf" << CONF
worker_processes 2;
daemon off;
error_log $work/nginx/error.log;
pid $work/nginx/nginx.pid;
events { worker_connections 1024; }
http {
  access_log off;
  keepalive_requests 1000000;
  default_type application/ocsp-response;
  server { listen 127.0.0.1:$nginx_port; root $work/d/www; }
}
CONF
nginx -c "$work/nginx.conf" -p "$work/nginx" 2> "$work/nginx.err" &
pids+=($!)

# openssl ocsp is started afresh for each of its runs and stopped after it: once wrk closes its
# connections at the end of a run, its responder processes spin on them and answer nothing more
# (OpenSSL 3.0.x), and would steal CPU from the other servers' runs.
openssl_pid=
start_openssl() {
  # With -multi, openssl ocsp makes itself a process group (and fails if it leads a session).
  (cd "$work/d" && exec openssl ocsp -index index.txt -port "$openssl_port" -rsigner resp.pem \
    -rkey resp.key -CA ca.pem -ndays 1 -multi 2 >> "$work/openssl.out" 2>&1) &
  openssl_pid=$!
  pids+=("$openssl_pid")
  until curl -sf -o "$work/openssl.der" "http://127.0.0.1:$openssl_port$(head -n 1 "$work/d/raw_paths.txt")"; do
    sleep 0.2
  done
}
stop_openssl() {
  kill -- "-$openssl_pid" 2> /dev/null || true
  wait "$openssl_pid" 2> /dev/null || true
}

first_get=$(head -n 1 "$work/d/get_paths.txt")
until curl -sf -o "$work/jlis.der" "http://127.0.0.1:$jlis_port$first_get" &&
  curl -sf -o "$work/nginx.der" "http://127.0.0.1:$nginx_port/r/0"; do sleep 0.2; done
cmp -s "$work/jlis.der" "$work/nginx.der" || { echo "jlis and nginx serve different bytes" >&2; exit 1; }
if [ -n "$with_openssl" ]; then
  start_openssl
  stop_openssl
  openssl ocsp -respin "$work/openssl.der" -resp_text -noverify 2> /dev/null | grep -q "Cert Status: good" ||
    { echo "openssl ocsp did not answer good" >&2; exit 1; }
fi

# A wrk script rotating over a list of paths, from a random start in each thread.
rotate() {
  cat > "$work/$1.lua" << LUA
local paths = {}
for line in io.lines("$2") do paths[#paths + 1] = line end
local i = math.random(#paths)
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
LUA
}
rotate jlis "$work/d/get_paths.txt"
rotate nginx "$work/d/static_paths.txt"
rotate openssl "$work/d/raw_paths.txt"

rate() { wrk -t2 -c32 -d"${secs}s" -s "$work/$2.lua" "http://127.0.0.1:$1" | awk '/Requests\/sec/ {print $2}'; }
ours=() static=() theirs=()
for i in $(seq "$runs"); do
  ours+=("$(rate "$jlis_port" jlis)")
  static+=("$(rate "$nginx_port" nginx)")
  if [ -n "$with_openssl" ]; then
    start_openssl
    theirs+=("$(rate "$openssl_port" openssl)")
    stop_openssl
  fi
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
o=$(median "${ours[@]}") s=$(median "${static[@]}")
echo "ocsp GET, $count certificates, $(wc -c < "$work/jlis.der")-byte responses, wrk -t2 -c32 -d${secs}s:"
echo "  jlis    ${ours[*]} req/s, median $o"
echo "  nginx   ${static[*]} req/s, median $s (static files)"
if [ -n "$with_openssl" ]; then
  t=$(median "${theirs[@]}")
  echo "  openssl ${theirs[*]} req/s, median $t (openssl ocsp -multi 2, signing each)"
fi
echo "  ratio jlis/nginx $(awk -v a="$o" -v b="$s" 'BEGIN {printf "%.2f", a / b}')"
curl -s "http://127.0.0.1:$jlis_port/metrics" | grep '^jlis_ocsp_' | sed 's/^/  /'
