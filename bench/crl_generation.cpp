// CRL generation: the CA's way (entries' DER stored with their rows, assembled by assemble_crl)
// beside `openssl ca -gencrl` on the same revoked certificates.
// Makes N random 16-byte serials with revocation times and reasons and a throwaway self-signed
// RSA-2048 CA; encodes each entry once with encode_crl_entry (what the CA does when it revokes,
// timed apart) and stores the rows in a SQLite database shaped as the CA's (pki_certificates with
// migration 5's covering index; the certificates' own DER column left empty); writes the same
// entries as an `openssl ca` index.txt. Then, alternating, runs each side as a child process
// (this program with --child, which reads the rows with the CA's query, decodes them into one
// buffer, assembles and signs the CRL and writes it; and `openssl ca -gencrl`), timing each run
// and taking its peak memory from wait4's rusage (ru_maxrss of that child alone). Checks that both
// CRLs parse, list the same serials and that ours verifies, and prints medians and ratios.
// Reasons are drawn from those `openssl ca` can write (unspecified .. cessationOfOperation).
// Usage: crl_generation [entries=1000000] [runs=3]
#include <openssl/err.h>
#include <openssl/pem.h>
#include <malloc.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "../tests/pki/test_ca.h"
#include "pki/crl.h"

namespace {

using namespace jlis::pki;
namespace fs = std::filesystem;

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

std::string hex_upper(const std::string& bytes) {
  static const char* digits = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

std::string index_time(int64_t t) {
  const time_t tt = static_cast<time_t>(t);
  struct tm tm {};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%y%m%d%H%M%SZ", &tm);
  return buf;
}

// The serials of a CRL, as hex, or an empty set and false when it does not parse.
bool crl_serials(X509_CRL* crl, std::vector<std::string>& out) {
  if (crl == nullptr) return false;
  STACK_OF(X509_REVOKED)* revoked = X509_CRL_get_REVOKED(crl);
  for (int i = 0; i < sk_X509_REVOKED_num(revoked); ++i)
    out.push_back(serial_hex(X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(revoked, i))));
  std::sort(out.begin(), out.end());
  return true;
}


std::string hex_lower(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

constexpr const char* kSchema =
    "CREATE TABLE pki_certificates (serial TEXT PRIMARY KEY, ca TEXT NOT NULL, not_after BIGINT NOT NULL, "
    "revoked_at BIGINT, reason BIGINT, revocation_seq BIGINT UNIQUE, der TEXT NOT NULL, crl_entry TEXT, "
    "generation BIGINT NOT NULL DEFAULT 1);"
    "CREATE INDEX pki_certificates_crl ON pki_certificates (ca, generation, serial, revocation_seq, revoked_at, "
    "not_after, reason, crl_entry) WHERE revocation_seq IS NOT NULL;";
// The CA's query (src/pki/publication.cpp, generate_crls and read_entries).
constexpr const char* kQuery =
    "SELECT serial, revoked_at, reason, crl_entry FROM pki_certificates WHERE ca = ? AND generation = 1 AND "
    "revocation_seq IS NOT NULL AND +revocation_seq <= ? AND revoked_at IS NOT NULL AND not_after >= ? "
    "ORDER BY ca, generation, serial";

// Writes the rows; `encode_seconds` gets the time spent encoding the entries (what the CA pays at
// each revocation).
bool write_database(const fs::path& path, const std::vector<RevokedEntry>& entries, int64_t now,
                    double& encode_seconds) {
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) return false;
  bool ok = sqlite3_exec(db, kSchema, nullptr, nullptr, nullptr) == SQLITE_OK &&
            sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr) == SQLITE_OK;
  sqlite3_stmt* insert = nullptr;
  ok = ok && sqlite3_prepare_v2(db,
                                "INSERT INTO pki_certificates (serial, ca, not_after, revoked_at, reason, "
                                "revocation_seq, der, crl_entry) VALUES (?, 'signature', ?, ?, ?, ?, '', ?)",
                                -1, &insert, nullptr) == SQLITE_OK;
  int64_t seq = 0;
  for (const auto& e : entries) {
    if (!ok) break;
    const auto start = std::chrono::steady_clock::now();
    auto der = encode_crl_entry(e);
    encode_seconds += seconds_since(start);
    if (!der.ok()) return false;
    const std::string serial = hex_lower(e.serial), entry = base64_encode(*der);
    sqlite3_bind_text(insert, 1, serial.data(), static_cast<int>(serial.size()), SQLITE_TRANSIENT);
    sqlite3_bind_int64(insert, 2, now + 365 * 86400);
    sqlite3_bind_int64(insert, 3, e.revoked_at);
    sqlite3_bind_int64(insert, 4, static_cast<int>(e.reason));
    sqlite3_bind_int64(insert, 5, ++seq);
    sqlite3_bind_text(insert, 6, entry.data(), static_cast<int>(entry.size()), SQLITE_TRANSIENT);
    ok = sqlite3_step(insert) == SQLITE_DONE && sqlite3_reset(insert) == SQLITE_OK;
  }
  sqlite3_finalize(insert);
  ok = ok && sqlite3_exec(db, "COMMIT; ANALYZE", nullptr, nullptr, nullptr) == SQLITE_OK;
  sqlite3_close(db);
  return ok;
}

