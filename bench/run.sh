#!/usr/bin/env bash
# All benchmarks, side by side with their references. Usage: bench/run.sh BUILD_DIR [COUNT]
# Makes a population of COUNT (default 1,000,000) residents in a fresh data directory (a bulk load,
# after bench/population_rate.sh has measured the load beside its raw reference).
set -euo pipefail
build=$1 count=${2:-1000000}
jlis=$build/src/cli/jlis
data=$(mktemp -d)/data
trap 'rm -rf "$(dirname "$data")"' EXIT
"$jlis" init --data "$data" > /dev/null
echo "== population load (register stage): bulk and normal beside the raw insert loop, interleaved"
"$(dirname "$0")/population_rate.sh" "$build" "$count" 3
echo "== population generation, $count residents (bulk load; the data directory of what follows)"
"$jlis" population generate --data "$data" --count "$count" --seed 1 --bulk 2> /dev/null
echo "== basic-four search latency"
"$build/bench/search_latency" --data "$data" --queries 6000
echo "== My Numbers per second beside raw AES-256"
"$build/bench/my_number_rate"
echo "== name_key per name (the registry's name search key)"
"$build/bench/name_key_rate"
echo "== card production with 1,000,000 applications queued"
"$build/bench/card_production" 1000000
echo "== resident-code lookups over HTTP"
"$(dirname "$0")/http_lookup.sh" "$jlis" "$data" 10 3
echo "== JPKI certificate issuance beside openssl speed rsa2048"
"$build/bench/issuance_rate" 2000 3
echo "== CRL generation with 1,000,000 revoked entries beside openssl ca -gencrl"
"$build/bench/crl_generation" 1000000 3
echo "== OCSP GET throughput of jlis serve beside nginx (same DER bytes)"
"$(dirname "$0")/ocsp_throughput.sh" "$build" 10 3 1000
echo "== kiosk documents per second end to end through jlis serve beside the PDF rendering alone"
"$(dirname "$0")/kiosk_throughput.sh" "$build" 10 3 16
echo "== linkage bulk queries per second through jlis serve beside the replica reads alone"
"$(dirname "$0")/linkage_bulk.py" "$build" 20000 3
echo "== registry events per second through jlis serve: SQLite NORMAL beside FULL, PostgreSQL beside pgbench"
"$(dirname "$0")/event_rate.sh" "$jlis" 10 3 --postgresql
echo "== card production and certificate issuance: SQLite beside PostgreSQL, beside pgbench"
"$(dirname "$0")/store_rate.sh" "$build" 50000 2000 3 10
