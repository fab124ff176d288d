#!/bin/sh
# Failover time (issue 8 §5): from SIGKILL of the primary's centre (its pg_auto_failover keeper and
# PostgreSQL) to the first write acknowledged over HTTP on the new primary, by a `jlis serve` whose
# store is the formation's multi-host URI. DRILLS drills (default 3) alternate the primary: after
# each, the killed node rejoins as standby and the next drill kills the other. Prints each time and
# the median. The formation is tests/centres/formation.sh's, with its monitor timeouts (health
# check every 1 s, unhealthy after 3 s, demote timeout 3 s); pg_auto_failover's defaults (5 s,
# 20 s, 30 s) add about 45 s.
#   Usage: bench/failover_time.sh BUILD_DIR [DRILLS]
set -eu
build=${1:?build directory}
drills=${2:-3}
here=$(cd "$(dirname "$0")" && pwd)
formation=$here/../tests/centres/formation.sh
jlis=$(cd "$build" && pwd)/src/cli/jlis
state=$(mktemp -d "${TMPDIR:-/tmp}/jlis-failover-bench.XXXXXX")
serve_pid=""
cleanup() {
  [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null || true
  "$formation" stop "$state/formation" >/dev/null 2>&1 || true
  rm -rf "$state"
}
trap cleanup EXIT INT TERM

"$formation" start "$state/formation" >/dev/null
. "$state/formation/env"
hosts="127.0.0.1:$west_port,127.0.0.1:$east_port"
"$jlis" init --data "$state/data" --store "postgresql://postgres@$hosts/jlis?target_session_attrs=read-write&connect_timeout=2" \
  --centre bench --read-store "postgresql://postgres@$hosts/jlis?connect_timeout=2" >/dev/null
token=$("$jlis" municipality token --data "$state/data" --code 131016 | tail -n1)
"$jlis" serve --data "$state/data" --listen 127.0.0.1:0 >"$state/serve.out" 2>"$state/serve.err" &
serve_pid=$!
i=0
until grep -q "http://" "$state/serve.out" 2>/dev/null; do i=$((i + 1)); [ $i -lt 300 ] || exit 1; sleep 0.1; done
url=$(grep -o "http://[0-9.:]*" "$state/serve.out" | head -n1)

# Answers the HTTP status of one birth with a new event_id (it runs in a subshell: the id comes
# from the clock, not from a counter).
birth() {
  n=$(date +%s%N)
  curl -s -o /dev/null -w '%{http_code}' --max-time 10 -X POST "$url/v1/municipalities/131016/events" \
    -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d "{\"event_id\":\"bench-$$-$n\",\"type\":\"birth\",\"date\":\"2020-04-02\",\"person\":{\"name\":\"山田　太郎\",\"name_kana\":\"ヤマダ　タロウ\",\"date_of_birth\":\"2020-04-02\",\"sex\":\"male\",\"address\":\"東京都千代田区丸の内一丁目1番1号\"}}" || true
}
[ "$(birth)" = 201 ] || { echo "the first write failed" >&2; exit 1; }

primary=west standby=east
times=""
d=0
while [ $d -lt "$drills" ]; do
  d=$((d + 1))
  start=$(date +%s.%N)
  "$formation" kill "$state/formation" "$primary"
  until [ "$(birth)" = 201 ]; do sleep 0.05; done  # 503 while there is no primary
  end=$(date +%s.%N)
  t=$(echo "$end - $start" | bc)
  printf 'drill %d: %s killed, first acknowledged write on %s after %.2f s\n' "$d" "$primary" "$standby" "$t"
  times="$times $t"
  "$formation" wait-primary "$state/formation" "$standby" >/dev/null
  "$formation" rejoin "$state/formation" "$primary" >/dev/null
  # Wait until the new primary has its synchronous standby back before the next drill.
  i=0
  until "$jlis" centre status --data "$state/data" --json 2>/dev/null | grep -q '"sync_state":"quorum"'; do
    i=$((i + 1)); [ $i -lt 600 ] || { echo "no synchronous standby after the rejoin" >&2; exit 1; }; sleep 0.1
  done
  tmp=$primary; primary=$standby; standby=$tmp
done
median=$(echo "$times" | tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}')
printf 'failover time, median of %d drills: %.2f s\n' "$drills" "$median"
