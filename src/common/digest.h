// Message digests.
#pragma once

#include <string>
#include <string_view>

namespace jlis {

// SHA-256 of `data` as 64 lower-case hex digits (OpenSSL). Aborts if OpenSSL cannot digest: there is
// no safe answer to give instead.
std::string sha256_hex(std::string_view data);

}  // namespace jlis
