// FF1 format-preserving encryption (NIST SP 800-38G Rev. 1, section 6.2) with AES.
//
// FF1 is a keyed permutation of the strings of n digits in a radix: encrypting n digits gives n
// digits, and for each (key, radix, n, tweak) the mapping is a bijection. We use it to derive My
// Numbers from resident codes (see my_number_generator.h); it is checked against all nine NIST
// sample vectors (tests/numbering/ff1_test.cpp).
//
// Arithmetic: when radix^ceil(n/2) fits in 64 bits (radix 10: up to 38 digits; radix 36: up to 24)
// the rounds use native 64/128-bit integers and allocate nothing; longer inputs use OpenSSL BIGNUM.
#pragma once

#include <openssl/types.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "common/status.h"

namespace jlis {

class Ff1 {
 public:
  // Largest tweak and input length the spec allows (both are encoded on 4 bytes).
  static constexpr size_t kMaxLength = 0xFFFFFFFF;

  // A cipher with the given AES key (16, 24 or 32 bytes: AES-128/192/256) over digits in
  // 0 .. radix-1, 2 <= radix <= 65536. The key bytes are not retained (only OpenSSL's key schedule,
  // which is wiped when the object is destroyed).
  // Errors: invalid_argument for a bad key size or radix; internal if OpenSSL fails.
  static Result<Ff1> create(std::span<const uint8_t> key, uint32_t radix);

  // Thread-safety: an Ff1 holds a keyed OpenSSL context that every call uses, so one object must
  // not be used by two threads at once (encrypt and decrypt are non-const for that reason). For
  // parallel use give each thread its own clone(). A moved-from Ff1 may only be destroyed or
  // assigned to.
  Ff1(Ff1&&) noexcept;
  Ff1& operator=(Ff1&&) noexcept;
  ~Ff1();

  // An independent cipher with the same key and radix (copies the key schedule; cheap).
  // Errors: internal if OpenSSL fails.
  Result<Ff1> clone() const;

  uint32_t radix() const { return radix_; }
  // The shortest input FF1 accepts for this radix: the least n >= 2 with radix^n >= 1,000,000
  // (6 for radix 10). Shorter domains are too small to be secure and are refused.
  size_t min_length() const { return min_length_; }

  // Encrypts in (each element a digit < radix) under tweak into out. out must have in.size()
  // elements and may alias in (all of in is read before out is written). On error out is
  // unspecified.
  // Errors: invalid_argument if in.size() is outside [min_length(), kMaxLength], a digit is
  // >= radix, out.size() != in.size() or the tweak is longer than kMaxLength; internal if OpenSSL
  // fails.
  Status encrypt(std::span<const uint16_t> in, std::span<const uint8_t> tweak,
                 std::span<uint16_t> out);
  // The inverse of encrypt with the same tweak. Same contract.
  Status decrypt(std::span<const uint16_t> in, std::span<const uint8_t> tweak,
                 std::span<uint16_t> out);

  // For tests only: use the BIGNUM arithmetic for every length, so that it can be checked against
  // the native arithmetic on the same inputs.
  void force_bignum_for_testing(bool on) { force_bignum_ = on; }

 private:
  struct CtxFree {
    void operator()(EVP_CIPHER_CTX* ctx) const;
  };
  using CtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CtxFree>;
  using Block = std::array<uint8_t, 16>;

  // What (n, t) determines; cached because callers encrypt many values of one length and tweak
  // length. CIPH(P) (P depends only on radix, n and t) saves one AES call per value.
  struct Shape {
    size_t n = 0;  // 0: nothing cached yet
    size_t t = 0;
    Block p_mac{};                  // CIPH(P), the CBC-MAC state after P
    bool native = false;            // radix^ceil(n/2) <= 2^64: the 64-bit arithmetic applies
    uint64_t max_u = 0, max_v = 0;  // radix^floor(n/2) - 1 and radix^ceil(n/2) - 1, if native
  };

  Ff1(CtxPtr ctx, uint32_t radix);
  Status run(bool decrypt, std::span<const uint16_t> in, std::span<const uint8_t> tweak,
             std::span<uint16_t> out);
  Status set_shape(size_t n, size_t t);
  // The CBC-MAC state after P and Q's leading `blocks` blocks (tweak and padding only).
  Status prf_prefix(std::span<const uint8_t> tweak, size_t blocks, Block& state);
  Status run_native(bool decrypt, std::span<const uint16_t> in, std::span<const uint8_t> tweak,
                    std::span<uint16_t> out);
  Status run_bignum(bool decrypt, std::span<const uint16_t> in, std::span<const uint8_t> tweak,
                    std::span<uint16_t> out);

  CtxPtr ctx_;
  uint32_t radix_ = 0;
  size_t min_length_ = 0;
  bool force_bignum_ = false;
  Shape shape_;
};

}  // namespace jlis
