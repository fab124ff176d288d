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
#   replay    the bulk load's own statements through SQLite alone: recorded once before the runs
#             (bench/sqlite_statement_log.cpp under LD_PRELOAD: every statement its writer ran, with
#             its values), replayed into a fresh data directory by build/bench/replay_statements
#             through the store's own connection, with none of the load's code between them. The
#             bound of the load's design: its rows and the reads its checks make, SQLite's work alone.
# raw_sqlite_insert also prints the time of the register's two tables (residents, events) alone: the
# reference until 2026-12-07, kept for comparison with the older figures.
# The register stage only (--register-only: no municipal records, no cards). Prints each run, then
# the medians, the ratios bulk/raw-after, bulk/raw, normal/raw, bulk/replay and replay/raw-after, the
# statements the replay spent most on (its first run), and the load average.
set -euo pipefail
build=$1 count=${2:-200000} runs=${3:-3}
jlis=$build/src/cli/jlis raw=$build/bench/raw_sqlite_insert replay=$build/bench/replay_statements
recorder=$build/bench/libsqlite_statement_log.so
[ -x "$jlis" ] && [ -x "$raw" ] && [ -x "$replay" ] && [ -f "$recorder" ] ||
  { echo "error: build $jlis, $raw, $replay and $recorder first (cmake --build $build --target benchmarks)" >&2
    exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The residents/s of a generation, from its "created ..." line.
generated_rate() { sed -n 's/.*s (\([0-9]*\) residents\/s.*/\1/p' | head -1; }
raw_rate() { grep -o '([0-9]* residents/s)' | head -1 | tr -dc 0-9; }  # all rows, the first figure
median() { printf '%s\n' "$@" | sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

bulk=() after=() normal=() plain=() replayed=()
echo "== population load, $count residents, $runs runs (load average $(cut -d' ' -f1-3 /proc/loadavg))"
"$jlis" init --data "$work/recorded" > /dev/null
SQLITE_STATEMENT_LOG=$work/statements LD_PRELOAD=$(realpath "$recorder") \
  "$jlis" population generate --data "$work/recorded" --count "$count" --seed 1 --bulk --register-only > /dev/null 2>&1
rm -rf "$work/recorded"
for i in $(seq "$runs"); do
  rm -rf "$work"/bulk "$work"/normal "$work"/replay "$work"/raw*
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
  "$jlis" init --data "$work/replay" > /dev/null
  out=$("$replay" "$work/statements" "$work/replay")
  echo "run $i replay:    $(head -1 <<< "$out")"
  [ "$i" = 1 ] && top=$(tail -n +2 <<< "$out")
  replayed+=("$(raw_rate <<< "$out")")
  rm -rf "$work/replay"
  "$jlis" init --data "$work/normal" > /dev/null
  out=$("$jlis" population generate --data "$work/normal" --count "$count" --seed 1 --register-only 2> /dev/null)
  echo "run $i normal:    $out"
  normal+=("$(generated_rate <<< "$out")")
done
for v in bulk after normal plain replayed; do
  eval "vals=(\"\${$v[@]}\")"
  for x in "${vals[@]}"; do [[ $x =~ ^[0-9]+$ ]] || { echo "error: no rate parsed for $v" >&2; exit 1; }; done
done
mb=$(median "${bulk[@]}") ma=$(median "${after[@]}") mn=$(median "${normal[@]}") mp=$(median "${plain[@]}")
mr=$(median "${replayed[@]}")
echo "median residents/s: bulk $mb (${bulk[*]}), raw indexes-after $ma (${after[*]}), normal $mn (${normal[*]}), raw $mp (${plain[*]})"
awk -v b="$mb" -v a="$ma" -v n="$mn" -v p="$mp" \
  'BEGIN {printf "ratio bulk / raw indexes-after %.2f, bulk / raw %.2f, normal / raw %.2f\n", b / a, b / p, n / p}'
echo "the bulk load's own statements through SQLite alone (replayed): median $mr residents/s (${replayed[*]})"
awk -v b="$mb" -v a="$ma" -v r="$mr" 'BEGIN {
  printf "ratio bulk / its statements alone %.2f; its statements alone / raw indexes-after %.2f\n", b / r, r / a}'
echo "the statements the replay spent most on (first run):"
echo "$top"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
