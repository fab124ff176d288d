// My Numbers derived per second in one thread (FF1-AES-256 over the 11-digit resident code plus the
// check digit, as numbering::Numbering::derive does), beside raw AES-256 block encryptions per second
// in the same run. FF1 with 11 digits needs 10 AES calls per number (one per Feistel round; the
// CBC-MAC of the constant block P is cached), so the ideal is aes_rate / 10.
// Usage: my_number_rate [numbers_per_round=200000] [rounds=7]. Prints medians of the rounds.
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "numbering/numbering.h"

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const long n = argc > 1 ? std::atol(argv[1]) : 200000;
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 7;
  if (n <= 0 || rounds <= 0) {
    std::fprintf(stderr, "usage: my_number_rate [numbers_per_round] [rounds]\n");
    return 2;
  }
  std::array<uint8_t, 32> key{};
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(i * 7 + 1);
  auto numbering = jlis::numbering::Numbering::create(key);
  if (!numbering.ok()) {
    std::fprintf(stderr, "%s\n", numbering.status().to_string().c_str());
    return 1;
  }

  // Raw AES-256: one-block ECB encryptions, the primitive FF1 calls (a block chained into the next,
  // so the calls cannot be batched by the library any more than FF1's can).
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  if (!ctx || EVP_EncryptInit_ex(ctx, EVP_aes_256_ecb(), nullptr, key.data(), nullptr) != 1) return 1;
  EVP_CIPHER_CTX_set_padding(ctx, 0);
  const long aes_calls = n * 10;
  std::vector<double> aes_rates, mn_rates;
  uint64_t sink = 0;
  for (int r = 0; r < rounds; ++r) {
    std::array<uint8_t, 16> block{};
    block[0] = static_cast<uint8_t>(r);
    auto start = std::chrono::steady_clock::now();
    for (long i = 0; i < aes_calls; ++i) {
      int len = 0;
      if (EVP_EncryptUpdate(ctx, block.data(), &len, block.data(), 16) != 1) return 1;
    }
    aes_rates.push_back(static_cast<double>(aes_calls) / seconds_since(start));
    sink += block[3];

    start = std::chrono::steady_clock::now();
    for (long i = 0; i < n; ++i) {
      auto code = jlis::ResidentCode::from_body(static_cast<uint64_t>(i) * 7919 % 10'000'000'000ULL);
      sink += (*numbering)->derive(code, 0).body();
    }
    mn_rates.push_back(static_cast<double>(n) / seconds_since(start));
  }
  EVP_CIPHER_CTX_free(ctx);
  const double aes = median(aes_rates), mn = median(mn_rates);
  std::printf("rounds: %d, %ld My Numbers and %ld AES blocks per round, one thread\n", rounds, n, aes_calls);
  std::printf("aes256_blocks_per_s %.0f\n", aes);
  std::printf("my_numbers_per_s %.0f\n", mn);
  std::printf("ideal_my_numbers_per_s %.0f (aes / 10)\n", aes / 10);
  std::printf("ratio_to_ideal %.3f\n", mn / (aes / 10));
  std::fprintf(stderr, "(checksum %llu)\n", static_cast<unsigned long long>(sink));
  return 0;
}
