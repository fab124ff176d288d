#include "common/clock.h"

#include <chrono>
#include <ctime>

namespace jlis {

std::string now_iso8601() {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(ms % 1000));
  return buf;
}

namespace {

std::string format_utc(int64_t unix_seconds, const char* format) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  return std::string(buf, std::strftime(buf, sizeof buf, format, &tm));
}

}  // namespace

std::string iso8601_seconds(int64_t unix_seconds) { return format_utc(unix_seconds, "%Y-%m-%dT%H:%M:%SZ"); }

Result<int64_t> parse_iso8601_seconds(const std::string& text) {
  std::tm tm{};
  const char* end = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (end == nullptr || *end != '\0' || text.size() != 20)
    return invalid_argument("not a UTC time to the second (YYYY-MM-DDTHH:MM:SSZ): " + text);
  return static_cast<int64_t>(timegm(&tm));
}

std::string http_date(int64_t unix_seconds) { return format_utc(unix_seconds, "%a, %d %b %Y %H:%M:%S GMT"); }

}  // namespace jlis
