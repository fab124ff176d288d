// A per-client token bucket: at most `per_minute` events per client key (a peer address) in any
// minute on average, with bursts of up to `per_minute`. Used where a stranger could make the
// server work or probe it without a token (unknown-serial OCSP, release challenges).
// Thread-safe. Memory is bounded: when more than `max_clients` keys are tracked, the buckets that
// have refilled completely (clients that went quiet) are forgotten.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace jlis {

class RateLimiter {
 public:
  using Clock = std::function<int64_t()>;  // milliseconds, monotonic
  // per_minute == 0: no limit (allow() always answers true).
  explicit RateLimiter(uint32_t per_minute, Clock clock = {}, size_t max_clients = 100000);

  // Takes one token from `client`'s bucket; false (and takes nothing) when it is empty.
  bool allow(std::string_view client);
  uint32_t per_minute() const { return per_minute_; }
  // Seconds until `client` has a token again (at least 1), for Retry-After.
  int retry_after_seconds() const;

 private:
  struct Bucket {
    double tokens;
    int64_t at_ms;
  };
  const uint32_t per_minute_;
  Clock clock_;
  const size_t max_clients_;
  std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace jlis
