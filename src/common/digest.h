// Message digests, hex and random identifiers.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace jlis {

// SHA-256 of `data` as 64 lower-case hex digits (OpenSSL). Aborts if OpenSSL cannot digest: there is
// no safe answer to give instead.
std::string sha256_hex(std::string_view data);

// `bytes` as lower-case hex, two digits a byte.
std::string to_hex(std::string_view bytes);

// `bytes` random bytes from OpenSSL's DRBG as lower-case hex (ids, token secrets); internal when
// OpenSSL has no randomness to give.
Result<std::string> random_hex(size_t bytes);

}  // namespace jlis
