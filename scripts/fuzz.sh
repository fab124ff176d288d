#!/usr/bin/env bash
# Runs the libFuzzer targets of fuzz/ (built by `make fuzz-build` into BUILD_DIR), one after the
# other, each for SECONDS over its committed seed corpus fuzz/corpus/<target>. New inputs go to
# BUILD_DIR/corpus/<target> (not committed); a crash, leak or sanitizer report stops the run with a
# non-zero status and leaves the input as BUILD_DIR/artifacts/<target>/crash-*.
# Usage: scripts/fuzz.sh BUILD_DIR SECONDS [TARGET...]   (default: every target)
set -euo pipefail
build=$1 secs=$2
shift 2
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_ocsp_request fuzz_http_head fuzz_json_body fuzz_public_key fuzz_csr)
here=$(cd "$(dirname "$0")/.." && pwd)
for t in "${targets[@]}"; do
  mkdir -p "$build/corpus/$t" "$build/artifacts/$t"
  echo "fuzz: $t for ${secs}s"
  status=0
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$build/fuzz/$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$build/artifacts/$t/" "$build/corpus/$t" "$here/fuzz/corpus/$t" > "$build/$t.log" 2>&1 ||
    status=$?
  grep -E "^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb)|ERROR|SUMMARY|Test unit written" "$build/$t.log" || true
  [ "$status" -eq 0 ] || { echo "fuzz: $t FAILED ($build/$t.log, $build/artifacts/$t)" >&2; exit 1; }
done
