// Certificate issuance rate beside OpenSSL's own RSA-2048 signing rate, in one run.
// Usage: issuance_rate [N] [ROUNDS]. Per round: issues N signature certificates with one thread,
// then N with two threads, then runs `openssl speed -seconds 3 rsa2048` (one thread); prints the
// medians and the ratios. Each certificate goes the way a handover's does: built from the JPKI
// profile and signed on the issuing thread (CertificateAuthority::prepare), then checked again,
// stored and committed by a job on the single writer (CertificateAuthority::issue), which
// group-commits the jobs that queue up meanwhile. An issuing thread queues each job and goes on to
// the next certificate; the round ends when every job has committed. So "one thread" signs on one
// core while the writer commits beside it, and "two threads" sign on both cores. Each pass prints
// its writer transactions; a third pass times the preparation alone on one thread (the bound of one
// issuing thread: the key policy's checks and the certificate's building beside the signature),
// then the writer alone (N signed beforehand, queued at once). The data
// directory's store is SQLite, or the PostgreSQL database JLIS_BENCH_STORE names (which must be
// empty: bench/store_rate.sh makes one).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
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

using namespace jlis;

// Issues one certificate per holder with `threads` issuing threads; answers certificates/s, or 0
// after printing the first failure.
double issue_all(cli::App& app, const std::vector<registry::Resident>& holders, const std::string& key, int64_t now,
                 int threads) {
  pki::CertificateAuthority& ca = *app.ca();
  const size_t n = holders.size();
  std::vector<std::optional<pki::PreparedCertificate>> prepared(n);
  std::vector<std::vector<store::Writer::Ticket>> tickets(threads);
  std::vector<Status> failures(threads);
  const int64_t not_after = now + 5 * 365 * 86400;
  const uint64_t commits_before = app.writer().commits();
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (size_t i = t; i < n; i += threads) {
        auto ready = ca.prepare(pki::CertificateKind::signature, pki::Device::card, holders[i], key, now, not_after);
        if (!ready.ok()) {
          failures[t] = ready.status();
          return;
        }
        prepared[i] = std::move(*ready);
        tickets[t].push_back(app.writer().enqueue({[&, i](store::Connection& conn) {
          return ca.issue(conn, *prepared[i], holders[i], "0000000000000000", now, not_after).status();
        }}));
      }
    });
  }
  for (auto& w : workers) w.join();
  for (int t = 0; t < threads; ++t) {
    for (auto& ticket : tickets[t])
      for (const Status& s : ticket.wait())
        if (!s.is_ok() && failures[t].is_ok()) failures[t] = s;
    if (!failures[t].is_ok()) {
      std::fprintf(stderr, "%s\n", failures[t].to_string().c_str());
      return 0;
    }
  }
  const double rate = n / std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("  %d thread(s): %.0f certificates/s in %llu writer transactions\n", threads, rate,
              static_cast<unsigned long long>(app.writer().commits() - commits_before));
  return rate;
}

// The two parts alone. First the issuing thread's part with nothing beside it: every certificate
// prepared (built from the profile, the key checked by the key policy, signed) on this thread,
// which bounds one issuing thread; answered in `prepare_rate`. Then the writer's share: all the
// jobs queued at once; answers the commits' rate (certificates/s of writer work, not of issuance).
double writer_only(cli::App& app, const std::vector<registry::Resident>& holders, const std::string& key, int64_t now,
                   double& prepare_rate) {
  pki::CertificateAuthority& ca = *app.ca();
  const int64_t not_after = now + 5 * 365 * 86400;
  std::vector<pki::PreparedCertificate> prepared;
  const auto prepare_start = std::chrono::steady_clock::now();
  for (const auto& h : holders)
    prepared.push_back(ca.prepare(pki::CertificateKind::signature, pki::Device::card, h, key, now, not_after).value());
  prepare_rate =
      holders.size() / std::chrono::duration<double>(std::chrono::steady_clock::now() - prepare_start).count();
  std::printf("  prepared alone on one thread (no writer beside it): %.0f certificates/s\n", prepare_rate);
  std::vector<store::Writer::Job> jobs;
  for (size_t i = 0; i < holders.size(); ++i)
    jobs.push_back([&, i](store::Connection& conn) {
      return ca.issue(conn, prepared[i], holders[i], "0000000000000000", now, not_after).status();
    });
  const uint64_t commits_before = app.writer().commits();
  const auto start = std::chrono::steady_clock::now();
  for (const Status& s : app.writer().run_all(std::move(jobs)))
    if (!s.is_ok()) return 0;
  const double rate = holders.size() / std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("  writer alone (signed beforehand, queued at once): %.0f certificates/s in %llu transactions\n", rate,
              static_cast<unsigned long long>(app.writer().commits() - commits_before));
  return rate;
}

}  // namespace

int main(int argc, char** argv) {
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
  if (!app->ca()->load_keys().is_ok()) return 1;
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
  std::vector<double> one, two, theirs, alone;
  uint64_t next_code = 1000000000ULL;
  // One certificate per resident, as at the window (the same record under other resident codes).
  auto holders = [&] {
    std::vector<registry::Resident> out(n, resident->resident);
    for (auto& h : out) h.resident_code = ResidentCode::from_body(next_code++);
    return out;
  };
  for (int round = 0; round < rounds; ++round) {
    one.push_back(issue_all(*app, holders(), key, now, 1));
    two.push_back(issue_all(*app, holders(), key, now, 2));
    writer_only(*app, holders(), key, now, alone.emplace_back());
    if (one.back() == 0 || two.back() == 0) return 1;
    theirs.push_back(openssl_speed());
    std::printf("round %d: jlis one thread %.0f certificates/s, two threads %.0f certificates/s; "
                "openssl speed rsa2048 %.0f signs/s\n",
                round + 1, one.back(), two.back(), theirs.back());
  }
  const double a = median(one), b = median(two), c = median(theirs), d = median(alone);
  std::printf("certificate issuance: median %.0f certificates/s with one thread, %.0f with two; "
              "openssl speed rsa2048 (one core): median %.0f signs/s; ratios %.2f (one thread), %.2f (two threads)\n",
              a, b, c, c > 0 ? a / c : 0, c > 0 ? b / c : 0);
  std::printf("the issuing thread's own work alone (prepare: profile, key policy, signature): median %.0f "
              "certificates/s, %.2f of openssl's signs/s; the whole path with one thread is %.2f of it\n",
              d, c > 0 ? d / c : 0, d > 0 ? a / d : 0);
  app.reset();
  std::filesystem::remove_all(dir);
  return 0;
}
