#!/usr/bin/env bash
# The register's load beside the raw SQLite insert loop of the same rows, interleaved in one run
# (issue 13). Usage: bench/population_rate.sh BUILD_DIR [COUNT] [RUNS]   (default 200000 residents, 3 runs)
#
# Each run, in fresh `jlis init` data directories under TMPDIR (deleted afterwards):
#   bulk      jlis population generate --count COUNT --seed 1 --bulk --register-only
#   raw after build/bench/raw_sqlite_insert of the rows the bulk load wrote (every table it filled:
#             residents, events, resident codes, pools, My Numbers, households, members),
#             --indexes-after (what the bulk load does with its indexes, without any of its checks)
#   normal    the same generation without --bulk (every event through the ordinary path)
#   raw       raw_sqlite_insert of the same rows in transactions of 100,000, indexes in place (the
#             reference of the normal path, as in bench/run.sh)
# raw_sqlite_insert also prints the time of the register's two tables (residents, events) alone: the
# reference until 2026-12-07, kept for comparison with the older figures.
# The register stage only (--register-only: no municipal records, no cards). Prints each run, then
# the medians, the ratios bulk/raw-after, bulk/raw and normal/raw, and the load average.
set -euo pipefail
build=$1 count=${2:-200000} runs=${3:-3}
jlis=$build/src/cli/jlis raw=$build/bench/raw_sqlite_insert
[ -x "$jlis" ] && [ -x "$raw" ] || { echo "error: build $jlis and $raw first (cmake --build $build --target jlis raw_sqlite_insert)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The residents/s of a generation, from its "created ..." line.
generated_rate() { sed -n 's/.*s (\([0-9]*\) residents\/s.*/\1/p' | head -1; }
raw_rate() { grep -o '([0-9]* residents/s)' | head -1 | tr -dc 0-9; }  # all rows, the first figure
median() { printf '%s\n' "$@" | sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

bulk=() after=() normal=() plain=()
echo "== population load, $count residents, $runs runs (load average $(cut -d' ' -f1-3 /proc/loadavg))"
for i in $(seq "$runs"); do
  rm -rf "$work"/*
  "$jlis" init --data "$work/bulk" > /dev/null
  out=$("$jlis" population generate --data "$work/bulk" --count "$count" --seed 1 --bulk --register-only 2> /dev/null)
  echo "run $i bulk:      $out"
  bulk+=("$(generated_rate <<< "$out")")
  out=$("$raw" "$work/bulk/jlis.db" "$work/raw-after.db" --indexes-after)
  echo "run $i raw after: $out"
  after+=("$(raw_rate <<< "$out")")
  rm -f "$work"/raw-after.db*
  out=$("$raw" "$work/bulk/jlis.db" "$work/raw.db")
  echo "run $i raw:       $out"
  plain+=("$(raw_rate <<< "$out")")
  rm -rf "$work/bulk" "$work"/raw.db*
  "$jlis" init --data "$work/normal" > /dev/null
  out=$("$jlis" population generate --data "$work/normal" --count "$count" --seed 1 --register-only 2> /dev/null)
  echo "run $i normal:    $out"
  normal+=("$(generated_rate <<< "$out")")
done
for v in bulk after normal plain; do
  eval "vals=(\"\${$v[@]}\")"
  for x in "${vals[@]}"; do [[ $x =~ ^[0-9]+$ ]] || { echo "error: no rate parsed for $v" >&2; exit 1; }; done
done
mb=$(median "${bulk[@]}") ma=$(median "${after[@]}") mn=$(median "${normal[@]}") mp=$(median "${plain[@]}")
echo "median residents/s: bulk $mb (${bulk[*]}), raw indexes-after $ma (${after[*]}), normal $mn (${normal[*]}), raw $mp (${plain[*]})"
awk -v b="$mb" -v a="$ma" -v n="$mn" -v p="$mp" \
  'BEGIN {printf "ratio bulk / raw indexes-after %.2f, bulk / raw %.2f, normal / raw %.2f\n", b / a, b / p, n / p}'
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
