// The card factory: applications produced per second with N applications queued (default 1,000,000).
// Usage: card_production [N]. Queues N accepted applications (one in fifty express) in a fresh data
// directory, as the application step leaves them, then times CardSystem::produce over the whole queue.
// The directory's store is SQLite, or the PostgreSQL database JLIS_BENCH_STORE names (which must
// be empty: bench/store_rate.sh makes one).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "cli/app.h"

int main(int argc, char** argv) {
  const int64_t n = argc > 1 ? std::atoll(argv[1]) : 1'000'000;
  const auto dir = std::filesystem::temp_directory_path() / ("jlis-bench-cards-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  const char* store = std::getenv("JLIS_BENCH_STORE");
  if (!jlis::cli::App::init(dir.string(), false, store ? store : "").is_ok()) return 1;
  auto app = jlis::cli::App::open(dir.string()).value();
  jlis::Status queued = app->writer().run([&](jlis::store::Connection& conn) {
    for (int64_t i = 0; i < n; ++i) {
      const bool express = i % 50 == 0;
      JLIS_RETURN_IF_ERROR(conn.execute(
          "INSERT INTO card_applications (resident_code, municipality_code, channel, photo, express, queue_rank, "
          "date_of_birth, status, applied_on, due_on, submitted_by, recorded_at) "
          "VALUES (?, '131016', 'web', 1, ?, ?, '1980-01-01', 'accepted', '2025-05-01', ?, 'bench', 'now')",
          {i + 1, express ? jlis::store::Value(std::string("newborn")) : jlis::store::Value(nullptr),
           int64_t{express ? 0 : 1}, express ? jlis::store::Value(std::string("2025-05-08")) : jlis::store::Value(nullptr)})
                               .status());
    }
    return jlis::Status::ok();
  });
  if (!queued.is_ok()) {
    std::fprintf(stderr, "%s\n", queued.to_string().c_str());
    return 1;
  }
  auto report = app->cards().produce(SIZE_MAX);
  if (!report.ok()) return 1;
  std::printf("card production: %lld applications queued, %lld produced (%lld express first) in %.1f s: %.0f applications/s\n",
              static_cast<long long>(n), static_cast<long long>(report->produced),
              static_cast<long long>(report->express), report->seconds,
              static_cast<double>(report->produced) / report->seconds);
  app.reset();
  std::filesystem::remove_all(dir);
  return report->produced == n ? 0 : 1;
}
