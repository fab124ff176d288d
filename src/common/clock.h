// Wall-clock time as the register records it.
#pragma once

#include <string>

namespace jlis {

// The current UTC time as ISO 8601 with milliseconds: "2026-11-26T04:12:30.123Z".
std::string now_iso8601();

}  // namespace jlis
