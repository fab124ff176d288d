#!/usr/bin/env python3
"""Soak driver: mixed traffic against a running `jlis serve` on 127.0.0.1 (bench/soak.sh sets it up).

Phase 1 measures the maximum: THREADS keep-alive connections send the mix back to back for
MAX_SECONDS. Phase 2 sends the same mix at RATE_FRACTION of that maximum, paced (each connection
sends on its own schedule, so a slow answer delays only that connection's next request), for
SECONDS, bounded in count too (rate x seconds), and stops by itself. Every minute it records the
rate, the error answers, the p99 latency, the server's RSS (VmRSS of PID) and the part of it that
SQLite holds (/metrics jlis_store_sqlite_memory_bytes: the page caches, bounded together by
`jlis serve --sqlite-memory`).

Mix per 20 requests: 10 resident lookups (agency), 3 name-change events (by the resident's municipality),
2 card actions (call centre: suspend then resume of a card of that connection's own), 5 OCSP GETs.
An error is any answer other than the one expected (2xx; OCSP: 200 and responseStatus successful)
or a failed connection. Exit status 0 only when there was no error, the server's RSS after the first
minute grew by at most 5 % over the first minute's and no minute's p99 exceeds twice the median of
the per-minute p99s (flat).

Usage: soak.py CONFIG_JSON PID OUT_JSON  (environment: SOAK_SECONDS=600 MAX_SECONDS=20 THREADS=8
RATE_FRACTION=0.8 SOAK_MIX=LLELOLCLOLELOLCLOELO)
"""
import http.client
import json
import os
import statistics
import sys
import threading
import time

cfg = json.load(open(sys.argv[1]))
pid = int(sys.argv[2])
out_path = sys.argv[3]
SECONDS = int(os.environ.get("SOAK_SECONDS", "600"))
MAX_SECONDS = int(os.environ.get("MAX_SECONDS", "20"))
THREADS = int(os.environ.get("THREADS", "8"))
FRACTION = float(os.environ.get("RATE_FRACTION", "0.8"))
host, port = cfg["host"], int(cfg["port"])
today = time.strftime("%Y-%m-%d", time.gmtime())
NAMES = [("鈴木 花子", "すずき はなこ"), ("佐藤 花子", "さとう はなこ")]
# 20: L lookup x10, E event x3, C card action x2, O OCSP x5 (SOAK_MIX replaces it, to soak one path alone).
MIX = os.environ.get("SOAK_MIX", "LLELOLCLOLELOLCLOELO")


def sqlite_kb():
    """The server's jlis_store_sqlite_memory_bytes (SQLite's page caches and the rest it holds)."""
    try:
        c = http.client.HTTPConnection(host, port, timeout=30)
        c.request("GET", "/metrics")
        for line in c.getresponse().read().decode().splitlines():
            if line.startswith("jlis_store_sqlite_memory_bytes "):
                return int(float(line.split()[1])) // 1024
    except (http.client.HTTPException, OSError):
        pass
    return 0


# card -> its next action, kept across the two phases (a card the maximum phase left suspended is
# resumed first). Cards are never shared between the connections of a phase.
CARD_STATE = {}


