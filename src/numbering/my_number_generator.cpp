#include "numbering/my_number_generator.h"

#include <openssl/rand.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <utility>

namespace jlis {
namespace {
constexpr size_t kDigits = 11;  // resident code digits in = My Number body digits out
}  // namespace

struct MyNumberGenerator::State {
  explicit State(Ff1 f) : ff1(std::move(f)) {}
  std::mutex mu;
  Ff1 ff1;  // guarded by mu: its AES context is not safe for concurrent use
};

MyNumberGenerator::MyNumberGenerator(std::unique_ptr<State> state) : state_(std::move(state)) {}
MyNumberGenerator::MyNumberGenerator(MyNumberGenerator&&) noexcept = default;
MyNumberGenerator& MyNumberGenerator::operator=(MyNumberGenerator&&) noexcept = default;
MyNumberGenerator::~MyNumberGenerator() = default;

Result<MyNumberGenerator> MyNumberGenerator::create(std::span<const uint8_t> key) {
  if (key.size() != kKeySize) return invalid_argument("my number key must be 32 bytes");
  JLIS_ASSIGN_OR_RETURN(Ff1 ff1, Ff1::create(key, 10));
  return MyNumberGenerator(std::make_unique<State>(std::move(ff1)));
}

std::array<uint8_t, MyNumberGenerator::kKeySize> MyNumberGenerator::new_key() {
  std::array<uint8_t, kKeySize> key;
  if (RAND_bytes(key.data(), static_cast<int>(key.size())) != 1) {
    std::fputs("fatal: RAND_bytes failed generating a My Number key\n", stderr);
    std::abort();
  }
  return key;
}

MyNumber MyNumberGenerator::generate(ResidentCode code) const {
  // All 11 digits, check digit included, so the domain is the full 11-digit space and FF1 is a
  // bijection on it.
  uint64_t value = code.body() * 10 + static_cast<uint64_t>(ResidentCode::check_digit(code.body()));
  std::array<uint16_t, kDigits> digits;
  for (size_t i = kDigits; i-- > 0;) {
    digits[i] = static_cast<uint16_t>(value % 10);
    value /= 10;
  }
  Status s;
  {
    std::lock_guard lock(state_->mu);
    s = state_->ff1.encrypt(digits, {}, digits);
  }
  if (!s.is_ok()) {
    std::fprintf(stderr, "fatal: My Number generation failed: %s\n", s.to_string().c_str());
    std::abort();
  }
  uint64_t body = 0;
  for (uint16_t d : digits) body = body * 10 + d;
  return MyNumber::from_body(body);
}

Result<MyNumberGenerator> MyNumberGenerator::clone() const {
  std::lock_guard lock(state_->mu);
  JLIS_ASSIGN_OR_RETURN(Ff1 ff1, state_->ff1.clone());
  return MyNumberGenerator(std::make_unique<State>(std::move(ff1)));
}

}  // namespace jlis
