#!/usr/bin/env bash
# `make run`: a data directory with a demo population (made once), fresh tokens, then the server.
set -euo pipefail
jlis=$1 data=$2 listen=$3 count=$4 screen_listen=${5:-}

# The CA keys are encrypted with a passphrase kept beside (not inside) the data directory: a demo
# stand-in for the operator's secret.
passphrase_file="$data.passphrase"
if [ ! -f "$passphrase_file" ]; then
  mkdir -p "$(dirname "$passphrase_file")"
  (umask 077 && openssl rand -hex 24 > "$passphrase_file")
fi
JLIS_CA_PASSPHRASE=$(cat "$passphrase_file")
export JLIS_CA_PASSPHRASE

if [ ! -f "$data/openjlis-data" ]; then
  # A simulation: generated people sharing test keys, a CA named O=JPKI-TEST (/healthz says so).
  "$jlis" init --data "$data" --simulation
  "$jlis" ca init --data "$data" --public-url "http://$listen"
  # The linkage platform's code key, in its key ceremony (prints the SHA-256 of its public key).
  "$jlis" linkage key --data "$data"
  # Simulated cards draw their key pairs from 32 pre-generated ones, so handed-over cards carry
  # certificates (signing them is most of the time this takes).
  "$jlis" population generate --data "$data" --count "$count" --seed 1 --key-pool 32
fi
agency=$("$jlis" agency add --data "$data" --name "Demo agency" --purposes pension,tax | tail -n 1)
municipality=$("$jlis" municipality token --data "$data" --code 131016 | tail -n 1)
# LGPKI, and 千代田区's mayor certified through its workflow (made once): from then on the ward's
# documents leave with the mayor's electronic seal (a PAdES signature, time-stamped).
if [ ! -f "$data/pki/lgpki.json" ]; then
  "$jlis" lgpki init --data "$data" --public-url "http://$listen" > /dev/null
  registration=$("$jlis" token create --data "$data" --role lgpki-registration --name 131016 | tail -n 1)
  application=$(JLIS_TOKEN=$municipality "$jlis" lgpki apply --data "$data" --municipality 131016 --profile position \
                  --organisation 千代田区 --position 区長 --common-name 千代田区長 | tail -n 1)
  JLIS_TOKEN=$registration "$jlis" lgpki review --data "$data" --application "$application" > /dev/null
  "$jlis" lgpki approve --data "$data" --application "$application" --by demo > /dev/null
  "$jlis" lgpki issue --data "$data" --application "$application" --by demo > /dev/null
fi
verifier=$("$jlis" verifier add --data "$data" --name "Demo bank" --consent | tail -n 1)
operator=$("$jlis" token create --data "$data" --role operator --name "Demo operator" | tail -n 1)
# The issuance centre's kiosk terminal (its credential beside the data directory, made once), open at
# any hour for the demo (a real centre: jlis kiosk hours --opens 06:30 --closes 23:00 --closed 12-29..01-03).
terminal="$data.terminal.json"
if [ ! -f "$terminal" ]; then
  "$jlis" kiosk operator list --data "$data" | grep -qx "Demo store" ||
    "$jlis" kiosk operator add --data "$data" --name "Demo store" > /dev/null
  "$jlis" kiosk terminal add --data "$data" --operator "Demo store" --store DEMO-1 --output "$terminal" > /dev/null
