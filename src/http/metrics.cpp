#include "http/metrics.h"

#include <fmt/format.h>

#include <iterator>

namespace jlis::http::internal {

namespace {

constexpr std::array<std::string_view, kMethodClasses> kMethodClassNames = {
    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "OTHER"};

// Prometheus label values escape backslash, double quote and newline.
void append_label_value(std::string& out, std::string_view v) {
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

void append_labels(std::string& out, std::string_view route, std::string_view method) {
  out += "route=\"";
  append_label_value(out, route);
  out += "\",method=\"";
  append_label_value(out, method);
  out += '"';
}

}  // namespace

int method_class(std::string_view method) {
  for (int i = 0; i < kMethodClasses - 1; ++i) {
    if (kMethodClassNames[i] == method) return i;
  }
  return kMethodClasses - 1;
}

std::string_view method_class_name(int method_class) { return kMethodClassNames[method_class]; }

Series::Series(std::string route, std::string method, bool always_shown)
    : route_(std::move(route)), method_(std::move(method)), always_shown_(always_shown) {}

void Series::record(int status, std::chrono::steady_clock::duration elapsed) {
  // Relaxed ordering throughout: each counter is independent and a scrape may be slightly skewed.
  bool counted = false;
  for (StatusSlot& slot : statuses_) {
    int s = slot.status.load(std::memory_order_acquire);
    if (s == 0) {
      int expected = 0;
      if (slot.status.compare_exchange_strong(expected, status, std::memory_order_acq_rel)) {
        s = status;
      } else {
        s = expected;  // another thread claimed the slot first, perhaps for this status
      }
    }
    if (s == status) {
      slot.count.fetch_add(1, std::memory_order_relaxed);
      counted = true;
      break;
    }
  }
  if (!counted) other_statuses_.fetch_add(1, std::memory_order_relaxed);

  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count();
  const double seconds = static_cast<double>(ns) / 1e9;
  size_t b = 0;
  while (b < kBuckets.size() && seconds > kBuckets[b]) ++b;
  buckets_[b].fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(static_cast<uint64_t>(ns < 0 ? 0 : ns), std::memory_order_relaxed);
}

Metrics::Metrics() {
  for (int i = 0; i < kMethodClasses; ++i) {
    unmatched_[i] = series("unmatched", method_class_name(i), false);
  }
}

Series* Metrics::series(std::string_view route, std::string_view method, bool always_shown) {
  std::lock_guard lock(mu_);
  for (auto& s : series_) {
    if (s->route_ == route && s->method_ == method) {
      s->always_shown_ = s->always_shown_ || always_shown;
      return s.get();
    }
  }
  series_.push_back(
      std::make_unique<Series>(std::string(route), std::string(method), always_shown));
  return series_.back().get();
}

void Metrics::render(std::string& out) const {
  std::lock_guard lock(mu_);
  auto it = std::back_inserter(out);

  out += "# HELP jlis_http_requests_total HTTP requests answered, by route pattern.\n";
  out += "# TYPE jlis_http_requests_total counter\n";
  for (const auto& s : series_) {
    auto line = [&](std::string_view status, uint64_t n) {
      out += "jlis_http_requests_total{";
      append_labels(out, s->route_, s->method_);
      fmt::format_to(it, ",status=\"{}\"}} {}\n", status, n);
    };
    for (const auto& slot : s->statuses_) {
      const int status = slot.status.load(std::memory_order_acquire);
      if (status == 0) break;  // slots are claimed in order
      line(std::to_string(status), slot.count.load(std::memory_order_relaxed));
    }
    if (uint64_t n = s->other_statuses_.load(std::memory_order_relaxed)) line("other", n);
  }

  out += "# HELP jlis_http_request_duration_seconds Time from request read to response ready.\n";
  out += "# TYPE jlis_http_request_duration_seconds histogram\n";
  for (const auto& s : series_) {
    std::array<uint64_t, Series::kBuckets.size() + 1> counts;
    uint64_t total = 0;
    for (size_t b = 0; b < counts.size(); ++b) {
      counts[b] = s->buckets_[b].load(std::memory_order_relaxed);
      total += counts[b];
    }
    if (total == 0 && !s->always_shown_) continue;
    uint64_t cumulative = 0;
    for (size_t b = 0; b < counts.size(); ++b) {
      cumulative += counts[b];
      out += "jlis_http_request_duration_seconds_bucket{";
      append_labels(out, s->route_, s->method_);
      if (b < Series::kBuckets.size()) {
        fmt::format_to(it, ",le=\"{}\"}} {}\n", Series::kBuckets[b], cumulative);
      } else {
        fmt::format_to(it, ",le=\"+Inf\"}} {}\n", cumulative);
      }
    }
    out += "jlis_http_request_duration_seconds_sum{";
    append_labels(out, s->route_, s->method_);
    fmt::format_to(it, "}} {}\n",
                   static_cast<double>(s->sum_ns_.load(std::memory_order_relaxed)) / 1e9);
    // _count equals the +Inf bucket by definition; deriving it keeps the two consistent.
    out += "jlis_http_request_duration_seconds_count{";
    append_labels(out, s->route_, s->method_);
    fmt::format_to(it, "}} {}\n", total);
  }
}

}  // namespace jlis::http::internal