def rss_kb():
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Worker:
    def __init__(self, n, phase):
        self.n = n
        self.phase = phase  # in the event ids: the soak's events are not replays of the maximum's
        self.conn = None
        self.i = 0
        self.event = 0
        self.cards = cfg["cards"][n::THREADS]
        self.residents = cfg["lookup_codes"]
        # Each connection its own residents when there are enough (shared otherwise: name changes
        # of one resident from two connections do not conflict). Cards are never shared: a
        # connection without cards of its own skips its card actions.
        self.movers = cfg["event_codes"][n::THREADS] or cfg["event_codes"]
        self.ocsp = cfg["ocsp_paths"]

    def request(self, method, path, body, token):
        headers = {"Authorization": "Bearer " + token} if token else {}
        if body is not None:
            headers["Content-Type"] = "application/json"
        for attempt in (0, 1):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection(host, port, timeout=30)
                self.conn.request(method, path, body=body, headers=headers)
                r = self.conn.getresponse()
                data = r.read()
                return r.status, data
            except (http.client.HTTPException, OSError) as e:
                self.conn = None
                if attempt == 1:
                    return 0, str(e).encode()
        return 0, b""

    def one(self):
        kind = MIX[self.i % len(MIX)]
        self.i += 1
        if kind == "L":
            code = self.residents[(self.i * 7919 + self.n) % len(self.residents)]
            s, d = self.request("GET", f"/v1/residents/{code}?purpose=soak", None, cfg["agency"])
            return kind, s == 200, s, d
        if kind == "E":
            self.event += 1
            code, muni = self.movers[self.event % len(self.movers)]
            name, kana = NAMES[(self.event // len(self.movers)) % 2]
            body = json.dumps({"event_id": f"soak-{cfg['run']}-{self.phase}-{self.n}-{self.event}", "type": "name_change",
                               "date": today, "resident_code": code, "name": name, "name_kana": kana})
            s, d = self.request("POST", f"/v1/municipalities/{muni}/events", body, cfg["municipalities"][muni])
            return kind, s == 201, s, d
        if kind == "C":
            if not self.cards:
                return kind, True, 200, b""
            card = self.cards[self.i % len(self.cards)]
            action = CARD_STATE.get(card, "suspend")
            s, d = self.request("POST", f"/v1/cards/{card}/{action}", "{}", cfg["call_centre"])
            if s == 200:
                CARD_STATE[card] = "resume" if action == "suspend" else "suspend"
            return kind, s == 200, s, d
        path = self.ocsp[(self.i * 31 + self.n) % len(self.ocsp)]
        s, d = self.request("GET", path, None, None)
        # OCSPResponse ::= SEQUENCE { responseStatus ENUMERATED (successful = 0), ... }
        ok = s == 200 and len(d) > 8 and b"\x0a\x01\x00" in d[2:7]
        return kind, ok, s, d


def run(phase, duration, rate, limit, minute_seconds=60):
    """Runs the mix for `duration` s (rate None: unpaced); answers per-minute records."""
    lock = threading.Lock()
    records = []  # (t, latency, ok, kind)
    errors = []
    start = time.monotonic()
    end = start + duration
    sent = [0]

    def loop(w):
        interval = THREADS / rate if rate else 0.0
        next_at = start + (w.n * interval / THREADS if rate else 0.0)
        while True:
            now = time.monotonic()
            if now >= end:
                return
            if rate:
                if next_at > now:
                    time.sleep(min(next_at - now, end - now))
                    continue
                next_at += interval
            with lock:
                if sent[0] >= limit:
                    return
                sent[0] += 1
            t0 = time.monotonic()
            kind, ok, status, data = w.one()
            t1 = time.monotonic()
            with lock:
                records.append((t0 - start, t1 - t0, ok, kind))
                if not ok and len(errors) < 20:
                    errors.append((kind, status, data[:200].decode("utf-8", "replace")))

    workers = [Worker(n, phase) for n in range(THREADS)]
    rss = []
    threads = [threading.Thread(target=loop, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        rss.append((time.monotonic() - start, rss_kb(), sqlite_kb()))
        time.sleep(min(5, max(0.1, end - time.monotonic())) if time.monotonic() < end else 0.1)
    rss.append((time.monotonic() - start, rss_kb(), sqlite_kb()))
    elapsed = time.monotonic() - start
    minutes = []
    for m in range(int(max(1, -(-elapsed // minute_seconds)))):
        lo, hi = m * minute_seconds, (m + 1) * minute_seconds
        lat = sorted(r[1] for r in records if lo <= r[0] < hi)
        if not lat:
            continue
        p99 = lambda values: round(values[min(len(values) - 1, int(len(values) * 0.99))] * 1000, 2)
        by_kind = {k: sorted(r[1] for r in records if lo <= r[0] < hi and r[3] == k) for k in "LECO"}
        errs = sum(1 for r in records if lo <= r[0] < hi and not r[2])
        rs = [(v, q) for t, v, q in rss if lo <= t < hi + 5] or [rss[-1][1:]]
        minutes.append({"minute": m + 1, "requests": len(lat), "rate": round(len(lat) / min(minute_seconds, elapsed - lo), 1),
                        "errors": errs, "p50_ms": round(lat[len(lat) // 2] * 1000, 2),
                        "p99_ms": p99(lat), "p99_ms_by_kind": {k: p99(v) for k, v in by_kind.items() if v},
                        "rss_kb": rs[-1][0], "sqlite_kb": rs[-1][1], "other_kb": rs[-1][0] - rs[-1][1]})
    kinds = {k: sum(1 for r in records if r[3] == k) for k in "LECO"}
    return {"requests": len(records), "seconds": round(elapsed, 1), "rate": round(len(records) / elapsed, 1),
            "errors": sum(1 for r in records if not r[2]), "error_samples": errors, "by_kind": kinds,
            "minutes": minutes, "rss_kb": [v for _, v, _ in rss]}


maximum = run("max", MAX_SECONDS, None, 10**9, minute_seconds=MAX_SECONDS)
target = round(maximum["rate"] * FRACTION, 1)
print(f"maximum: {maximum['rate']} req/s over {maximum['seconds']} s ({maximum['errors']} errors); "
      f"soak at {target} req/s for {SECONDS} s", flush=True)
soak = run("soak", SECONDS, target, int(target * SECONDS * 1.02) + 1)
for m in soak["minutes"]:
    print(json.dumps(m), flush=True)
p99s = [m["p99_ms"] for m in soak["minutes"]]


def growth_pct(key):
    """How far the largest value after the first minute exceeds the first minute's, in %."""
    after_first = [m[key] for m in soak["minutes"][1:]] or [soak["minutes"][-1][key]]
    base = soak["minutes"][0][key]
    return round((max(after_first) - base) / base * 100, 2)


median_p99 = statistics.median(p99s)
checks = {
    "no_errors": soak["errors"] == 0 and maximum["errors"] == 0,
    "rss_growth_after_first_minute_pct": growth_pct("rss_kb"),
    "other_growth_after_first_minute_pct": growth_pct("other_kb"),
    "memory_ok": growth_pct("rss_kb") <= 5.0,
    "p99_median_ms": median_p99,
    "p99_max_ms": max(p99s),
    "p99_flat": max(p99s) <= 2 * median_p99,
}
result = {"maximum": maximum, "target_rate": target, "soak": soak, "checks": checks}
json.dump(result, open(out_path, "w"), indent=1, ensure_ascii=False)
print(json.dumps(checks), flush=True)
if soak["error_samples"]:
    print("errors:", soak["error_samples"][:5], flush=True)
sys.exit(0 if checks["no_errors"] and checks["memory_ok"] and checks["p99_flat"] else 1)
