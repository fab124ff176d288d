#!/usr/bin/env bash
# Kiosk documents per second end to end through the real `jlis serve`, beside the PDF rendering
# alone as the ceiling (issue 10 §4; docs/PERFORMANCE.md, "Kiosk documents").
#   data     `jlis init --simulation`, `jlis ca init`, `jlis population generate --key-pool 32`
#            (cards and certificates through the CA's own paths), a kiosk operator, TERMINALS
#            terminals (`jlis kiosk terminal add`), the centre open all day (`jlis kiosk hours`), and
#            TERMINALS virtual cards (`jlis card virtual`) of distinct residents who live where
#            their active card was issued, whose user-authentication certificate is good, and who
#            are under no support measure.
#   end-to-end  `kiosk_rate end-to-end`: TERMINALS terminals at once, one thread each, whole
#            sessions (open, the card signs, log-in with OCSP, 住民票の写し relayed, rendered, checked,
#            fetched, printed) against `jlis serve --data DIR --listen 127.0.0.1:PORT` (every
#            component, as deployed). The card's signature is client-side work on the same cores.
#   ceiling  `kiosk_rate ceiling`: the same holders' 住民票の写し, rendered alone (render_pdf) on two
#            threads, from a copy of the data directory made before the server started.
# Runs interleave, RUNS rounds of (ceiling, end-to-end); prints each run, the medians, the ratio
# end-to-end/ceiling, and the load average. The ratio twice: of the rates, and of the CPU each
# document costs (render alone / end to end, jlis serve and the load generator together): on a
# machine shared with others' work the rates follow what CPU the others leave, the costs do not.
# Needs sqlite3; installs nothing; talks only to 127.0.0.1.
# Usage: bench/kiosk_throughput.sh BUILD_DIR [SECONDS=10] [RUNS=3] [TERMINALS=16]
set -euo pipefail
build=$1 secs=${2:-10} runs=${3:-3} terminals=${4:-16}
jlis=$(realpath "$build/src/cli/jlis")
rate=$(realpath "$build/bench/kiosk_rate")
[ -x "$jlis" ] && [ -x "$rate" ] || { echo "build the jlis and kiosk_rate targets first" >&2; exit 1; }
command -v sqlite3 > /dev/null || { echo "needs sqlite3" >&2; exit 1; }

port=${KIOSK_BENCH_PORT:-18190}
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2> /dev/null || true; done
  wait 2> /dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
JLIS_CA_PASSPHRASE=kiosk-bench-$(openssl rand -hex 8)
export JLIS_CA_PASSPHRASE
data=$work/data
residents=${KIOSK_BENCH_RESIDENTS:-2000}

echo "preparing: $residents residents, their cards and certificates, $terminals terminals and cards in $data"
"$jlis" init --data "$data" --simulation > /dev/null
"$jlis" ca init --data "$data" --public-url "http://127.0.0.1:$port" > /dev/null
"$jlis" population generate --data "$data" --count "$residents" --seed 1 --key-pool 32 > /dev/null
"$jlis" kiosk operator add --data "$data" --name "Bench store" > /dev/null
"$jlis" kiosk hours --data "$data" --opens 00:00 --closes 24:00 --closed none > /dev/null
: > "$work/terminals.txt"
for i in $(seq "$terminals"); do
  "$jlis" kiosk terminal add --data "$data" --operator "Bench store" --store "BENCH-$i" --output "$work/terminal-$i.json" > /dev/null
  echo "$work/terminal-$i.json" >> "$work/terminals.txt"
done

# Holders: an active card whose user-authentication certificate is good, held by a resident of the
# card's municipality under no support measure; one each, distinct names (the PDF check is by name).
now=$(date +%s)
sqlite3 -separator $'\t' "$data/jlis.db" "
  SELECT c.card_id, r.resident_code, min(r.name) FROM card_cards c
    JOIN pki_certificates p ON p.card_id = c.card_id AND p.ca = 'authentication' AND p.device = 'card'
         AND p.revoked_at IS NULL AND p.not_before <= $now AND p.not_after > $now + 86400
    JOIN residents r ON r.resident_code = c.resident_code AND r.status = 'resident'
         AND r.municipality_code = c.municipality_code
   WHERE c.status = 'active'
     AND c.resident_code NOT IN (SELECT resident_code FROM municipal_support_measures)
   GROUP BY r.name HAVING count(*) = 1 ORDER BY c.card_id LIMIT $terminals" > "$work/candidates.tsv"
