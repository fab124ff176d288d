#include "common/digest.h"

#include <array>
#include <atomic>
#include <chrono>
#include <cstring>

#include <pthread.h>

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

namespace {

// Bumped in a forked child, whose copies of the threads' random buffers must not repeat its parent's.
std::atomic<uint64_t> fork_generation{0};
const bool kForkWatched = pthread_atfork(nullptr, nullptr, [] { fork_generation.fetch_add(1); }) == 0;

}  // namespace

Result<std::string> time_ordered_hex_id() {
  constexpr size_t kRandomBytes = 10;
  // The random part comes from a per-thread buffer that RAND_bytes fills 400 ids at a time: one DRBG
  // call per id (with its fork check, a getpid system call) was 6 % of a bulk linkage batch. Without
  // the fork watch (pthread_atfork failed), every id asks the DRBG itself.
  thread_local std::array<unsigned char, 400 * kRandomBytes> buffer;
  thread_local size_t used = buffer.size();
  thread_local uint64_t generation = 0;
  if (const uint64_t now = fork_generation.load(std::memory_order_relaxed); now != generation || !kForkWatched) {
    generation = now;
    used = buffer.size();
  }
  if (used == buffer.size()) {
    const size_t fill = kForkWatched ? buffer.size() : kRandomBytes;
    if (RAND_bytes(buffer.data() + buffer.size() - fill, static_cast<int>(fill)) != 1)
      return internal_error("no randomness");
    used = buffer.size() - fill;
  }
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  char raw[6 + kRandomBytes];
  for (int i = 0; i < 6; ++i) raw[i] = static_cast<char>((static_cast<uint64_t>(ms) >> (8 * (5 - i))) & 0xff);
  std::memcpy(raw + 6, buffer.data() + used, kRandomBytes);
  used += kRandomBytes;
  return to_hex(std::string_view(raw, sizeof raw));
}

}  // namespace jlis
