#include "linkage/log_stamper.h"

#include <spdlog/spdlog.h>

#include <ctime>

#include "common/clock.h"

namespace jlis::linkage {

LogStamper::LogStamper(store::Pool& pool, store::Writer& writer, TimeStampService tsa,
                       std::chrono::milliseconds interval)
    : pool_(pool),
      writer_(writer),
      tsa_(std::move(tsa)),
      interval_(interval),
      loop_(
          [this] {
            Status s = stamp_now();
            if (!s.is_ok())
              spdlog::warn("linkage: the message log's time-stamp failed (tried again in {} ms): {}",
                           interval_.count(), s.message());
            return false;
          },
          interval, true) {}

Status LogStamper::stamp_now() {
  auto stamp = stamp_log(pool_, writer_, tsa_, now_iso8601());
  if (!stamp.ok()) {
    ++failed_;
    return stamp.status();
  }
  if (*stamp) ++stamped_;
  return Status::ok();
}

Result<std::string> LogStamper::metrics() {
  JLIS_ASSIGN_OR_RETURN(auto conn, pool_.acquire());
  JLIS_ASSIGN_OR_RETURN(LogState state, log_state(*conn));
  int64_t unstamped = 0;
  if (state.oldest_unstamped_at) {
    JLIS_ASSIGN_OR_RETURN(int64_t since, parse_iso8601_seconds(*state.oldest_unstamped_at));
    unstamped = std::max<int64_t>(0, static_cast<int64_t>(std::time(nullptr)) - since);
  }
  return "# TYPE jlis_linkage_log_entries gauge\njlis_linkage_log_entries " + std::to_string(state.entries) +
         "\n# TYPE jlis_linkage_log_bytes gauge\njlis_linkage_log_bytes " + std::to_string(state.bytes) +
         "\n# TYPE jlis_linkage_log_unstamped_seconds gauge\njlis_linkage_log_unstamped_seconds " +
         std::to_string(unstamped) +
         "\n# TYPE jlis_linkage_log_stamps_total counter\njlis_linkage_log_stamps_total{outcome=\"stamped\"} " +
         std::to_string(stamped_.load()) + "\njlis_linkage_log_stamps_total{outcome=\"failed\"} " +
         std::to_string(failed_.load()) + "\n";
}

}  // namespace jlis::linkage