fi
"$jlis" kiosk hours --data "$data" --opens 00:00 --closes 24:00 --closed none > /dev/null
# The example resident: one of 千代田区's who holds an active card with certificates still good and a
# signature certificate (15 or over at handover), so the certificate and kiosk examples answer
# something; else its first resident.
residents=$("$jlis" residents export --data "$data" --municipality 131016 | tail -n +2 | cut -d, -f1)
cards=$("$jlis" cards list --data "$data" --municipality 131016 --status active --limit 100000 | tail -n +2)
card=$(awk -F, -v today="$(date +%F)" 'NR == FNR {lives[$1] = 1; next}
                                       $6 >= today && $7 == "yes" && ($2 in lives) {print $1 "," $2; exit}' \
         <(printf '%s\n' "$residents") <(printf '%s\n' "$cards"))
resident=${card#*,}
card=${card%%,*}
[ -n "$resident" ] || resident=$(head -n 1 <<< "$residents")
base="http://$listen"
# The kiosk's touch screen, with the example resident's card on its reader (a simulated chip, made
# once beside the data directory, PIN 1234; three wrong PINs lock it until jlis card pin-reset).
screen_card="$data.card"
if [ -n "$card" ] && [ -n "$screen_listen" ] && [ ! -f "$screen_card" ]; then
  "$jlis" card virtual --data "$data" --card "$card" --pin 1234 --password ABC123 --output "$screen_card" > /dev/null
fi

cat <<MSG

OpenJLIS is starting on $base with the population in $data.
  agency token (purposes pension, tax):  $agency
  千代田区 (131016) municipality token:    $municipality
  verifier token (Demo bank):             $verifier
  operator token (the console, $base/console): $operator
  kiosk terminal credential:               $terminal
  CA passphrase (JLIS_CA_PASSPHRASE):      in $passphrase_file

Try:
  curl -s -H "Authorization: Bearer $agency" "$base/v1/residents/$resident?purpose=pension"
  curl -s -H "Authorization: Bearer $agency" -X POST "$base/v1/residents/search?purpose=pension" \\
       -d '{"address": "東京都千代田区", "limit": 3}'
  curl -s -H "Authorization: Bearer $municipality" "$base/v1/residents/$resident/provisions"
  curl -s -H "Authorization: Bearer $municipality" "$base/v1/residents/$resident/certificates"
  curl -s -H "Authorization: Bearer $municipality" "$base/v1/municipalities/131016/households/$resident"
  curl -s -H "Authorization: Bearer $municipality" -X POST "$base/v1/municipalities/131016/events" \\
       -d '{"event_id": "demo-1", "type": "relocation", "date": "$(date +%F)", "resident_code": "$resident", "address": "東京都千代田区丸の内一丁目1番1号"}'
  curl -s "$base/v1/pki/ca"
  curl -s -o signature.crl "$base/crl/signature.crl" && openssl crl -inform DER -in signature.crl -noout -text | head
  curl -s "$base/metrics"
  (OCSP: openssl ocsp -issuer CA.pem -cert CERT.pem -url $base/ocsp -CAfile CA.pem)
The resident's documents, as their municipality's window issues them (PDF; a refusal says why),
sealed with a key the CA passphrase encrypts, so first:
  export JLIS_CA_PASSPHRASE=\$(cat $passphrase_file)
  $jlis documents render --data $data --resident $resident --type juminhyo --members all --with household --output 住民票.pdf
  (also --type kisai-jiko, inkan, koseki, koseki-fuhyo, kazei; jlis documents log --data $data --resident $resident)
  Each carries 千代田区長's electronic seal (LGPKI); pdfsig checks it trusting the LGPKI root:
  curl -s -o lgpki-root.cer $base/lgpki/ca/root.cer && rm -rf nssdb && mkdir nssdb && \
       certutil -N -d sql:nssdb --empty-password && certutil -A -d sql:nssdb -n lgpki -t C,C,C -i lgpki-root.cer && \
       pdfsig -nssdir sql:nssdb 住民票.pdf
$( [ -n "$card" ] && [ -n "$screen_listen" ] && cat <<SCREEN
The kiosk's touch screen, as a resident at a convenience store sees it: open http://$screen_listen/
in a browser, place the card (the example resident's, PIN 1234), choose 住民票の写し and print it;
the last page shows the printed PDF. Three wrong PINs lock the card, as on a real one; the
municipal window resets it:
  $jlis card pin-reset --data $data --municipality 131016 --card-file $screen_card --secret authentication_pin --new-secret 1234
SCREEN
)
$( [ -n "$card" ] && cat <<KIOSK
At a convenience-store kiosk: the resident's card $card as a simulated chip (PIN 1234; three wrong
PINs lock it, and only the municipal window resets it: jlis card pin-reset), then a kiosk terminal
that logs the card in at the issuance centre and prints a 住民票の写し to a PDF:
  $jlis card virtual --data $data --card $card --pin 1234 --password ABC123 --output demo.card
  $jlis kiosk simulate --centre $base --terminal-credential $terminal --card demo.card --pin 1234 --document juminhyo --output 住民票-kiosk.pdf
Anyone holding the printed document checks it at $base/verify (the issuance number it printed,
or its QR code), or: curl -s $base/v1/verify/NUMBER
KIOSK
)
Stop with Ctrl-C.

MSG
if [ -n "$card" ] && [ -n "$screen_listen" ]; then
  # The server and the screen stop together (Ctrl-C, or a signal to this script).
  "$jlis" serve --data "$data" --listen "$listen" --kiosk-screen-url "http://$screen_listen/" &
  serve=$!
  "$jlis" kiosk screen --centre "$base" --terminal-credential "$terminal" --card "$screen_card" \
    --listen "$screen_listen" > /dev/null &
  screen=$!
  trap 'kill $serve $screen 2> /dev/null; wait' EXIT INT TERM
  wait $serve  # the server decides; a screen that cannot start (its port taken) leaves it serving
else
  exec "$jlis" serve --data "$data" --listen "$listen"
fi
