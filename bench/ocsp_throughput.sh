#!/usr/bin/env bash
# OCSP GET throughput (keep-alive, wrk on loopback) of the real `jlis serve` on a real data
# directory beside nginx serving the very same DER answers as static files.
#   data     `jlis init --simulation`, `jlis ca init`, `jlis population generate --key-pool 32`:
#            every certificate issued, and revoked, through the CA's own paths. From its
#            pki_certificates COUNT certificates are taken, one in ten revoked.
#   jlis     `jlis serve --data DIR --listen 127.0.0.1:PORT` (every component, as deployed); one
#            GET /ocsp/<url-encoded base64> per certificate, in rotation, each warmed once
#   nginx    the answers jlis gave to those requests, fetched with curl and checked with cmp, as
#            static files (worker_processes 2, access log off)
# Runs interleave, RUNS rounds; prints the req/s of each run, the medians, jlis/nginx, and the
# server's jlis_ocsp_ metrics. (openssl ocsp is no longer a reference: it takes one CA per
# responder and the CA keys of a data directory are encrypted; see docs/PERFORMANCE.md.)
# Needs wrk, nginx, sqlite3, curl and python3-cryptography (make bench-deps); installs nothing.
# Usage: bench/ocsp_throughput.sh BUILD_DIR [SECONDS=10] [RUNS=3] [COUNT=1000]
set -euo pipefail
build=$1 secs=${2:-10} runs=${3:-3} count=${4:-1000}
jlis=$(realpath "$build/src/cli/jlis")
[ -x "$jlis" ] || { echo "build the jlis target first" >&2; exit 1; }

jlis_port=${OCSP_BENCH_PORT:-18180} nginx_port=$((${OCSP_BENCH_PORT:-18180} + 1))
work=$(mktemp -d)
chmod 755 "$work"  # nginx workers read www/ as an unprivileged user
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2> /dev/null || true; done
  wait 2> /dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
JLIS_CA_PASSPHRASE=ocsp-bench-$(openssl rand -hex 8)
export JLIS_CA_PASSPHRASE
data=$work/data

# About 0.98 certificates per resident (cards and their two certificates from a 32-key pool).
residents=$((count * 11 / 10 + 100))
echo "preparing: $residents residents, their cards and certificates in $data"
"$jlis" init --data "$data" --simulation > /dev/null
"$jlis" ca init --data "$data" --public-url "http://127.0.0.1:$jlis_port" > /dev/null
"$jlis" population generate --data "$data" --count "$residents" --seed 1 --key-pool 32 > /dev/null
call_centre=$("$jlis" token create --data "$data" --role call-centre | tail -n 1)

# Not under setsid: a new session is a new scheduler autogroup, which would split the CPU between
# the server and wrk differently from how it is split in the other runs.
"$jlis" serve --data "$data" --listen "127.0.0.1:$jlis_port" > "$work/serve.out" 2> "$work/serve.err" &
jlis_pid=$!
pids+=("$jlis_pid")
until grep -q serving "$work/serve.out" 2> /dev/null; do
  kill -0 "$jlis_pid" 2> /dev/null || { cat "$work/serve.err" >&2; exit 1; }
  sleep 0.2
done
echo "jlis serve pid $jlis_pid: $(head -n 1 "$work/serve.out")"
curl -sf -o "$work/ca.json" "http://127.0.0.1:$jlis_port/v1/pki/ca"

# The population revokes few (1.5 %: renewals, deaths...): the call centre reports cards lost, through
# the server, until one in ten of the COUNT certificates can be revoked ones (keyCompromise).
revoked=$((count / 10)) good=$((count - count / 10))
have=$(sqlite3 "$data/jlis.db" "SELECT count(revoked_at) FROM pki_certificates")
lose=$(((revoked - have + 1) / 2))
if [ "$lose" -gt 0 ]; then
  for card in $(sqlite3 "$data/jlis.db" "SELECT card_id FROM pki_certificates WHERE revoked_at IS NULL GROUP BY card_id HAVING count(*) = 2 ORDER BY card_id LIMIT $lose"); do
    curl -sf -o /dev/null -X POST -H "Authorization: Bearer $call_centre" -H "Content-Type: application/json" -d "{}" \
      "http://127.0.0.1:$jlis_port/v1/cards/$card/report-lost"
  done
fi
sqlite3 -separator ' ' "$data/jlis.db" \
  "SELECT * FROM (SELECT serial, der FROM pki_certificates WHERE revoked_at IS NOT NULL ORDER BY serial LIMIT $revoked)
   UNION ALL SELECT * FROM (SELECT serial, der FROM pki_certificates WHERE revoked_at IS NULL ORDER BY serial LIMIT $good)" \
  > "$work/certificates.txt"
