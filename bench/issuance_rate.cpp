// Certificate issuance rate beside OpenSSL's own RSA-2048 signing rate, in one run.
// Usage: issuance_rate [N] [ROUNDS]. Per round: issues N signature certificates with one thread,
// then N with two threads, then runs `openssl speed -seconds 3 rsa2048` on one core and with
// `-multi 2` on both; prints the medians and the ratios. Each certificate goes the way a handover's
// does: built from the JPKI profile and signed on the issuing thread (CertificateAuthority::prepare),
// then checked again, stored and committed by a job on the single writer
// (CertificateAuthority::issue), which group-commits the jobs that queue up meanwhile. An issuing
// thread queues each job and goes on to the next certificate; the round ends when every job has
// committed. So "one thread" signs on one core while the writer commits beside it, and "two
// threads" sign on both cores. Each pass prints its writer transactions and the process's CPU time
// per certificate. Then the parts alone: the preparation on one thread and on two (the bound of
// that many issuing threads: the key policy's checks and the certificate's building beside the
// signature, no writer), then the writer alone (N signed beforehand, queued at once). The data
// directory's store is SQLite, or the PostgreSQL database JLIS_BENCH_STORE names (which must be
// empty: bench/store_rate.sh makes one).
#include <sys/resource.h>

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

// Signatures per second that `openssl speed` reports for rsa2048 (its "sign/s" column), on one
// core or, with `processes` > 1, summed over that many processes (`-multi`).
double openssl_speed(int processes) {
  const std::string multi = processes > 1 ? "-multi " + std::to_string(processes) + " " : "";
  FILE* p = ::popen(("openssl speed " + multi + "-seconds 3 rsa2048 2>/dev/null").c_str(), "r");
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
  struct rusage before;
  ::getrusage(RUSAGE_SELF, &before);
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
  struct rusage after;
  ::getrusage(RUSAGE_SELF, &after);
  auto us = [&](const timeval& a, const timeval& b) {
    return ((b.tv_sec - a.tv_sec) * 1e6 + static_cast<double>(b.tv_usec - a.tv_usec)) / n;
  };
  std::printf("  %d thread(s): %.0f certificates/s in %llu writer transactions; CPU per certificate %.0f us user, "
              "%.0f us system; %ld context switches\n",
              threads, rate, static_cast<unsigned long long>(app.writer().commits() - commits_before),
              us(before.ru_utime, after.ru_utime), us(before.ru_stime, after.ru_stime),
              (after.ru_nvcsw - before.ru_nvcsw) + (after.ru_nivcsw - before.ru_nivcsw));
  return rate;
}

// The issuing threads' part with nothing beside it: every certificate prepared (built from the
// profile, the key checked by the key policy, signed) on `threads` threads, no writer: the bound of
// that many issuing threads. Answers certificates/s; the certificates in `prepared`.
double prepare_alone(cli::App& app, const std::vector<registry::Resident>& holders, const std::string& key,
                     int64_t now, int threads, std::vector<std::optional<pki::PreparedCertificate>>& prepared) {
  pki::CertificateAuthority& ca = *app.ca();
  const int64_t not_after = now + 5 * 365 * 86400;
  prepared.assign(holders.size(), std::nullopt);
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t)
    workers.emplace_back([&, t] {
      for (size_t i = t; i < holders.size(); i += threads)
        prepared[i] = ca.prepare(pki::CertificateKind::signature, pki::Device::card, holders[i], key, now, not_after)
                          .value();
    });
  for (auto& w : workers) w.join();
  const double rate = holders.size() / std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("  prepared alone on %d thread(s) (no writer beside it): %.0f certificates/s\n", threads, rate);
  return rate;
}

// The writer's share: the prepared certificates' jobs queued at once; answers the commits' rate
// (certificates/s of writer work, not of issuance).
double writer_only(cli::App& app, const std::vector<registry::Resident>& holders,
                   std::vector<std::optional<pki::PreparedCertificate>>& prepared, int64_t now) {
  pki::CertificateAuthority& ca = *app.ca();
  const int64_t not_after = now + 5 * 365 * 86400;
  std::vector<store::Writer::Job> jobs;
  for (size_t i = 0; i < holders.size(); ++i)
    jobs.push_back([&, i](store::Connection& conn) {
      return ca.issue(conn, *prepared[i], holders[i], "0000000000000000", now, not_after).status();
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
  std::vector<double> one, two, theirs, theirs_both, alone, alone_both;
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
    if (one.back() == 0 || two.back() == 0) return 1;
    std::vector<std::optional<pki::PreparedCertificate>> prepared;
    alone_both.push_back(prepare_alone(*app, holders(), key, now, 2, prepared));
    const auto writer_holders = holders();
    alone.push_back(prepare_alone(*app, writer_holders, key, now, 1, prepared));
    if (writer_only(*app, writer_holders, prepared, now) == 0) return 1;
    theirs.push_back(openssl_speed(1));
    theirs_both.push_back(openssl_speed(2));
    std::printf("round %d: jlis one thread %.0f certificates/s, two threads %.0f certificates/s; "
                "openssl speed rsa2048 %.0f signs/s on one core, %.0f on both\n",
                round + 1, one.back(), two.back(), theirs.back(), theirs_both.back());
  }
  const double a = median(one), b = median(two), c = median(theirs), d = median(alone), e = median(alone_both),
               f = median(theirs_both);
  if (c <= 0) return 1;
  std::printf("certificate issuance: median %.0f certificates/s with one thread, %.0f with two; "
              "openssl speed rsa2048 (one core): median %.0f signs/s; ratios %.2f (one thread), %.2f (two threads)\n",
              a, b, c, a / c, b / c);
  std::printf("the bounds beside them, as ratios to one core's signs/s: the issuing threads' own work alone "
              "(prepare: profile, key policy, signature) %.2f on one thread (%.0f/s), %.2f on two (%.0f/s); "
              "openssl speed -multi 2 %.2f (%.0f signs/s)\n",
              d / c, d, e / c, e, f / c, f);
  app.reset();
  std::filesystem::remove_all(dir);
  return 0;
}
