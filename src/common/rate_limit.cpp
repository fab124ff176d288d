#include "common/rate_limit.h"

#include <algorithm>
#include <cmath>

namespace jlis {

RateLimiter::RateLimiter(uint32_t per_minute, Clock clock, size_t max_clients)
    : per_minute_(per_minute), clock_(std::move(clock)), max_clients_(std::max<size_t>(max_clients, 1)) {
  if (!clock_) {
    clock_ = [] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::steady_clock::now().time_since_epoch())
          .count();
    };
  }
}

bool RateLimiter::allow(std::string_view client) {
  if (per_minute_ == 0) return true;
  const int64_t now = clock_();
  const double capacity = per_minute_, per_ms = per_minute_ / 60000.0;
  std::lock_guard lock(mu_);
  auto it = buckets_.find(std::string(client));
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_clients_) {
      // Forget the clients whose buckets are full again: they lose nothing.
      std::erase_if(buckets_, [&](const auto& kv) {
        return kv.second.tokens + static_cast<double>(now - kv.second.at_ms) * per_ms >= capacity;
      });
    }
    it = buckets_.emplace(std::string(client), Bucket{capacity, now}).first;
  }
  Bucket& b = it->second;
  b.tokens = std::min(capacity, b.tokens + static_cast<double>(std::max<int64_t>(now - b.at_ms, 0)) * per_ms);
  b.at_ms = std::max(b.at_ms, now);
  if (b.tokens < 1.0) return false;
  b.tokens -= 1.0;
  return true;
}

int RateLimiter::retry_after_seconds() const {
  if (per_minute_ == 0) return 1;
  return std::max(1, static_cast<int>(std::ceil(60.0 / per_minute_)));
}

}  // namespace jlis
