#include "card/validity.h"

#include <algorithm>

namespace jlis::card {
namespace {

const Date kMajorityAt18 = Date::from_ymd(2022, 4, 1).value();

}  // namespace

Date birthday(Date birth, int age) {
  auto d = Date::from_ymd(birth.year() + age, birth.month(), birth.day());
  if (d.ok()) return *d;
  return Date::from_ymd(birth.year() + age, 3, 1).value();  // 29 February in a common year
}

Date nth_birthday_after(Date birth, Date day, int n) { return birthday(birth, age_on(birth, day) + n); }

Date add_months(Date date, int months) {
  int index = date.year() * 12 + (date.month() - 1) + months;
  int year = index / 12, month = index % 12 + 1;
  for (int day = date.day();; --day) {
    auto d = Date::from_ymd(year, month, day);
    if (d.ok()) return *d;
  }
}

CardValidity card_validity(Date birth, Date issued_on, Date applied_on) {
  const int majority = applied_on < kMajorityAt18 ? 20 : 18;
  const bool adult = age_on(birth, issued_on) >= majority;
  return {nth_birthday_after(birth, issued_on, adult ? 10 : 5), adult};
}

CertificateValidity certificate_validity(Date birth, Date delivered_on, Date card_expires_on) {
  return {std::min(nth_birthday_after(birth, delivered_on, 5), card_expires_on), age_on(birth, delivered_on) >= 15};
}

}  // namespace jlis::card
