// Wall-clock time as the register records it.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"

namespace jlis {

// The current UTC time as ISO 8601 with milliseconds: "2026-11-26T04:12:30.123Z".
std::string now_iso8601();

// A Unix time as ISO 8601 UTC to the second: "2026-11-26T04:12:30Z".
std::string iso8601_seconds(int64_t unix_seconds);

// "YYYY-MM-DDTHH:MM:SSZ" (as iso8601_seconds writes it) as a Unix time; invalid_argument for
// anything else.
Result<int64_t> parse_iso8601_seconds(const std::string& text);

// A Unix time as an HTTP date (RFC 9110 IMF-fixdate): "Thu, 26 Nov 2026 04:12:30 GMT".
std::string http_date(int64_t unix_seconds);

}  // namespace jlis