// Canonical base64 appended to `out` (as the CA's read_entries does).
bool append_base64(std::string& out, const unsigned char* text, size_t size) {
  if (size == 0 || size % 4 != 0) return false;
  const size_t at = out.size();
  out.resize(at + size / 4 * 3);
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data() + at), text, static_cast<int>(size));
  if (n < 0) return false;
  size_t pad = 0;
  for (size_t i = size; i > 0 && pad < 2 && text[i - 1] == '='; --i) ++pad;
  out.resize(out.size() - pad);
  return true;
}

template <typename T, auto Read>
T read_pem(const fs::path& path) {
  BioPtr bio(BIO_new_file(path.c_str(), "r"));
  return T(bio ? Read(bio.get(), nullptr, nullptr, nullptr) : nullptr);
}

// The child: reads the rows as the CA does, assembles and signs the CRL, writes its DER.
int run_child(const fs::path& dir, int64_t now) {
  auto key = read_pem<EvpPkeyPtr, PEM_read_bio_PrivateKey>(dir / "ca.key");
  auto cert = read_pem<X509Ptr, PEM_read_bio_X509>(dir / "ca.pem");
  sqlite3* db = nullptr;
  sqlite3_stmt* query = nullptr;
  if (!key || !cert || sqlite3_open_v2((dir / "ours.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK ||
      sqlite3_prepare_v2(db, kQuery, -1, &query, nullptr) != SQLITE_OK)
    return 1;
  sqlite3_bind_text(query, 1, "signature", -1, SQLITE_STATIC);
  sqlite3_bind_int64(query, 2, INT64_MAX);
  sqlite3_bind_int64(query, 3, now);
  const auto start = std::chrono::steady_clock::now();
  // Sized from a count first, as the CA does (read_entries): the buffer is never copied.
  sqlite3_stmt* count = nullptr;
  if (sqlite3_prepare_v2(db, (std::string("SELECT COUNT(*) FROM (") + kQuery + ")").c_str(), -1, &count, nullptr) !=
      SQLITE_OK)
    return 1;
  sqlite3_bind_text(count, 1, "signature", -1, SQLITE_STATIC);
  sqlite3_bind_int64(count, 2, INT64_MAX);
  sqlite3_bind_int64(count, 3, now);
  if (sqlite3_step(count) != SQLITE_ROW) return 1;
  std::string entries;
  entries.reserve(static_cast<size_t>(sqlite3_column_int64(count, 0)) * 64);
  sqlite3_finalize(count);
  int rc = 0;
  while ((rc = sqlite3_step(query)) == SQLITE_ROW) {
    if (!append_base64(entries, sqlite3_column_text(query, 3), static_cast<size_t>(sqlite3_column_bytes(query, 3))))
      return 1;
  }
  sqlite3_finalize(query);
  sqlite3_close(db);
  if (rc != SQLITE_DONE) return 1;
  const double read_seconds = seconds_since(start);
  CrlParams params;
  params.issuer = cert.get();
  params.key = key.get();
  params.this_update = now;
  params.next_update = now + 7 * 86400;
  params.crl_number = 1;
  auto crl = assemble_crl(params, entries);
  if (!crl.ok()) {
    std::fprintf(stderr, "assemble_crl: %s\n", crl.status().to_string().c_str());
    return 1;
  }
  const double assemble_seconds = seconds_since(start) - read_seconds;
  std::ofstream out(dir / "ours.der", std::ios::binary | std::ios::trunc);
  out.write(crl->data(), static_cast<std::streamsize>(crl->size()));
  if (!out.flush()) return 1;
  std::ofstream(dir / "ours.phases", std::ios::app) << read_seconds << ' ' << assemble_seconds << '\n';
  return 0;
}

struct ChildRun {
  double seconds = 0;
  long max_rss_kib = 0;
  int status = -1;
};

// Runs argv as a child process; its wall time, and its own peak RSS from wait4.
ChildRun run_child_process(const std::vector<std::string>& args, const fs::path& stderr_path) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  ChildRun run;
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = fork();
  if (pid == 0) {
    if (freopen(stderr_path.c_str(), "w", stderr) == nullptr) _exit(126);
    execvp(argv[0], argv.data());
    _exit(127);
  }
  if (pid < 0) return run;
  struct rusage usage {};
  int status = 0;
  if (wait4(pid, &status, 0, &usage) != pid) return run;
  run.seconds = seconds_since(start);
  run.max_rss_kib = usage.ru_maxrss;
  run.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 4 && std::string(argv[1]) == "--child") return run_child(argv[2], std::atoll(argv[3]));
  const long n = argc > 1 ? std::atol(argv[1]) : 1000000;
  const int runs = argc > 2 ? std::atoi(argv[2]) : 3;
  if (n <= 0 || runs <= 0) {
    std::fprintf(stderr, "usage: crl_generation [entries] [runs]\n");
    return 2;
  }
  char dir_template[] = "/tmp/jlis-crl-XXXXXX";
  if (mkdtemp(dir_template) == nullptr) return 1;
  const fs::path dir = dir_template;

  // The entries: distinct random serials (first byte 0x01..0x7f, so 16 bytes without a sign byte).
  std::mt19937_64 rng(20260101);
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  std::vector<RevokedEntry> entries;
  entries.reserve(static_cast<size_t>(n));
  {
    std::set<std::string> seen;
    while (entries.size() < static_cast<size_t>(n)) {
      std::string serial(16, '\0');
      for (auto& c : serial) c = static_cast<char>(rng());
      serial[0] = static_cast<char>(1 + rng() % 0x7f);
      if (!seen.insert(serial).second) continue;
      RevokedEntry e;
      e.serial = std::move(serial);
      e.revoked_at = now - static_cast<int64_t>(rng() % (365 * 86400));
      e.reason = static_cast<RevocationReason>(rng() % 6);
      entries.push_back(std::move(e));
    }
  }

  // The CA, on disk for both.
  auto ca_key = testing::make_key();
  testing::CertSpec spec;
  spec.common_name = "CRL benchmark CA";
  spec.ca = true;
  auto ca = testing::make_cert(spec, ca_key.get());
  testing::write_file(dir / "ca.pem", testing::cert_pem(ca.get()));
  testing::write_file(dir / "ca.key", testing::key_pem(ca_key.get()));

  double encode_seconds = 0;
  if (!write_database(dir / "ours.db", entries, now, encode_seconds)) {
    std::fprintf(stderr, "cannot write the SQLite database in %s\n", dir.c_str());
    return 1;
  }

  // The same entries as openssl ca's database.
  {
    std::ofstream index(dir / "index.txt");
    static const char* reasons[] = {"", "keyCompromise", "CACompromise", "affiliationChanged", "superseded",
                                    "cessationOfOperation"};
    const std::string expiry = index_time(now + 365 * 86400);
    for (const auto& e : entries) {
      index << "R\t" << expiry << '\t' << index_time(e.revoked_at);
      if (e.reason != RevocationReason::unspecified) index << ',' << reasons[static_cast<int>(e.reason)];
      index << '\t' << hex_upper(e.serial) << "\tunknown\t/CN=leaf\n";
    }
  }
  entries.clear();
  entries.shrink_to_fit();
  // The children are forked from this process, and a child's ru_maxrss counts what it held
  // between the fork and its exec: this process's own size then. Hand the freed heap back first,
  // so that each child's peak is its own (before this, ours read 140 MiB: this process's size).
  malloc_trim(0);
  testing::write_file(dir / "index.txt.attr", "unique_subject = no\n");
  testing::write_file(dir / "crlnumber", "01\n");
  testing::write_file(dir / "openssl.cnf",
                      "[ ca ]\ndefault_ca = CA_default\n"
                      "[ CA_default ]\n"
                      "dir = " + dir.string() + "\n"
                      "database = $dir/index.txt\n"
                      "certificate = $dir/ca.pem\n"
                      "private_key = $dir/ca.key\n"
                      "crlnumber = $dir/crlnumber\n"
                      "default_md = sha256\n"
                      "default_crl_days = 7\n"
                      "crl_extensions = crl_ext\n"
                      "[ crl_ext ]\n"
                      "authorityKeyIdentifier = keyid:always\n");

  std::vector<double> ours, theirs, ours_rss, their_rss;
  for (int i = 0; i < runs; ++i) {
    ChildRun o = run_child_process({"/proc/self/exe", "--child", dir.string(), std::to_string(now)}, dir / "ours.err");
    if (o.status != 0) {
      std::fprintf(stderr, "our CRL generation failed; see %s\n", (dir / "ours.err").c_str());
      return 1;
    }
    ChildRun t = run_child_process({"openssl", "ca", "-gencrl", "-batch", "-config", (dir / "openssl.cnf").string(),
                                    "-out", (dir / "openssl.pem").string()},
                                   dir / "openssl.err");
    if (t.status != 0) {
      std::fprintf(stderr, "openssl ca -gencrl failed; see %s\n", (dir / "openssl.err").c_str());
      return 1;
    }
    ours.push_back(o.seconds);
    ours_rss.push_back(static_cast<double>(o.max_rss_kib) / 1024);
    theirs.push_back(t.seconds);
    their_rss.push_back(static_cast<double>(t.max_rss_kib) / 1024);
  }

  // Both parse and list the same serials, and ours verifies with the CA's key.
  int rc = 0;
  testing::run("openssl crl -inform DER -in " + (dir / "ours.der").string() + " -noout -CAfile " +
                   (dir / "ca.pem").string() + " 2>&1",
               &rc);
  std::ifstream in(dir / "ours.der", std::ios::binary);
  const std::string der(std::istreambuf_iterator<char>(in), {});
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  X509CrlPtr ours_crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size())));
  BioPtr bio(BIO_new_file((dir / "openssl.pem").c_str(), "r"));
  X509CrlPtr their_crl(bio ? PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  std::vector<std::string> a, b;
  const bool parsed = crl_serials(ours_crl.get(), a) && crl_serials(their_crl.get(), b);
  const bool verified = ours_crl && X509_CRL_verify(ours_crl.get(), X509_get0_pubkey(ca.get())) == 1;
  if (rc != 0 || !parsed || !verified || a != b || a.size() != static_cast<size_t>(n)) {
    std::fprintf(stderr, "CRL check failed: openssl crl exit %d, parsed %d, verified %d, %zu vs %zu entries (files in %s)\n",
                 rc, parsed, verified, a.size(), b.size(), dir.c_str());
    return 1;
  }

  auto print_runs = [](const std::vector<double>& v, const char* unit) {
    std::printf("(runs");
    for (double x : v) std::printf(" %.3f%s", x, unit);
    std::printf(")");
  };
  const double o = median(ours), t = median(theirs), om = median(ours_rss), tm = median(their_rss);
  std::printf("crl generation, %ld entries (%zu bytes DER):\n  ours (SQLite rows -> assemble_crl): %.3f s ", n,
              der.size(), o);
  print_runs(ours, " s");
  std::printf(", peak RSS %.0f MiB ", om);
  print_runs(ours_rss, "");
  std::printf("\n  openssl ca -gencrl: %.3f s ", t);
  print_runs(theirs, " s");
  std::printf(", peak RSS %.0f MiB ", tm);
  print_runs(their_rss, "");
  std::printf("\n  time ratio %.1fx faster; memory %.2f of openssl's\n", t / o, om / tm);
  std::vector<double> reads, assembles;
  {
    std::ifstream phases(dir / "ours.phases");
    for (double r = 0, a = 0; phases >> r >> a;) {
      reads.push_back(r);
      assembles.push_back(a);
    }
  }
  if (!reads.empty())
    std::printf("  ours, inside: reading and decoding the rows %.3f s, assembling and signing %.3f s (medians)\n",
                median(reads), median(assembles));
  std::printf("  encoding the entries at revocation (not in the above): %.2f us per entry\n",
              encode_seconds * 1e6 / static_cast<double>(n));
  fs::remove_all(dir);
  return 0;
}
