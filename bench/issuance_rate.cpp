// Certificate issuance rate beside OpenSSL's own RSA-2048 signing rate, in one run.
// Usage: issuance_rate [N] [ROUNDS]. Issues N signature certificates (default 2,000) per round through
// CertificateAuthority::issue on the writer, as a handover does (build the JPKI profile, sign, store,
// commit), and runs `openssl speed -seconds 3 rsa2048` (one thread) between rounds; prints the
// medians and their ratio. Both sides sign with RSA-2048 / SHA-256 on one core. The data
// directory's store is SQLite, or the PostgreSQL database JLIS_BENCH_STORE names (which must be
// empty: bench/store_rate.sh makes one).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "cli/app.h"
#include "pki/openssl.h"

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Signatures per second that `openssl speed` reports for rsa2048 (its "sign/s" column).
double openssl_speed() {
  FILE* p = ::popen("openssl speed -seconds 3 rsa2048 2>/dev/null", "r");
  if (!p) return 0;
  char line[512];
  double rate = 0;
  while (std::fgets(line, sizeof line, p)) {
    double sign_s = 0, verify_s = 0, sign_t = 0, verify_t = 0;
    if (std::sscanf(line, "rsa 2048 bits %lfs %lfs %lf %lf", &sign_t, &verify_t, &sign_s, &verify_s) == 4) rate = sign_s;
  }
  ::pclose(p);
  return rate;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace jlis;
  const int n = argc > 1 ? std::atoi(argv[1]) : 2000;
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 3;
  const auto dir = std::filesystem::temp_directory_path() / ("jlis-bench-issuance-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  ::setenv("JLIS_CA_PASSPHRASE", "benchmark passphrase", 1);
  // A simulation: every certificate certifies the same key (production refuses a key seen before).
  const char* store = std::getenv("JLIS_BENCH_STORE");
  if (!cli::App::init(dir.string(), /*simulation=*/true, store ? store : "").is_ok()) return 1;
  pki::CaInitOptions init;
  init.keys.passphrase = "benchmark passphrase";
  init.simulation = true;
  if (Status s = pki::CertificateAuthority::init(dir.string(), init); !s.is_ok()) {
    std::fprintf(stderr, "%s\n", s.to_string().c_str());
    return 1;
  }
  auto app = cli::App::open(dir.string()).value();
  pki::CertificateAuthority& ca = *app->ca();
  if (!ca.load_keys().is_ok()) return 1;
  registry::ChangeEvent birth;
  birth.event_id = "bench-1";
  birth.date = Date::from_ymd(1980, 1, 15).value();
  birth.person = registry::Person{"髙橋　太郎", "タカハシ　タロウ", birth.date, registry::Sex::male,
                                  "東京都千代田区丸の内一丁目1番1号"};
  auto resident = app->registry().submit(LocalGovernmentCode::parse("131016").value(), birth);
  if (!resident.ok()) {
    std::fprintf(stderr, "%s\n", resident.status().to_string().c_str());
    return 1;
  }
  // One card key, as every card's would be: the CA's work does not depend on which key it certifies.
  const std::string key = pki::public_key_pem(pki::generate_rsa(2048).value().get()).value();
  const int64_t now = std::time(nullptr);
  std::vector<double> ours, theirs;
  for (int round = 0; round < rounds; ++round) {
    // One certificate per resident, as at the window (the same record under other resident codes).
    std::vector<registry::Resident> holders(n, resident->resident);
    for (int i = 0; i < n; ++i) holders[i].resident_code = ResidentCode::from_body(1000000000ULL + round * n + i);
    std::vector<store::Writer::Job> jobs;
    for (int i = 0; i < n; ++i) {
      jobs.push_back([&, i](store::Connection& conn) {
        return ca.issue(conn, pki::CertificateKind::signature, pki::Device::card, holders[i], "0000000000000000",
                        key, now, now + 5 * 365 * 86400).status();
      });
    }
    const auto start = std::chrono::steady_clock::now();
    for (const Status& s : app->writer().run_all(std::move(jobs)))
      if (!s.is_ok()) {
        std::fprintf(stderr, "%s\n", s.to_string().c_str());
        return 1;
      }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ours.push_back(n / secs);
    theirs.push_back(openssl_speed());
    std::printf("round %d: jlis %.0f certificates/s, openssl speed rsa2048 %.0f signs/s\n", round + 1, ours.back(),
                theirs.back());
  }
  const double a = median(ours), b = median(theirs);
  std::printf("certificate issuance: median %.0f certificates/s; openssl speed rsa2048: median %.0f signs/s; ratio %.2f\n",
              a, b, b > 0 ? a / b : 0);
  app.reset();
  std::filesystem::remove_all(dir);
  return 0;
}
