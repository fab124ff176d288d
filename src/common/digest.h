// Message digests, hex and random identifiers.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace jlis {

// SHA-256 of `data` as 64 lower-case hex digits (OpenSSL). Aborts if OpenSSL cannot digest: there is
// no safe answer to give instead.
std::string sha256_hex(std::string_view data);

// FNV-1a (64-bit) of `data`, continuing from `h`: a fast, stable, non-cryptographic hash for seeding
// reproducible choices (never for anything an attacker may choose to collide).
inline uint64_t fnv1a(std::string_view data, uint64_t h = 0xCBF29CE484222325ULL) {
  for (unsigned char c : data) h = (h ^ c) * 0x100000001B3ULL;
  return h;
}

// `bytes` as lower-case hex, two digits a byte.
std::string to_hex(std::string_view bytes);

// `bytes` random bytes from OpenSSL's DRBG as lower-case hex (ids, token secrets); internal when
// OpenSSL has no randomness to give.
Result<std::string> random_hex(size_t bytes);

// An id of 32 lower-case hex digits laid out as UUIDv7 lays out its bits: the first 12 digits the
// milliseconds since the epoch, the other 20 random (80 bits). For the ids of rows written at a high
// rate: an index on it grows at its end, not at random pages. internal as random_hex.
Result<std::string> time_ordered_hex_id();

}  // namespace jlis
