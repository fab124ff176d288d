// CRL generation: pki::build_crl beside `openssl ca -gencrl` on the same revoked certificates.
// Makes N random 16-byte serials with revocation times and reasons, a throwaway self-signed
// RSA-2048 CA, builds the CRL with build_crl (median of 3), writes the same entries as an
// `openssl ca` index.txt and times `openssl ca -gencrl` (median of up to 3), checks that both CRLs
// parse and list the same serials, and prints both times and the ratio.
// Reasons are drawn from those `openssl ca` can write (unspecified .. cessationOfOperation).
// Usage: crl_generation [entries=1000000] [openssl_runs=3]
#include <openssl/pem.h>
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

}  // namespace

int main(int argc, char** argv) {
  const long n = argc > 1 ? std::atol(argv[1]) : 1000000;
  const int openssl_runs = argc > 2 ? std::atoi(argv[2]) : 3;
  if (n <= 0 || openssl_runs <= 0) {
    std::fprintf(stderr, "usage: crl_generation [entries] [openssl_runs]\n");
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

  // The CA, on disk for openssl ca.
  auto ca_key = testing::make_key();
  testing::CertSpec spec;
  spec.common_name = "CRL benchmark CA";
  spec.ca = true;
  auto ca = testing::make_cert(spec, ca_key.get());
  testing::write_file(dir / "ca.pem", testing::cert_pem(ca.get()));
  testing::write_file(dir / "ca.key", testing::key_pem(ca_key.get()));

  CrlParams params;
  params.issuer = ca.get();
  params.key = ca_key.get();
  params.this_update = now;
  params.next_update = now + 7 * 86400;
  params.crl_number = 1;
  std::vector<double> ours;
  std::string der;
  for (int i = 0; i < 3; ++i) {
    const auto start = std::chrono::steady_clock::now();
    auto crl = build_crl(params, entries);
    ours.push_back(seconds_since(start));
    if (!crl.ok()) {
      std::fprintf(stderr, "build_crl: %s\n", crl.status().to_string().c_str());
      return 1;
    }
    der = std::move(crl).value();
  }
  testing::write_file(dir / "ours.der", der);

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
  std::vector<double> theirs;
  for (int i = 0; i < openssl_runs; ++i) {
    const std::string command = "openssl ca -gencrl -batch -config " + (dir / "openssl.cnf").string() + " -out " +
                                (dir / "openssl.pem").string() + " 2> " + (dir / "openssl.err").string();
    const auto start = std::chrono::steady_clock::now();
    const int rc = std::system(command.c_str());
    theirs.push_back(seconds_since(start));
    if (rc != 0) {
      std::fprintf(stderr, "openssl ca -gencrl failed; see %s\n", (dir / "openssl.err").c_str());
      return 1;
    }
  }

  // Both parse, and list the same serials.
  int rc = 0;
  testing::run("openssl crl -inform DER -in " + (dir / "ours.der").string() + " -noout -CAfile " +
                   (dir / "ca.pem").string() + " 2>&1",
               &rc);
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  X509CrlPtr ours_crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size())));
  BioPtr bio(BIO_new_file((dir / "openssl.pem").c_str(), "r"));
  X509CrlPtr their_crl(bio ? PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  std::vector<std::string> a, b;
  const bool parsed = crl_serials(ours_crl.get(), a) && crl_serials(their_crl.get(), b);
  if (rc != 0 || !parsed || a != b || a.size() != static_cast<size_t>(n)) {
    std::fprintf(stderr, "CRL check failed: openssl crl exit %d, parsed %d, %zu vs %zu entries (files in %s)\n", rc,
                 parsed, a.size(), b.size(), dir.c_str());
    return 1;
  }

  const double o = median(ours), t = median(theirs);
  std::printf("crl generation, %ld entries: build_crl %.3f s (runs", n, o);
  for (double x : ours) std::printf(" %.3f", x);
  std::printf("), openssl ca -gencrl %.3f s (runs", t);
  for (double x : theirs) std::printf(" %.3f", x);
  std::printf("), ratio %.1fx; CRL %zu bytes DER\n", t / o, der.size());
  fs::remove_all(dir);
  return 0;
}
