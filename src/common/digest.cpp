#include "common/digest.h"

#include <chrono>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstdlib>

namespace jlis {

std::string sha256_hex(std::string_view data) {
  // Fetched once: EVP_sha256() makes every EVP_Digest look the algorithm up again in OpenSSL 3's
  // provider store, under its lock (visible in a profile of token checks under load).
  static EVP_MD* const kSha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (kSha256 == nullptr || EVP_Digest(data.data(), data.size(), md, &len, kSha256, nullptr) != 1) std::abort();
  return to_hex(std::string_view(reinterpret_cast<const char*>(md), len));
}

std::string to_hex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(2 * bytes.size(), '0');
  for (size_t i = 0; i < bytes.size(); ++i) {
    const auto b = static_cast<unsigned char>(bytes[i]);
    out[2 * i] = kHex[b >> 4];
    out[2 * i + 1] = kHex[b & 15];
  }
  return out;
}

Result<std::string> random_hex(size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1)
    return internal_error("no randomness");
  return to_hex(raw);
}

Result<std::string> time_ordered_hex_id() {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  std::string raw(6, '\0');
  for (int i = 0; i < 6; ++i) raw[i] = static_cast<char>((static_cast<uint64_t>(ms) >> (8 * (5 - i))) & 0xff);
  JLIS_ASSIGN_OR_RETURN(std::string random, random_hex(10));
  return to_hex(raw) + random;
}

}  // namespace jlis
