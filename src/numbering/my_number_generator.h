// Derives a person's My Number (個人番号) from their resident code (住民票コード).
//
// The 11 digits of the resident code (its 10 digits and its check digit) are encrypted with
// FF1-AES-256, radix 10, empty tweak, into 11 digits; the statutory check digit is appended
// (MyNumber::from_body) to make the 12-digit My Number. Why this construction:
//  - Keyed and secret: without the key the My Number cannot be computed from the resident code,
//    nor the resident code recovered from the My Number (番号法 第8条: the My Number must have no
//    regularity from which the resident code could be restored). Protect the key like a signing
//    key; losing it means numbers can no longer be derived, leaking it exposes the mapping.
//  - A bijection over 00000000000..99999999999, hence injective on resident codes: two people
//    never get the same My Number, with no lookup table and no retry loop.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>

#include "common/identifiers.h"
#include "common/status.h"
#include "numbering/ff1.h"

namespace jlis {

class MyNumberGenerator {
 public:
  static constexpr size_t kKeySize = 32;  // AES-256

  // A generator keyed with `key` (kKeySize bytes, e.g. from new_key()). The key bytes are not
  // retained (only the AES key schedule, wiped on destruction); the caller owns and stores them.
  // Errors: invalid_argument if the key is not kKeySize bytes; internal if OpenSSL fails.
  static Result<MyNumberGenerator> create(std::span<const uint8_t> key);

  // A fresh random key from OpenSSL's CSPRNG. Aborts the process if the CSPRNG fails: there is no
  // safe fallback, and a weak key would be permanent. The caller should wipe it after storing it
  // (OPENSSL_cleanse).
  static std::array<uint8_t, kKeySize> new_key();

  MyNumberGenerator(MyNumberGenerator&&) noexcept;
  MyNumberGenerator& operator=(MyNumberGenerator&&) noexcept;
  ~MyNumberGenerator();

  // The My Number of the person with this resident code. Deterministic for a given key.
  // Thread-safe: calls are serialised by an internal mutex (uncontended cost is small against the
  // ten AES calls). For parallel bulk generation give each thread its own clone().
  // An OpenSSL failure here (not expected once create() succeeded) aborts the process rather than
  // return a wrong number.
  MyNumber generate(ResidentCode code) const;

  // An independent generator with the same key. Errors: internal if OpenSSL fails.
  Result<MyNumberGenerator> clone() const;

 private:
  struct State;
  explicit MyNumberGenerator(std::unique_ptr<State> state);

  std::unique_ptr<State> state_;  // behind a pointer so the mutex can move; null once moved from
};

}  // namespace jlis