[ "$(wc -l < "$work/candidates.tsv")" -eq "$terminals" ] ||
  { echo "the population has fewer than $terminals card holders to play" >&2; exit 1; }
: > "$work/holders.tsv"
n=0
while IFS=$'\t' read -r card code name; do
  n=$((n + 1))
  "$jlis" card virtual --data "$data" --card "$card" --pin 1234 --output "$work/card-$n.card" > /dev/null
  printf '%s\t%s\t%s\n' "$work/card-$n.card" "$code" "$name" >> "$work/holders.tsv"
done < "$work/candidates.tsv"
# The ceiling reads its documents' records from a copy (the server writes to the original).
cp -a "$data" "$work/data-ceiling"

# Not under setsid: a new session is a new scheduler autogroup, which would split the CPU between
# the server and the load generator differently from how it is split in the other runs.
"$jlis" serve --data "$data" --listen "127.0.0.1:$port" > "$work/serve.out" 2> "$work/serve.err" &
jlis_pid=$!
pids+=("$jlis_pid")
until grep -q serving "$work/serve.out" 2> /dev/null; do
  kill -0 "$jlis_pid" 2> /dev/null || { cat "$work/serve.err" >&2; exit 1; }
  sleep 0.2
done
echo "jlis serve pid $jlis_pid: $(head -n 1 "$work/serve.out")"

cpu_ms() { sed -n 's/.*CPU per document \([0-9.]*\) ms.*/\1/p' <<< "$1"; }
ceilings=() ends=() ceiling_cpu=() end_cpu=()
for round in $(seq "$runs"); do
  line=$("$rate" ceiling --data "$work/data-ceiling" --holders "$work/holders.tsv" --seconds "$secs" --threads 2)
  echo "  round $round: $line"
  ceilings+=("${line##* }") ceiling_cpu+=("$(cpu_ms "$line")")
  line=$("$rate" end-to-end --centre "http://127.0.0.1:$port" --terminals "$work/terminals.txt" \
           --holders "$work/holders.tsv" --seconds "$secs" --server-pid "$jlis_pid")
  echo "  round $round: $line"
  ends+=("${line##* }") end_cpu+=("$(cpu_ms "$line")")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
c=$(median "${ceilings[@]}") e=$(median "${ends[@]}")
cc=$(median "${ceiling_cpu[@]}") ec=$(median "${end_cpu[@]}")
echo "kiosk documents, $terminals terminals, ${secs}s runs, load $(cut -d' ' -f1-3 /proc/loadavg):"
echo "  end-to-end ${ends[*]} documents/s, median $e; CPU per document ${end_cpu[*]} ms, median $ec (jlis serve and load generator)"
echo "  ceiling    ${ceilings[*]} documents/s, median $c; CPU per document ${ceiling_cpu[*]} ms, median $cc (render_pdf alone, 2 threads)"
echo "  ratio end-to-end/ceiling $(awk -v a="$e" -v b="$c" 'BEGIN {printf "%.2f", a / b}') by rate," \
     "$(awk -v a="$cc" -v b="$ec" 'BEGIN {printf "%.2f", a / b}') by CPU per document (the rate's ratio on a machine of our own)"
curl -s "http://127.0.0.1:$port/metrics" | grep '^jlis_kiosk_' | sed 's/^/  /' || true
if [ -n "${KIOSK_BENCH_HOLD:-}" ]; then
  echo "holding: jlis serve pid $jlis_pid on port $port; terminals $work/terminals.txt, holders $work/holders.tsv;" \
       "touch $work/done to finish"
  until [ -e "$work/done" ]; do sleep 1; done
fi
