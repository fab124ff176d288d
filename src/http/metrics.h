// Private to the HTTP server: request counters and latency histograms in Prometheus text format.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace jlis::http::internal {

// Methods outside the routes are counted by class so that a client cannot grow the label set.
inline constexpr int kMethodClasses = 8;
int method_class(std::string_view method);  // GET HEAD POST PUT DELETE PATCH OPTIONS, else OTHER
std::string_view method_class_name(int method_class);

// The counters of one (route, method) label set. record() is lock-free: it runs on every request
// from every thread.
class Series {
 public:
  static constexpr std::array<double, 10> kBuckets = {0.001, 0.005, 0.01, 0.025, 0.05,
                                                      0.1,   0.25,  0.5,  1,     5};

  Series(std::string route, std::string method, bool always_shown);
  void record(int status, std::chrono::steady_clock::duration elapsed);
  const std::string& route() const { return route_; }

 private:
  friend class Metrics;
  // A handful of distinct statuses per route is normal; each claims a slot on first use.
  struct StatusSlot {
    std::atomic<int> status{0};  // 0 = free
    std::atomic<uint64_t> count{0};
  };

  const std::string route_;
  const std::string method_;
  bool always_shown_;  // registered routes show even before their first request
  std::array<StatusSlot, 16> statuses_;
  std::atomic<uint64_t> other_statuses_{0};  // when all slots are taken (status="other")
  std::array<std::atomic<uint64_t>, kBuckets.size() + 1> buckets_{};  // not cumulative; last=+Inf
  std::atomic<uint64_t> sum_ns_{0};
};

class Metrics {
 public:
  Metrics();
  // The series of (route, method), created on first call. Called while routes are registered.
  Series* series(std::string_view route, std::string_view method, bool always_shown);
  // Where requests that match no route are counted (route="unmatched").
  Series* unmatched(std::string_view method) { return unmatched_[method_class(method)]; }
  // Appends the Prometheus text of every series that has something to show.
  void render(std::string& out) const;

 private:
  mutable std::mutex mu_;  // guards the list, not the counters
  std::vector<std::unique_ptr<Series>> series_;
  std::array<Series*, kMethodClasses> unmatched_{};
};

}  // namespace jlis::http::internal
