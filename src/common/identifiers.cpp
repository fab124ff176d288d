#include "common/identifiers.h"

#include <cassert>

namespace jlis {
namespace {

// Reads exactly `width` ASCII digits. Full-width digits and signs are refused on purpose: an
// identifier is stored and compared in one spelling only; callers that accept typed input NFKC it.
bool parse_digits(std::string_view text, size_t width, uint64_t* value) {
  if (text.size() != width) return false;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  *value = v;
  return true;
}

std::string zero_padded(uint64_t value, size_t width) {
  std::string s(width, '0');
  for (size_t i = width; i-- > 0 && value > 0; value /= 10)
    s[i] = static_cast<char>('0' + value % 10);
  return s;
}

constexpr uint64_t kResidentBodyLimit = 10'000'000'000ULL;   // ten digits
constexpr uint64_t kMyNumberBodyLimit = 100'000'000'000ULL;  // eleven digits

}  // namespace

// ---- 住民票コード
// --------------------------------------------------------------------------------

int ResidentCode::check_digit(uint64_t body) {
  assert(body < kResidentBodyLimit);
  static constexpr int kWeights[10] = {2, 3, 4, 5, 6, 7, 2, 3, 4, 5};  // least significant first
  int sum = 0;
  for (int w : kWeights) {
    sum += static_cast<int>(body % 10) * w;
    body /= 10;
  }
  int r = sum % 11;
  return r <= 1 ? 0 : 11 - r;
}

Result<ResidentCode> ResidentCode::parse(std::string_view text) {
  uint64_t v = 0;
  if (!parse_digits(text, 11, &v)) return invalid_argument("resident code is not 11 digits");
  uint64_t body = v / 10;
  if (static_cast<int>(v % 10) != check_digit(body)) {
    return invalid_argument("resident code has a wrong check digit");
  }
  return ResidentCode(body);
}

ResidentCode ResidentCode::from_body(uint64_t body) {
  assert(body < kResidentBodyLimit);
  return ResidentCode(body);
}

std::string ResidentCode::str() const {
  return zero_padded(body_ * 10 + static_cast<uint64_t>(check_digit(body_)), 11);
}

// ---- 個人番号 -----------------------------------------------------------------------------------

int MyNumber::check_digit(uint64_t body) {
  assert(body < kMyNumberBodyLimit);
  // 番号法施行規則 第5条: P_n is the n-th digit from the least significant, Q_n = n+1 (n ≤ 6) or
  // n-5 (n ≥ 7).
  int sum = 0;
  for (int n = 1; n <= 11; ++n) {
    int q = n <= 6 ? n + 1 : n - 5;
    sum += static_cast<int>(body % 10) * q;
    body /= 10;
  }
  int r = sum % 11;
  return r <= 1 ? 0 : 11 - r;
}

Result<MyNumber> MyNumber::parse(std::string_view text) {
  uint64_t v = 0;
  if (!parse_digits(text, 12, &v)) return invalid_argument("my number is not 12 digits");
  uint64_t body = v / 10;
  if (static_cast<int>(v % 10) != check_digit(body)) {
    return invalid_argument("my number has a wrong check digit");
  }
  return MyNumber(body);
}

MyNumber MyNumber::from_body(uint64_t body) {
  assert(body < kMyNumberBodyLimit);
  return MyNumber(body);
}

std::string MyNumber::str() const {
  return zero_padded(body_ * 10 + static_cast<uint64_t>(check_digit(body_)), 12);
}

// ---- 地方公共団体コード
// ---------------------------------------------------------------------------

int LocalGovernmentCode::check_digit(uint32_t body) {
  assert(body < 100'000);
  // Weights 6,5,4,3,2 from the most significant digit, applied here from the least significant.
  static constexpr int kWeights[5] = {2, 3, 4, 5, 6};
  int sum = 0;
  for (int w : kWeights) {
    sum += static_cast<int>(body % 10) * w;
    body /= 10;
  }
  return (11 - sum % 11) % 10;
}

Result<LocalGovernmentCode> LocalGovernmentCode::parse(std::string_view text) {
  uint64_t v = 0;
  if (!parse_digits(text, 6, &v)) return invalid_argument("local government code is not 6 digits");
  auto body = static_cast<uint32_t>(v / 10);
  if (static_cast<int>(v % 10) != check_digit(body)) {
    return invalid_argument("local government code has a wrong check digit");
  }
  int prefecture = static_cast<int>(body / 1000);
  if (prefecture < 1 || prefecture > 47) {
    return invalid_argument("local government code names no prefecture (01..47)");
  }
  return LocalGovernmentCode(body);
}

std::string LocalGovernmentCode::str() const {
  return zero_padded(uint64_t{body_} * 10 + static_cast<uint64_t>(check_digit(body_)), 6);
}

}  // namespace jlis
