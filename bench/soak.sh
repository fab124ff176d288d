#!/usr/bin/env bash
# `make soak`: ten minutes of mixed traffic (resident lookups, name-change events, card suspensions
# and resumptions, OCSP GETs) against the real `jlis serve` on 127.0.0.1 at 80 % of the maximum
# measured first (bench/soak.py). A throwaway data directory with COUNT residents (cards and
# certificates from a 32-key pool), fresh tokens; the result JSON is written to OUT.
# Usage: bench/soak.sh JLIS [SECONDS=600] [COUNT=20000] [OUT=soak-result.json]
set -euo pipefail
jlis=$(realpath "$1") secs=${2:-600} count=${3:-20000} out=$(realpath -m "${4:-soak-result.json}")
port=${SOAK_PORT:-18090}
work=$(mktemp -d)
server=
cleanup() { [ -n "$server" ] && kill "$server" 2> /dev/null; wait 2> /dev/null; rm -rf "$work"; }
trap cleanup EXIT
export JLIS_CA_PASSPHRASE=soak-$(openssl rand -hex 8)
data=$work/data

echo "soak: making $count residents in $data"
"$jlis" init --data "$data" --simulation > /dev/null
"$jlis" ca init --data "$data" --public-url "http://127.0.0.1:$port" > /dev/null
"$jlis" population generate --data "$data" --count "$count" --seed 1 --key-pool 32 > /dev/null
agency=$("$jlis" agency add --data "$data" --name "soak agency" --purposes soak | tail -n 1)
call_centre=$("$jlis" token create --data "$data" --role call-centre | tail -n 1)
"$jlis" residents export --data "$data" > "$work/residents.csv"
# Events come from the MUNICIPALITIES municipalities with the most residents, each with its token.
munis=${SOAK_MUNICIPALITIES:-24}
col=$(head -n 1 "$work/residents.csv" | tr , '\n' | grep -n '^municipality_code$' | cut -d: -f1)
tail -n +2 "$work/residents.csv" | cut -d, -f"$col" | sort | uniq -c | sort -rn | awk -v n="$munis" 'NR <= n' |
  while read -r _ code; do
    echo "$code $("$jlis" municipality token --data "$data" --code "$code" | tail -n 1)"
  done > "$work/municipalities.txt"

"$jlis" serve --data "$data" --listen "127.0.0.1:$port" > "$work/serve.out" 2> "$work/serve.err" &
server=$!
until grep -q serving "$work/serve.out" 2> /dev/null; do
  kill -0 "$server" 2> /dev/null || { cat "$work/serve.err" >&2; exit 1; }
  sleep 0.2
done

# Spread as real traffic is: the call centre suspends and resumes every active card in turn, the
# certificates of card holders of those municipalities are asked for by OCSP, and their residents
# without a card change their names, each a few times over the run.
python3 - "$work" "$port" "$agency" "$call_centre" "$col" << 'PY'
import base64, csv, json, os, sys, urllib.parse, urllib.request
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
work, port, agency, call, col = sys.argv[1:6]
base = f"http://127.0.0.1:{port}"
def get(path, token=None):
    req = urllib.request.Request(base + path, headers={"Authorization": "Bearer " + token} if token else {})
    with urllib.request.urlopen(req) as r:
        return r.read()
tokens = dict(line.split() for line in open(f"{work}/municipalities.txt"))
rows = list(csv.reader(open(f"{work}/residents.csv")))[1:]
all_codes = [r[0] for r in rows]
local = [(r[0], r[int(col) - 1]) for r in rows if r[int(col) - 1] in tokens]
cas = [x509.load_pem_x509_certificate(c["pem"].encode()) for c in json.loads(get("/v1/pki/ca"))["certificates"]]
cards, holders, paths = [], set(), []
for code in all_codes:  # every active card (the agency's view shows the current card)
    card_id = json.loads(get(f"/v1/residents/{code}?purpose=soak", agency)).get("card_id")
    if card_id and json.loads(get(f"/v1/cards/{card_id}", call)).get("status") == "active":
        cards.append(card_id)
        holders.add(code)
for code, muni in local[:1600]:
    if len(paths) < 400:
        for c in json.loads(get(f"/v1/residents/{code}/certificates", tokens[muni])).get("certificates", []):
            if c["status"] == "good":
                cert = x509.load_der_x509_certificate(get(f"/v1/pki/certificates/{c['serial']}", tokens[muni]))
                issuer = next(i for i in cas if i.subject == cert.issuer)
                der = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA1()).build().public_bytes(
                    serialization.Encoding.DER)
                ocsp.load_der_ocsp_request(der)
                paths.append("/ocsp/" + urllib.parse.quote(base64.b64encode(der).decode(), safe=""))
movers = [[code, muni] for code, muni in local if code not in holders][:1600]
cfg = {"host": "127.0.0.1", "port": port, "agency": agency, "call_centre": call, "municipalities": tokens,
       "run": base64.b32encode(os.urandom(5)).decode(), "cards": cards, "event_codes": movers,
       "lookup_codes": all_codes, "ocsp_paths": paths}
json.dump(cfg, open(f"{work}/soak.json", "w"))
print(f"soak: {len(all_codes)} residents to look up, {len(movers)} to rename in {len(tokens)} municipalities, "
      f"{len(cards)} cards, {len(paths)} OCSP requests")
assert cards and paths and movers, "nothing to soak with"
PY
SOAK_SECONDS=$secs python3 "$(dirname "$0")/soak.py" "$work/soak.json" "$server" "$out"
