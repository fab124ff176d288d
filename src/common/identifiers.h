// The identifiers of the register, each with its check digit.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace jlis {

// 住民票コード: 11 digits, 10 digits + 1 check digit.
// The check-digit formula is fixed by 総務省告示第436号 (2002); its text was not available to us, so
// this uses modulus 11 with weights 2,3,4,5,6,7,2,3,4,5 from the least significant of the ten
// digits, check = 11 - (sum mod 11), and 0 when the remainder is 0 or 1. One function holds it:
// ResidentCode::check_digit.
class ResidentCode {
 public:
  ResidentCode() = default;  // all zeros: a placeholder, not a parsed value
  // Exactly 11 ASCII digits with a correct check digit.
  static Result<ResidentCode> parse(std::string_view text);
  // From the ten leading digits (0 .. 9,999,999,999): appends the check digit.
  static ResidentCode from_body(uint64_t body);
  static int check_digit(uint64_t body);

  uint64_t body() const { return body_; }  // the ten leading digits
  std::string str() const;                 // 11 digits, zero-padded
  auto operator<=>(const ResidentCode&) const = default;

 private:
  explicit ResidentCode(uint64_t body) : body_(body) {}
  uint64_t body_ = 0;
};

// 個人番号: 12 digits, 11 digits + check digit (番号法施行規則 第5条).
class MyNumber {
 public:
  MyNumber() = default;  // all zeros: a placeholder, not a parsed value
  static Result<MyNumber> parse(std::string_view text);
  static MyNumber from_body(uint64_t body);  // 0 .. 99,999,999,999
  static int check_digit(uint64_t body);

  uint64_t body() const { return body_; }
  std::string str() const;  // 12 digits
  auto operator<=>(const MyNumber&) const = default;

 private:
  explicit MyNumber(uint64_t body) : body_(body) {}
  uint64_t body_ = 0;
};

// 地方公共団体コード (JIS X 0401/0402): 5 digits + check digit (weights 6,5,4,3,2;
// check = (11 - sum mod 11) mod 10). Only the format is checked here (6 ASCII digits, check digit,
// prefecture 01..47); whether the code names a real municipality is ReferenceData's business.
class LocalGovernmentCode {
 public:
  LocalGovernmentCode() = default;  // all zeros: a placeholder, not a parsed value
  static Result<LocalGovernmentCode> parse(std::string_view text);
  static int check_digit(uint32_t body);  // body: the five leading digits

  uint32_t body() const { return body_; }
  std::string str() const;  // 6 digits
  int prefecture() const { return static_cast<int>(body_ / 1000); }  // 1..47
  auto operator<=>(const LocalGovernmentCode&) const = default;

 private:
  explicit LocalGovernmentCode(uint32_t body) : body_(body) {}
  uint32_t body_ = 0;
};

}  // namespace jlis
