#!/usr/bin/env bash
# `make run`: a data directory with a demo population (made once), fresh tokens, then the server.
set -euo pipefail
jlis=$1 data=$2 listen=$3 count=$4

if [ ! -f "$data/openjlis-data" ]; then
  "$jlis" init --data "$data"
  "$jlis" population generate --data "$data" --count "$count" --seed 1
fi
agency=$("$jlis" agency add --data "$data" --name "Demo agency" --purposes pension,tax | tail -n 1)
municipality=$("$jlis" municipality token --data "$data" --code 131016 | tail -n 1)
resident=$("$jlis" residents export --data "$data" --municipality 131016 | sed -n 2p | cut -d, -f1)
base="http://$listen"

cat <<MSG

OpenJLIS is starting on $base with the population in $data.
  agency token (purposes pension, tax):  $agency
  千代田区 (131016) municipality token:    $municipality

Try:
  curl -s -H "Authorization: Bearer $agency" "$base/v1/residents/$resident?purpose=pension"
  curl -s -H "Authorization: Bearer $agency" -X POST "$base/v1/residents/search?purpose=pension" \\
       -d '{"address": "東京都千代田区", "limit": 3}'
  curl -s -H "Authorization: Bearer $municipality" "$base/v1/residents/$resident/provisions"
  curl -s -H "Authorization: Bearer $municipality" -X POST "$base/v1/municipalities/131016/events" \\
       -d '{"event_id": "demo-1", "type": "relocation", "date": "$(date +%F)", "resident_code": "$resident", "address": "東京都千代田区丸の内一丁目1番1号"}'
  curl -s "$base/metrics"
Stop with Ctrl-C.

MSG
exec "$jlis" serve --data "$data" --listen "$listen"
