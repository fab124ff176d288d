#!/usr/bin/env bash
# The growth curve (issue 13): the same measurements at several population sizes, a markdown table,
# a plot, and a linear extrapolation to 125 M residents. On demand only (`make bench-scale`), never in
# `make test`. Usage: bench/scale.sh BUILD_DIR RESULTS_DIR [SIZE...]   (default sizes 1M 3M 10M)
#
# Per size N, in a fresh `jlis init` data directory (deleted afterwards):
#   load rate      N / seconds of `jlis population generate --count N --seed 1 --bulk` (the whole
#                  generation: register, municipal records, cards; the register in one bulk load,
#                  its indexes built after; SCALE_LOAD=normal loads without --bulk, as before
#                  2026-12-03); the command's summary (each stage's time) is printed beside it
#   data size      bytes of the data directory's database files (*.db, *.db-wal, *.db-shm) / N,
#                  measured right after the load
#   search p99     build/bench/search_latency --queries $SCALE_QUERIES (all three kinds together)
#   lookups        bench/http_lookup.sh, $SCALE_LOOKUP_SECS s x $SCALE_LOOKUP_RUNS runs: jlis median
#                  req/s and its ratio to nginx serving a static file
#   serve memory   VmHWM, VmRSS and RssAnon (its heap's part of VmRSS) of that `jlis serve` after its
#                  lookup runs
# Environment: SCALE_LOAD (bulk; or normal), SCALE_QUERIES (6000), SCALE_LOOKUP_SECS (10), SCALE_LOOKUP_RUNS (3),
# JLIS_BENCH_PORT (18080; nginx the next port), SEARCH_LATENCY (default BUILD/bench/search_latency;
# set it to the empty string to skip the search measurement), TMPDIR (where the data directories go).
# Writes RESULTS_DIR/scale.tsv (raw), scale.md (table and extrapolation), scale.png (matplotlib).
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 BUILD_DIR RESULTS_DIR [SIZE...]" >&2; exit 2; }
build=$1 results=$2
shift 2
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000000 3000000 10000000)
here=$(cd "$(dirname "$0")" && pwd)
jlis=$build/src/cli/jlis
search=${SEARCH_LATENCY-$build/bench/search_latency}
queries=${SCALE_QUERIES:-6000} secs=${SCALE_LOOKUP_SECS:-10} runs=${SCALE_LOOKUP_RUNS:-3}
load_mode=${SCALE_LOAD:-bulk}
case $load_mode in
  bulk) load_flags=(--bulk) ;;
  normal) load_flags=() ;;
  *) echo "error: SCALE_LOAD must be bulk or normal, not '$load_mode'" >&2; exit 2 ;;
esac
python=/usr/bin/python3  # Debian's, for python3-matplotlib (make bench-deps)

for n in "${sizes[@]}"; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "error: size '$n' is not a positive integer" >&2; exit 2; }
done
[ -x "$jlis" ] || { echo "error: $jlis is missing (make build)" >&2; exit 1; }
if [ -n "$search" ] && [ ! -x "$search" ]; then
  echo "error: $search is missing (cmake --build $build --target search_latency), or SEARCH_LATENCY= to skip" >&2
  exit 1
fi
"$python" -c 'import matplotlib' 2> /dev/null || { echo "error: $python has no matplotlib (make bench-deps)" >&2; exit 1; }

mkdir -p "$results"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tsv=$results/scale.tsv
printf 'residents\tload_s\tload_per_s\tdb_bytes\tbytes_per_resident\tsearch_p99_ms\tlookup_req_s\tlookup_ratio\tvmhwm_kb\tvmrss_kb\trssanon_kb\n' > "$tsv"