[ "$(wc -l < "$work/certificates.txt")" -eq "$count" ] ||
  { echo "the data directory has fewer than $good good and $revoked revoked certificates" >&2; exit 1; }

# One request per certificate (SHA-1 CertID, as clients send), with its issuer from /v1/pki/ca.
python3 - "$work" << 'PY'
import base64, json, sys, urllib.parse
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
work = sys.argv[1]
cas = [x509.load_pem_x509_certificate(c["pem"].encode()) for c in json.load(open(f"{work}/ca.json"))["certificates"]]
with open(f"{work}/get_paths.txt", "w") as out:
    for line in open(f"{work}/certificates.txt"):
        serial, der = line.split()
        cert = x509.load_der_x509_certificate(base64.b64decode(der))
        issuer = next(i for i in cas if i.subject == cert.issuer)
        req = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA1()).build()
        out.write("/ocsp/" + urllib.parse.quote(base64.b64encode(req.public_bytes(serialization.Encoding.DER)).decode(),
                                                safe="") + "\n")
PY

# Warm every response once; jlis's answers become nginx's files.
mkdir -p "$work/www/r" "$work/jlis2"
n=0
: > "$work/static_paths.txt"
while read -r path; do
  curl -sf -o "$work/www/r/$n" "http://127.0.0.1:$jlis_port$path"
  echo "/r/$n" >> "$work/static_paths.txt"
  n=$((n + 1))
done < "$work/get_paths.txt"
python3 - "$work" "$count" << 'PY'
import sys
from cryptography.x509 import ocsp
work, count = sys.argv[1], int(sys.argv[2])
statuses = {}
for n in range(count):
    r = ocsp.load_der_ocsp_response(open(f"{work}/www/r/{n}", "rb").read())
    assert r.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL, n
    statuses[r.certificate_status.name] = statuses.get(r.certificate_status.name, 0) + 1
print("jlis answers:", ", ".join(f"{v} {k.lower()}" for k, v in sorted(statuses.items())))
PY
chmod -R a+rX "$work/www"

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
  server { listen 127.0.0.1:$nginx_port; root $work/www; }
}
CONF
nginx -c "$work/nginx.conf" -p "$work/nginx" 2> "$work/nginx.err" &
pids+=($!)
until curl -sf -o /dev/null "http://127.0.0.1:$nginx_port/r/0"; do sleep 0.2; done

# The same bytes from both: every answer fetched again from jlis and from nginx. The server
# publishes the call centre's revocations to the responder a moment after their commit, and
# re-signs those certificates' cached answers then (refresh on revocation): an answer warmed
# before that is fetched once more, and must then match.
n=0 resigned=0
while read -r path; do
  for attempt in 1 2; do
    curl -sf -o "$work/jlis2/a" "http://127.0.0.1:$jlis_port$path"
    curl -sf -o "$work/jlis2/b" "http://127.0.0.1:$nginx_port/r/$n"
    cmp -s "$work/jlis2/a" "$work/jlis2/b" && break
    [ "$attempt" = 1 ] || { echo "jlis and nginx serve different bytes for $path" >&2; exit 1; }
    cp "$work/jlis2/a" "$work/www/r/$n"
    resigned=$((resigned + 1))
  done
  n=$((n + 1))
done < "$work/get_paths.txt"
echo "jlis and nginx serve the same bytes for all $n ($resigned re-signed by jlis after warming, refetched)"

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
rotate jlis "$work/get_paths.txt"
rotate nginx "$work/static_paths.txt"

rate() { wrk -t2 -c32 -d"${secs}s" -s "$work/$2.lua" "http://127.0.0.1:$1" | awk '/Requests\/sec/ {print $2}'; }
ours=() static=()
for _ in $(seq "$runs"); do
  ours+=("$(rate "$jlis_port" jlis)")
  static+=("$(rate "$nginx_port" nginx)")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
o=$(median "${ours[@]}") s=$(median "${static[@]}")
echo "ocsp GET, $count certificates, $(wc -c < "$work/www/r/0")-byte responses, wrk -t2 -c32 -d${secs}s, load $(cut -d' ' -f1-3 /proc/loadavg):"
echo "  jlis serve ${ours[*]} req/s, median $o"
echo "  nginx      ${static[*]} req/s, median $s (static files)"
echo "  ratio jlis/nginx $(awk -v a="$o" -v b="$s" 'BEGIN {printf "%.2f", a / b}')"
curl -s "http://127.0.0.1:$jlis_port/metrics" | grep '^jlis_ocsp_' | sed 's/^/  /'
if [ -n "${OCSP_BENCH_HOLD:-}" ]; then
  echo "holding: jlis serve pid $jlis_pid on port $jlis_port, wrk script $work/jlis.lua; touch $work/done to finish"
  until [ -e "$work/done" ]; do sleep 1; done
fi
