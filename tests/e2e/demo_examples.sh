#!/usr/bin/env bash
# Runs `make run`'s script (scripts/demo.sh) on a small population, then every example it prints,
# exactly as printed (continuation lines joined), in a scratch directory: each curl with -f, so a
# 4xx or 5xx answer fails it. Then the verification the demo describes: the issuance number the
# kiosk example printed is confirmed by /v1/verify as a kiosk document, the window's 住民票 carries
# the mayor's seal as pdfsig sees it, and the kiosk screen the demo runs beside the server shows its
# first page.
# Usage: demo_examples.sh JLIS SOURCE_DIR WORK_DIR. Prints "ok: …" or "FAILED: …" per example;
# exits non-zero when the demo did not start or an example failed.
set -uo pipefail
jlis=$1 source_dir=$2 work=$3
mkdir -p "$work" && cd "$work" || exit 2
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
screen_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$source_dir/scripts/demo.sh" "$jlis" "$work/data" "127.0.0.1:$port" 3000 "127.0.0.1:$screen_port" > demo.out 2> demo.err &
pid=$!
trap 'kill $pid 2> /dev/null; wait $pid 2> /dev/null' EXIT
started=
for _ in $(seq 1 1200); do
  if grep -q 'Stop with Ctrl-C' demo.out && curl -sf "http://127.0.0.1:$port/healthz" > /dev/null; then
    started=1
    break
  fi
  kill -0 $pid 2> /dev/null || break
  sleep 0.25
done
if [ -z "$started" ]; then
  echo "the demo did not start"
  cat demo.out demo.err
  exit 1
fi
# The demo asks for the CA passphrase in the environment before its document examples (they are
# sealed with an LGPKI key): as printed.
export_line=$(sed -n 's#^  export JLIS_CA_PASSPHRASE=\$(cat \(.*\))$#\1#p' demo.out)
if [ -z "$export_line" ] || [ ! -f "$export_line" ]; then
  echo "FAILED: the demo does not say where the CA passphrase is"
  exit 1
fi
export JLIS_CA_PASSPHRASE=$(cat "$export_line")
examples=$(sed -e ':a' -e '/\\$/N; s/\\\n *//; ta' demo.out | sed -n "s#^  \(curl .*\|$jlis .*\)\$#\1#p")
failed=0 number=
while IFS= read -r example; do
  if out=$(bash -c "curl() { command curl -f \"\$@\"; }; $example" 2>&1); then
    echo "ok: $example"
    [[ $example == *"kiosk simulate"* ]] && number=$(sed -n 's/.*issuance number \([0-9A-Za-z-]*\).*/\1/p' <<< "$out")
  else
    echo "FAILED: $example"
    echo "$out" | head -20
    failed=1
  fi
done <<< "$examples"
verified=$(curl -sf "http://127.0.0.1:$port/v1/verify/$number")
if [ -n "$number" ] && grep -q '"channel":"kiosk"' <<< "$verified" && grep -q '"issued":true' <<< "$verified"; then
  echo "ok: the kiosk's document $number is verified"
else
  echo "FAILED: the kiosk's document '$number' is not verified: $verified"
  failed=1
fi
if grep -q "open http://127.0.0.1:$screen_port/" demo.out &&
   curl -sf "http://127.0.0.1:$screen_port/" | grep -q 'カードを置いてください'; then
  echo "ok: the kiosk screen answers"
else
  echo "FAILED: the kiosk screen on 127.0.0.1:$screen_port does not answer as the demo says"
  failed=1
fi
# The window's 住民票 the examples rendered carries 千代田区長's electronic seal, valid and trusted.
sealed=$(pdfsig -nssdir sql:nssdb 住民票.pdf 2>&1)
if grep -q 'Signer Certificate Common Name: 千代田区長' <<< "$sealed" &&
   grep -q 'Signature Validation: Signature is Valid.' <<< "$sealed" &&
   grep -q 'Certificate Validation: Certificate is Trusted.' <<< "$sealed"; then
  echo "ok: the window's 住民票 carries the mayor's valid, trusted seal"
else
  echo "FAILED: the window's 住民票 does not carry a valid, trusted seal: $sealed"
  failed=1
fi
# The console's operator token, as printed, logs in (303 to /console with the session's cookie).
operator=$(sed -n 's/^  operator token (the console, [^)]*): //p' demo.out)
if [ -n "$operator" ] &&
   curl -s -o /dev/null -D - -H "Origin: http://127.0.0.1:$port" --data-urlencode "token=$operator" \
     "http://127.0.0.1:$port/console/login" | grep -qi '^set-cookie: jlis_console='; then
  echo "ok: the operator token logs in to the console"
else
  echo "FAILED: the printed operator token '$operator' does not log in to the console"
  failed=1
fi
exit $failed