for n in "${sizes[@]}"; do
  data=$work/data-$n
  echo "== $n residents"
  # About 4.8 kB a resident when loaded, and the WAL and a margin beside it: refuse at once rather than
  # fill the disk an hour in.
  need_kb=$((n * 7))
  free_kb=$(df -Pk "$work" | awk 'NR == 2 {print $4}')
  if [ "$free_kb" -lt "$need_kb" ]; then
    echo "error: $n residents need about $((need_kb / 1048576 + 1)) GiB in $work, $((free_kb / 1048576)) GiB free" >&2
    exit 1
  fi
  "$jlis" init --data "$data" > /dev/null
  t0=$(date +%s.%N)
  "$jlis" population generate --data "$data" --count "$n" --seed 1 "${load_flags[@]}" 2> "$work/generate.err" \
    > "$work/generate.out" || { cat "$work/generate.out" "$work/generate.err" >&2; exit 1; }
  t1=$(date +%s.%N)
  cat "$work/generate.out"  # the command's summary: each stage's count, time and rate
  load_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}')
  load_rate=$(awk -v n="$n" -v s="$load_s" 'BEGIN {printf "%.0f", n / s}')
  db_bytes=$(find "$data" -type f \( -name '*.db' -o -name '*.db-wal' -o -name '*.db-shm' \) -printf '%s\n' \
             | awk '{s += $1} END {printf "%.0f\n", s}')
  [ "$db_bytes" -gt 0 ] || { echo "error: no database files in $data" >&2; exit 1; }
  per_resident=$(awk -v b="$db_bytes" -v n="$n" 'BEGIN {printf "%.0f", b / n}')
  echo "load: ${load_s} s, $load_rate residents/s; database files $db_bytes bytes ($per_resident per resident)"

  p99=NA
  if [ -n "$search" ]; then
    "$search" --data "$data" --queries "$queries" | tee "$work/search.out"
    p99=$(awk '$2 == "all" {for (i = 1; i <= NF; ++i) if ($i == "p99") print $(i + 1)}' "$work/search.out")
    [ -n "$p99" ] || { echo "error: no p99 in search_latency's output" >&2; exit 1; }
  else
    echo "search: skipped (SEARCH_LATENCY is empty)"
  fi

  "$here/http_lookup.sh" "$jlis" "$data" "$secs" "$runs" | tee "$work/lookup.out"
  # The first "jlis" of the median line is the lookups' (the line goes on with "jlis /healthz").
  rps=$(awk '/median jlis/ {for (i = 1; i <= NF; ++i) if ($i == "jlis") {print $(i + 1); exit}}' "$work/lookup.out")
  ratio=$(awk '/median jlis/ {for (i = 1; i <= NF; ++i) if ($i == "ratio") print $(i + 1)}' "$work/lookup.out")
  hwm=$(awk '/serve memory/ {for (i = 1; i <= NF; ++i) if ($i == "VmHWM") print $(i + 1)}' "$work/lookup.out")
  rss=$(awk '/serve memory/ {for (i = 1; i <= NF; ++i) if ($i == "VmRSS") print $(i + 1)}' "$work/lookup.out")
  anon=$(awk '/serve memory/ {for (i = 1; i <= NF; ++i) if ($i == "(RssAnon") print $(i + 1)}' "$work/lookup.out")
  for v in rps ratio hwm rss anon; do
    [ -n "${!v}" ] || { echo "error: no $v in http_lookup.sh's output" >&2; exit 1; }
  done

  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$n" "$load_s" "$load_rate" "$db_bytes" "$per_resident" \
    "$p99" "$rps" "$ratio" "$hwm" "$rss" "$anon" >> "$tsv"
  rm -rf "$data"
done

"$python" "$here/scale_plot.py" "$tsv" "$results/scale.md" "$results/scale.png" \
  "load: jlis population generate ${load_flags[*]:-(normal path, no --bulk)}; machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), load average $(cut -d' ' -f1-3 /proc/loadavg) at the end; lookups ${secs} s x ${runs}; ${queries} searches"
cat "$results/scale.md"
echo "results: $results (scale.tsv, scale.md, scale.png)"
