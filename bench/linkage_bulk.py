#!/usr/bin/env python3
"""Bulk linkage queries through `jlis serve` beside the replica reads alone (issue 11 §5).

Usage: bench/linkage_bulk.py BUILD_DIR [PERSONS] [RUNS] [--baseline JLIS]   (defaults 20000, 3)

Makes a population of PERSONS residents (households and tax records), registers the pension
service and every municipality holding them as bodies, has the pension service get its code for
each resident by My Number, and waits for jlis serve's sweep to fill the municipalities' replicas
from their records. Then, RUNS times each, interleaved:
  bulk     one bulk job of PERSONS queries (J031-01: household and income, five items each) posted
           to jlis serve and followed to done: persons per second from the POST to the job done
           (the legal check, code conversion, replica read and provision records, each batch's
           results and its one message-log entry committed);
  ceiling  the same PERSONS replica reads alone, by the sqlite3 shell on the same database (the
           store's raw read of what each answer carries): reads per second.
The server measured is restarted after the sweep filled the replicas, its next sweep a day away, so
the runs measure the queries alone; the fill time says what the sweep itself does.
During the last bulk run a client sends single queries one after another and reports their p99
latency under that load. Prints the medians and the ratio. Every message is signed with the pension
service's LGPKI certificate, registered to it (the bulk file once, each single query: issue 11 §3).
With --baseline JLIS (another build's jlis, say the commit before a change), that binary makes the
data directory and fills the replicas (a newer build opens it and migrates its schema as an upgrade
would), then serves a copy of it, and each run posts the same bulk job to it right after the
measured server's: the two builds side by side, on equal databases.
"""
import base64, http.client, json, os, shutil, statistics, subprocess, sys, tempfile, threading, time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs7

args = sys.argv[1:]
baseline = None
if "--baseline" in args:
    at = args.index("--baseline")
    baseline = os.path.abspath(args[at + 1])
    del args[at:at + 2]
build = args[0]
persons = int(args[1]) if len(args) > 1 else 20000
runs = int(args[2]) if len(args) > 2 else 3
jlis = os.path.join(build, "src/cli/jlis")
work = tempfile.mkdtemp()
data = os.path.join(work, "data")
os.environ["JLIS_CA_PASSPHRASE"] = "benchmark passphrase, not a real one"


def run(*args, **kw):
    return subprocess.run([baseline or jlis, *args], check=True, capture_output=True, text=True, **kw).stdout


def token(out):
    return out.strip().splitlines()[-1]


