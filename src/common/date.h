// Calendar dates, Gregorian and Japanese era (和暦).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace jlis {

// Japan's offset from UTC in seconds (JST is UTC+9 all year: no daylight saving time since 1951).
inline constexpr int64_t kJstOffsetSeconds = 9 * 3600;

// A proleptic Gregorian calendar date. Always valid once constructed through from_ymd/parse_iso.
class Date {
 public:
  Date() = default;  // 1970-01-01
  // Fails with invalid_argument for a day that does not exist (2023-02-29) or a year outside 1..9999.
  static Result<Date> from_ymd(int year, int month, int day);
  // "YYYY-MM-DD" exactly.
  static Result<Date> parse_iso(std::string_view text);
  // The first day of the month "YYYY-MM" exactly (a month of notices, of statistics); fails with
  // invalid_argument "the month must be YYYY-MM" on anything else ("2030-13", "2030-3", "2030-01-01").
  static Result<Date> parse_month(std::string_view text);
  // `days_since_epoch` must name a day in years 1..9999 (checked by assert only).
  static Date from_days(int64_t days_since_epoch);
  // Today in Japan (UTC+9).
  static Date today();

  int year() const { return year_; }
  int month() const { return month_; }
  int day() const { return day_; }
  int64_t days_since_epoch() const;
  Date add_days(int64_t days) const { return from_days(days_since_epoch() + days); }
  // The same month and day `years` later; 29 February becomes 28 February in a common year.
  Date add_years(int years) const;
  std::string to_iso() const;  // "2019-05-01"

  auto operator<=>(const Date&) const = default;

 private:
  Date(int y, int m, int d) : year_(y), month_(m), day_(d) {}
  int16_t year_ = 1970;
  int8_t month_ = 1;
  int8_t day_ = 1;
};

// Age in whole years on `on` of someone born on `birth` (the day before a birthday, still the old age).
// Someone born on 29 February reaches each birthday in a common year on 1 March (so 2004-02-29 is 17
// on 2022-02-28 and 18 on 2022-03-01): the law (年齢計算ニ関スル法律) adds the year at the end of
// 28 February, the same instant. Note that birth.add_years(n) gives 28 February for such a person, so
// do not use add_years to find the day an age is reached. Negative when `on` is before `birth`.
int age_on(Date birth, Date on);

enum class Era { meiji, taisho, showa, heisei, reiwa };

// The date in the Japanese era that was current on it. Eras start on: 明治 1868-01-25 (as commonly
// used for computation; dates before it are refused), 大正 1912-07-30, 昭和 1926-12-25,
// 平成 1989-01-08, 令和 2019-05-01.
struct EraDate {
  Era era;
  int year;  // 1 = 元年
  int month;
  int day;
};
Result<EraDate> to_era(Date date);
Result<Date> from_era(const EraDate& era_date);
std::string_view era_name(Era era);  // "令和"
// The era digit of the JPKI profile: 1 明治, 2 大正, 3 昭和, 4 平成, 5 令和.
int era_digit(Era era);
// "令和元年5月1日", "平成31年4月30日".
Result<std::string> format_japanese(Date date);
// Parses "令和元年5月1日" and also full-width digits ("令和２年１２月３日") and "1年" for 元年; the
// date must lie inside the era (平成32年 and 昭和64年1月8日 are refused). No spaces are allowed.
Result<Date> parse_japanese(std::string_view text);

}  // namespace jlis
