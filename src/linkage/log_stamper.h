// The message log's time-stamping while `jlis serve` runs (issue 11 §3: periodically time-stamped,
// an outage never blocks traffic, time-stamp later and alarm).
//
// A thread stamps the log's head (stamp_log) every interval, off the writer: appends never wait for
// it. A failed stamp (the authority down or refusing) is logged and counted, and the next interval
// tries again; nothing else is held up. metrics() gives /metrics the alarm and the log's growth:
//   jlis_linkage_log_entries, jlis_linkage_log_bytes (in the store, not archived),
//   jlis_linkage_log_unstamped_seconds (age of the oldest entry no stamp covers; 0 when none: alert
//     when it passes a few intervals),
//   jlis_linkage_log_stamps_total{outcome="stamped|failed"}.
#pragma once

#include <atomic>
#include <chrono>
#include <string>

#include "common/background_loop.h"
#include "linkage/message_log.h"
#include "store/database.h"
#include "store/writer.h"

namespace jlis::linkage {

class LogStamper {
 public:
  // Starts stamping every `interval`; the first stamp comes one interval after the start. Not owned:
  // `pool` and `writer` must outlive this.
  LogStamper(store::Pool& pool, store::Writer& writer, TimeStampService tsa, std::chrono::milliseconds interval);
  // Destroying it stops the thread (an ongoing stamp finishes first).
  LogStamper(const LogStamper&) = delete;
  LogStamper& operator=(const LogStamper&) = delete;

  // Stamps the head now, as the thread does. The authority's or the store's failure, counted.
  Status stamp_now();
  // Prometheus text lines (above); the store's error when the log cannot be read.
  Result<std::string> metrics();

 private:
  store::Pool& pool_;
  store::Writer& writer_;
  TimeStampService tsa_;
  std::chrono::milliseconds interval_;
  std::atomic<int64_t> stamped_{0}, failed_{0};
  BackgroundLoop loop_;  // last: stops first
};

}  // namespace jlis::linkage