serve = served_base = None
try:
    run("init", "--data", data, "--simulation")
    run("population", "generate", "--data", data, "--count", str(persons), "--seed", "1")
    pension = token(run("linkage", "body", "add", "--data", data, "--kind", "pension-service", "--name",
                        "日本年金機構", "--code", "1011105003233"))
    # The pension service's signing key and its LGPKI certificate, registered to it (every message
    # it sends is signed: linkage/signatures.h), through LGPKI's application workflow.
    run("lgpki", "init", "--data", data)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    csr = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "pension")])).sign(key, hashes.SHA256())
    csr_file = os.path.join(work, "pension.csr")
    with open(csr_file, "wb") as f:
        f.write(csr.public_bytes(serialization.Encoding.PEM))
    window = token(run("municipality", "token", "--data", data, "--code", "131016"))
    registration = token(run("token", "create", "--data", data, "--role", "lgpki-registration", "--name", "131016"))
    application = token(run("lgpki", "apply", "--data", data, "--municipality", "131016", "--profile", "organisation",
                            "--organisation", "千代田区", "--common-name", "日本年金機構", "--csr", csr_file,
                            env={**os.environ, "JLIS_TOKEN": window}))
    run("lgpki", "review", "--data", data, "--application", application, env={**os.environ, "JLIS_TOKEN": registration})
    run("lgpki", "approve", "--data", data, "--application", application, "--by", "bench")
    cert_file = os.path.join(work, "pension.pem")
    with open(cert_file, "w") as f:
        f.write(run("lgpki", "issue", "--data", data, "--application", application, "--by", "bench"))
    run("linkage", "body", "certificate", "add", "--data", data, "--body", "pension-service-1011105003233",
        "--certificate", cert_file)
    with open(cert_file, "rb") as f:
        cert = x509.load_pem_x509_certificate(f.read())

    def signature(body):
        """The JLIS-Signature header: base64 of a detached CMS signature over the body's bytes."""
        der = pkcs7.PKCS7SignatureBuilder().set_data(body.encode()).add_signer(cert, key, hashes.SHA256()).sign(
            serialization.Encoding.DER, [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary])
        return base64.b64encode(der).decode()
    rows = [line.split(",") for line in
            run("residents", "export", "--data", data, "--with-my-number", "--purpose", "benchmark").splitlines()[1:]]
    providers = {}
    for r in rows:
        code = r[7]
        if code in providers:
            continue
        try:  # a ward's residents are its designated city's; the city is registered under its own code
            run("linkage", "body", "add", "--data", data, "--kind", "municipality", "--name", code, "--code", code)
            providers[code] = "municipality-" + code
        except subprocess.CalledProcessError:
            providers[code] = None
    people = [(r[1], providers[r[7]]) for r in rows if r[8] == "resident" and providers[r[7]]]
    def start(refresh_seconds, binary=jlis, directory=data):
        p = subprocess.Popen([binary, "serve", "--data", directory, "--listen", "127.0.0.1:0", "--components",
                              "registry,municipal,linkage", "--linkage-refresh-seconds", str(refresh_seconds)],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        return p, int(p.stdout.readline().strip().rsplit(":", 1)[1])

    serve, port = start(0.5, baseline or jlis)

    def call(conn, method, path, body=None):
        headers = {"Authorization": "Bearer " + pension}
        if body is not None:
            headers["JLIS-Signature"] = signature(body)
        conn.request(method, path, body=body, headers=headers)
        r = conn.getresponse()
        return r.status, json.loads(r.read() or b"null")

    conn = http.client.HTTPConnection("127.0.0.1", port)
    codes = []
    for number, provider in people:
        status, body = call(conn, "POST", "/v1/linkage/codes", json.dumps({"my_number": number}))
        assert status == 200, body
        codes.append((body["code"], provider))
    db = os.path.join(data, "jlis.db")

    def sql(query):
        return subprocess.run(["sqlite3", "-readonly", db, query], check=True, capture_output=True, text=True).stdout

    deadline = time.time() + 600
    filling = time.perf_counter()
    while int(sql("SELECT COUNT(DISTINCT person_id) FROM linkage_replicas") or 0) < len(codes):
        assert time.time() < deadline, "the sweep did not fill the replicas"
        time.sleep(0.1)
    filled = time.perf_counter() - filling
    # The runs below measure the queries, not the sweep: the server again, its next sweep a day away.
    serve.terminate()
    serve.wait()
    if baseline:
        shutil.copytree(data, data + "-baseline")
        served_base, base_port = start(86400, baseline, data + "-baseline")
    serve, port = start(86400)
    items = ["RS001", "RS002", "TX001", "TX004", "TX005"]
    bulk_file = "".join(json.dumps({"code": c, "procedure": "J031-01", "provider": p, "items": items}) + "\n"
                        for c, p in codes)
    # The ceiling's reads: what each answer carries, by provider and person, as the platform reads it.
    anchors = sql("SELECT p.person_id FROM linkage_codes c JOIN linkage_persons p ON p.person_id = c.person_id "
                  "WHERE c.body = 'pension-service-1011105003233' ORDER BY c.code").split()
    reads = os.path.join(work, "reads.sql")
    with open(reads, "w") as f:
        for (code, provider), person in zip(sorted(codes), anchors):
            f.write(f"SELECT item, value FROM linkage_replicas WHERE provider = '{provider}' AND person_id = '{person}';\n")

    def bulk_once(port, latencies=None):
        conn = http.client.HTTPConnection("127.0.0.1", port)
        stop = threading.Event()
        def singles():
            c = http.client.HTTPConnection("127.0.0.1", port)
            q = json.dumps({"code": codes[0][0], "procedure": "J031-01", "provider": codes[0][1], "items": items})
            while not stop.is_set():
                t = time.perf_counter()
                status, _ = call(c, "POST", "/v1/linkage/queries", q)
                assert status == 200
                latencies.append(time.perf_counter() - t)
        start = time.perf_counter()
        status, job = call(conn, "POST", "/v1/linkage/bulk-jobs", bulk_file)
        assert status == 202, job
        t = threading.Thread(target=singles) if latencies is not None else None
        if t:
            t.start()
        while True:
            status, progress = call(conn, "GET", "/v1/linkage/bulk-jobs/" + job["job_id"])
            if progress["state"] == "done":
                break
            time.sleep(0.01)
        elapsed = time.perf_counter() - start
        stop.set()
        if t:
            t.join()
        assert progress["failed"] == 0, progress
        return len(codes) / elapsed

    def ceiling_once():
        start = time.perf_counter()
        with open(reads) as f:
            subprocess.run(["sqlite3", "-readonly", db], stdin=f, check=True, stdout=subprocess.DEVNULL)
        return len(codes) / (time.perf_counter() - start)

    bulk, base, ceiling, latencies = [], [], [], []
    for i in range(runs):
        bulk.append(bulk_once(port, latencies if i == runs - 1 else None))
        if baseline:
            base.append(bulk_once(base_port))
        ceiling.append(ceiling_once())
    latencies.sort()
    p99 = latencies[int(0.99 * (len(latencies) - 1))] * 1000 if latencies else float("nan")
    print(f"persons: {len(codes)} (of {persons} generated: residents of municipalities that are bodies)")
    print(f"the sweep (a 0.5 s pause between passes, running while the codes were made) had filled their "
          f"replicas {filled:.1f} s after the last code")
    print("bulk job through jlis serve (persons/s): " + ", ".join(f"{x:,.0f}" for x in bulk))
    print("replica reads alone, sqlite3 (reads/s):   " + ", ".join(f"{x:,.0f}" for x in ceiling))
    print(f"median: {statistics.median(bulk):,.0f} persons/s against {statistics.median(ceiling):,.0f} reads/s: "
          f"{statistics.median(bulk) / statistics.median(ceiling):.2f} of the ceiling")
    if baseline:
        print(f"baseline {baseline} (persons/s): " + ", ".join(f"{x:,.0f}" for x in base))
        ratio = statistics.median(bulk) / statistics.median(base)
        print(f"median: {statistics.median(base):,.0f}; this build {ratio:.2f} of the baseline's rate")
    print(f"single query under the last bulk job: {len(latencies)} queries, p99 {p99:.1f} ms, "
          f"median {statistics.median(latencies) * 1000 if latencies else float('nan'):.1f} ms")
finally:
    for p in (serve, served_base):
        if p:
            p.terminate()
            p.wait()
    shutil.rmtree(work, ignore_errors=True)
