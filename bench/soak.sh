#!/usr/bin/env bash
# `make soak`: ten minutes of mixed traffic (resident lookups, relocation events, card suspensions
# and resumptions, OCSP GETs) against the real `jlis serve` on 127.0.0.1 at 80 % of the maximum
# measured first (bench/soak.py). A throwaway data directory with COUNT residents (cards and
# certificates from a 32-key pool), fresh tokens; the result JSON is written to OUT.
# Usage: bench/soak.sh JLIS [SECONDS=600] [COUNT=3000] [OUT=soak-result.json]
set -euo pipefail
jlis=$(realpath "$1") secs=${2:-600} count=${3:-3000} out=$(realpath -m "${4:-soak-result.json}")
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
"$jlis" residents export --data "$data" | tail -n +2 | cut -d, -f1 > "$work/all.txt"
# The municipality with the most residents sends the events and holds the cards used.
code=$("$jlis" residents export --data "$data" | tail -n +2 | awk -F, '{print $MUNI}' MUNI="$(
  "$jlis" residents export --data "$data" | head -n 1 | tr , '\n' | grep -n '^municipality_code$' | cut -d: -f1)" |
  sort | uniq -c | sort -rn | awk 'NR == 1 {print $2}')
municipality=$("$jlis" municipality token --data "$data" --code "$code" | tail -n 1)
call_centre=$("$jlis" token create --data "$data" --role call-centre | tail -n 1)
"$jlis" residents export --data "$data" --municipality "$code" | tail -n +2 | cut -d, -f1 > "$work/chiyoda.txt"

"$jlis" serve --data "$data" --listen "127.0.0.1:$port" > "$work/serve.out" 2> "$work/serve.err" &
server=$!
until grep -q serving "$work/serve.out" 2> /dev/null; do
  kill -0 "$server" 2> /dev/null || { cat "$work/serve.err" >&2; exit 1; }
  sleep 0.2
done

# Cards (active, of 千代田区 residents) for the call centre to suspend and resume, their holders'
# certificates for OCSP, and other 千代田区 residents for the relocation events.
python3 - "$work" "$port" "$agency" "$municipality" "$call_centre" "$code" << 'PY'
import base64, json, sys, urllib.parse, urllib.request
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
work, port, agency, muni, call = sys.argv[1:6]
base = f"http://127.0.0.1:{port}"
def get(path, token=None):
    req = urllib.request.Request(base + path, headers={"Authorization": "Bearer " + token} if token else {})
    with urllib.request.urlopen(req) as r:
        return r.read()
chiyoda = open(f"{work}/chiyoda.txt").read().split()
cas = [x509.load_pem_x509_certificate(c["pem"].encode()) for c in json.loads(get("/v1/pki/ca"))["certificates"]]
cards, holders, paths = [], set(), []
for code in chiyoda[:400]:
    r = json.loads(get(f"/v1/residents/{code}", muni))
    if r.get("card_id") and len(cards) < 64:
        card = json.loads(get(f"/v1/cards/{r['card_id']}", call))
        if card.get("status") == "active":
            cards.append(r["card_id"])
            holders.add(code)
    if len(paths) < 200:
        for c in json.loads(get(f"/v1/residents/{code}/certificates", muni)).get("certificates", []):
            if c["status"] == "good":
                cert = x509.load_der_x509_certificate(get(f"/v1/pki/certificates/{c['serial']}", muni))
                issuer = next(i for i in cas if i.subject == cert.issuer)
                der = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA1()).build().public_bytes(
                    serialization.Encoding.DER)
                ocsp.load_der_ocsp_request(der)
                paths.append("/ocsp/" + urllib.parse.quote(base64.b64encode(der).decode(), safe=""))
movers = [c for c in chiyoda if c not in holders][:500]
all_codes = open(f"{work}/all.txt").read().split()
cfg = {"host": "127.0.0.1", "port": port, "municipality_code": sys.argv[6], "agency": agency, "municipality": muni, "call_centre": call,
       "run": base64.b32encode(__import__("os").urandom(5)).decode(), "cards": cards, "event_codes": movers,
       "lookup_codes": all_codes, "ocsp_paths": paths}
json.dump(cfg, open(f"{work}/soak.json", "w"))
print(f"soak: {len(all_codes)} residents to look up, {len(movers)} to relocate, {len(cards)} cards, "
      f"{len(paths)} OCSP requests")
assert cards and paths and movers, "nothing to soak with"
PY
SOAK_SECONDS=$secs python3 "$(dirname "$0")/soak.py" "$work/soak.json" "$server" "$out"
