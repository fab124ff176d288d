#!/usr/bin/python3
"""The library's own cost of a lookup's provision record: one core inserting the rows the writer
inserts (audit.provisions, with its index by resident), K to a transaction as the server's group
commits hold them, WAL with synchronous=NORMAL and SQLite's own checkpoints in this thread, on a
copy of a data directory's audit.db (the index as large as the server left it). Prints rows/s and
CPU per row. Run it beside bench/http_lookup.sh (docs/PERFORMANCE.md, lookups).

Usage: bench/raw_provision_insert.py AUDIT_DB SECONDS K   (AUDIT_DB is written to: pass a copy)
"""
import random
import resource
import sqlite3
import sys
import time

db, secs, k = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
c = sqlite3.connect(db, isolation_level=None)
c.execute("PRAGMA journal_mode=WAL")
c.execute("PRAGMA synchronous=NORMAL")
codes = [r[0] for r in c.execute("SELECT DISTINCT resident_code FROM provisions LIMIT 100000")]
if not codes:
    sys.exit("no provisions in " + db + ": run the lookups first")
rows = [(random.choice(codes), "ag-0123456789abcdef", "benchmark", "bench", "2026-12-07T22:00:00.123Z",
         "req-%016x" % random.getrandbits(64), None, None) for _ in range(200000)]  # made before the clock
sql = ("INSERT INTO provisions (resident_code, agency_id, agency_name, purpose, provided_at, request_id, "
       "client_request_id, information) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
n = 0
r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.time()
while time.time() - t0 < secs:
    i = n % (len(rows) - k)
    c.execute("BEGIN IMMEDIATE")
    c.executemany(sql, rows[i:i + k])
    c.execute("COMMIT")
    n += k
t, r1 = time.time() - t0, resource.getrusage(resource.RUSAGE_SELF)
user, system = r1.ru_utime - r0.ru_utime, r1.ru_stime - r0.ru_stime
print(f"raw provision inserts, {k} a transaction: {n / t:.0f} rows/s on one core, CPU per row "
      f"{(user + system) / n * 1e6:.1f} us (user {user / n * 1e6:.1f}, system {system / n * 1e6:.1f})")
