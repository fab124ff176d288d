#include "common/date.h"

#include <array>
#include <cassert>
#include <chrono>

namespace jlis {
namespace {

bool is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int days_in_month(int y, int m) {
  static constexpr int kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

// Howard Hinnant's days_from_civil / civil_from_days: exact for the proleptic Gregorian calendar.
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

struct Ymd {
  int y, m, d;
};

Ymd civil_from_days(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400 + (m <= 2);
  return {static_cast<int>(y), static_cast<int>(m), static_cast<int>(d)};
}

struct EraInfo {
  Era era;
  std::string_view name;
  int y, m, d;  // first day
};
constexpr std::array<EraInfo, 5> kEras = {{
    {Era::meiji, "明治", 1868, 1, 25},
    {Era::taisho, "大正", 1912, 7, 30},
    {Era::showa, "昭和", 1926, 12, 25},
    {Era::heisei, "平成", 1989, 1, 8},
    {Era::reiwa, "令和", 2019, 5, 1},
}};

int64_t era_start(size_t i) { return days_from_civil(kEras[i].y, kEras[i].m, kEras[i].d); }

// Reads ASCII or full-width (U+FF10..FF19) decimal digits at the front of `s`; at most 4 so no
// overflow. Returns false when there is none.
bool take_number(std::string_view& s, int* value) {
  int v = 0, n = 0;
  while (n < 4) {
    if (!s.empty() && s[0] >= '0' && s[0] <= '9') {
      v = v * 10 + (s[0] - '0');
      s.remove_prefix(1);
    } else if (s.size() >= 3 && s.substr(0, 2) == "\xEF\xBC" &&
               static_cast<unsigned char>(s[2]) >= 0x90 &&
               static_cast<unsigned char>(s[2]) <= 0x99) {  // ０..９ = EF BC 90..99
      v = v * 10 + (static_cast<unsigned char>(s[2]) - 0x90);
      s.remove_prefix(3);
    } else {
      break;
    }
    ++n;
  }
  *value = v;
  return n > 0;
}

bool take(std::string_view& s, std::string_view prefix) {
  if (s.substr(0, prefix.size()) != prefix) return false;
  s.remove_prefix(prefix.size());
  return true;
}

}  // namespace

Result<Date> Date::from_ymd(int year, int month, int day) {
  if (year < 1 || year > 9999 || month < 1 || month > 12 || day < 1 ||
      day > days_in_month(year, month)) {
    return invalid_argument("no such date");
  }
  return Date(year, month, day);
}

Result<Date> Date::parse_month(std::string_view text) {
  auto bad = invalid_argument("the month must be YYYY-MM");
  if (text.size() != 7 || text[4] != '-') return bad;
  int year = 0, month = 0;
  for (size_t i : {0, 1, 2, 3}) {
    if (text[i] < '0' || text[i] > '9') return bad;
    year = year * 10 + (text[i] - '0');
  }
  for (size_t i : {5, 6}) {
    if (text[i] < '0' || text[i] > '9') return bad;
    month = month * 10 + (text[i] - '0');
  }
  auto first = from_ymd(year, month, 1);
  if (!first.ok()) return bad;
  return *first;
}

Result<Date> Date::parse_iso(std::string_view text) {
  auto digits = [&](size_t pos, size_t n, int* out) {
    int v = 0;
    for (size_t i = pos; i < pos + n; ++i) {
      if (text[i] < '0' || text[i] > '9') return false;
      v = v * 10 + (text[i] - '0');
    }
    *out = v;
    return true;
  };
  int y = 0, m = 0, d = 0;
  if (text.size() != 10 || text[4] != '-' || text[7] != '-' || !digits(0, 4, &y) ||
      !digits(5, 2, &m) || !digits(8, 2, &d)) {
    return invalid_argument("date is not YYYY-MM-DD");
  }
  return from_ymd(y, m, d);
}

Date Date::from_days(int64_t days_since_epoch) {
  Ymd c = civil_from_days(days_since_epoch);
  assert(c.y >= 1 && c.y <= 9999);
  return Date(c.y, c.m, c.d);
}

Date Date::today() {
  using namespace std::chrono;
  // Japan has had no daylight saving time since 1951, so JST is UTC+9 all year.
  auto jst = system_clock::now() + hours(9);
  return from_days(floor<days>(jst).time_since_epoch().count());
}

int64_t Date::days_since_epoch() const {
  return days_from_civil(year_, static_cast<unsigned>(month_), static_cast<unsigned>(day_));
}

Date Date::add_years(int years) const {
  int y = year_ + years;
  assert(y >= 1 && y <= 9999);
  int d = day_;
  if (month_ == 2 && d == 29 && !is_leap(y)) d = 28;
  return Date(y, month_, d);
}

std::string Date::to_iso() const {
  char buf[11];
  buf[0] = static_cast<char>('0' + year_ / 1000);
  buf[1] = static_cast<char>('0' + year_ / 100 % 10);
  buf[2] = static_cast<char>('0' + year_ / 10 % 10);
  buf[3] = static_cast<char>('0' + year_ % 10);
  buf[4] = '-';
  buf[5] = static_cast<char>('0' + month_ / 10);
  buf[6] = static_cast<char>('0' + month_ % 10);
  buf[7] = '-';
  buf[8] = static_cast<char>('0' + day_ / 10);
  buf[9] = static_cast<char>('0' + day_ % 10);
  return std::string(buf, 10);
}

int age_on(Date birth, Date on) {
  // Comparing (month, day) makes a 29 February birthday count as reached on 1 March in a common
  // year, the same instant as the legal rule (年齢計算ニ関スル法律: the age increases at the end of
  // the day before the birthday, 28 February).
  int age = on.year() - birth.year();
  if (on.month() < birth.month() || (on.month() == birth.month() && on.day() < birth.day())) --age;
  return age;
}

Result<EraDate> to_era(Date date) {
  int64_t days = date.days_since_epoch();
  for (size_t i = kEras.size(); i-- > 0;) {
    if (days >= era_start(i)) {
      return EraDate{kEras[i].era, date.year() - kEras[i].y + 1, date.month(), date.day()};
    }
  }
  return invalid_argument("date is before the Meiji era");
}

Result<Date> from_era(const EraDate& era_date) {
  auto i = static_cast<size_t>(era_date.era);
  if (i >= kEras.size() || era_date.year < 1 || era_date.year > 9999) {
    return invalid_argument("no such era year");
  }
  JLIS_ASSIGN_OR_RETURN(
      Date date, Date::from_ymd(kEras[i].y + era_date.year - 1, era_date.month, era_date.day));
  int64_t days = date.days_since_epoch();
  if (days < era_start(i) || (i + 1 < kEras.size() && days >= era_start(i + 1))) {
    return invalid_argument("date lies outside the era");
  }
  return date;
}

std::string_view era_name(Era era) { return kEras[static_cast<size_t>(era)].name; }

int era_digit(Era era) { return static_cast<int>(era) + 1; }

Result<std::string> format_japanese(Date date) {
  JLIS_ASSIGN_OR_RETURN(EraDate e, to_era(date));
  std::string out(era_name(e.era));
  out += e.year == 1 ? "元" : std::to_string(e.year);
  out += "年" + std::to_string(e.month) + "月" + std::to_string(e.day) + "日";
  return out;
}

Result<Date> parse_japanese(std::string_view text) {
  std::string_view s = text;
  const EraInfo* era = nullptr;
  for (const EraInfo& info : kEras) {
    if (take(s, info.name)) {
      era = &info;
      break;
    }
  }
  int y = 1, m = 0, d = 0;
  bool year_ok = take(s, "元") || take_number(s, &y);
  if (era == nullptr || !year_ok || !take(s, "年") || !take_number(s, &m) || !take(s, "月") ||
      !take_number(s, &d) || !take(s, "日") || !s.empty()) {
    return invalid_argument("date is not like 令和元年5月1日");
  }
  return from_era(EraDate{era->era, y, m, d});
}

}  // namespace jlis
