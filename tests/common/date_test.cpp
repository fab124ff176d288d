#include "common/date.h"

#include <gtest/gtest.h>

#include <ctime>

namespace jlis {
namespace {

Date D(int y, int m, int d) {
  auto r = Date::from_ymd(y, m, d);
  EXPECT_TRUE(r.ok()) << y << "-" << m << "-" << d;
  return r.ok() ? *r : Date();
}

TEST(Date, FromYmdRefusesDaysThatDoNotExist) {
  EXPECT_TRUE(Date::from_ymd(2024, 2, 29).ok());
  EXPECT_TRUE(Date::from_ymd(2000, 2, 29).ok());
  EXPECT_TRUE(Date::from_ymd(1, 1, 1).ok());
  EXPECT_TRUE(Date::from_ymd(9999, 12, 31).ok());
  for (auto [y, m, d] : {std::tuple{2023, 2, 29},
                         {1900, 2, 29},
                         {2023, 4, 31},
                         {2023, 13, 1},
                         {2023, 0, 1},
                         {2023, 1, 0},
                         {2023, 1, 32},
                         {0, 1, 1},
                         {10000, 1, 1}}) {
    EXPECT_EQ(Date::from_ymd(y, m, d).status().code(), Code::invalid_argument) << y << m << d;
  }
}

TEST(Date, ParseIsoIsStrict) {
  auto d = Date::parse_iso("2019-05-01");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, D(2019, 5, 1));
  EXPECT_EQ(d->to_iso(), "2019-05-01");
  for (const char* bad : {"2019-5-1", "2019-05-01 ", "20190501", "2019/05/01", "２０１９-05-01",
                          "2019-02-30", "0000-01-01", "", "2019-05-0a"}) {
    EXPECT_EQ(Date::parse_iso(bad).status().code(), Code::invalid_argument) << bad;
  }
  EXPECT_EQ(D(7, 3, 9).to_iso(), "0007-03-09");
}

TEST(Date, ParseMonthIsStrict) {
  EXPECT_EQ(Date::parse_month("2030-12").value(), D(2030, 12, 1));
  EXPECT_EQ(Date::parse_month("2031-01").value(), D(2031, 1, 1));
  for (const char* bad : {"2030-13", "2030-00", "2030-3", "2030/01", "", "abcd-ef", "2030-01-01", "0000-01", " 2030-01"})
    EXPECT_EQ(Date::parse_month(bad).status().code(), Code::invalid_argument) << bad;
}

TEST(Date, DaysSinceEpoch) {
  EXPECT_EQ(Date().to_iso(), "1970-01-01");
  EXPECT_EQ(Date().days_since_epoch(), 0);
  EXPECT_EQ(D(2000, 3, 1).days_since_epoch(), 11017);
  EXPECT_EQ(D(1969, 12, 31).days_since_epoch(), -1);
  EXPECT_EQ(Date::from_days(D(1, 1, 1).days_since_epoch()), D(1, 1, 1));
  // Consecutive days are consecutive dates across the whole range the register needs.
  Date prev = D(1799, 12, 31);
  for (int64_t n = prev.days_since_epoch() + 1; n <= D(2200, 1, 1).days_since_epoch(); ++n) {
    Date d = Date::from_days(n);
    ASSERT_EQ(d.days_since_epoch(), n);
    ASSERT_LT(prev, d);
    ASSERT_EQ(prev.add_days(1), d);
    ASSERT_TRUE(Date::from_ymd(d.year(), d.month(), d.day()).ok());
    prev = d;
  }
}

TEST(Date, TodayIsJapanStandardTime) {
  auto jst_today = [] {
    std::time_t now = std::time(nullptr) + 9 * 3600;
    std::tm tm{};
    gmtime_r(&now, &tm);
    return D(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
  };
  Date before = jst_today();
  Date today = Date::today();
  Date after = jst_today();
  EXPECT_TRUE(today == before || today == after) << today.to_iso();
}

TEST(Date, AddYears) {
  EXPECT_EQ(D(2024, 2, 29).add_years(1), D(2025, 2, 28));
  EXPECT_EQ(D(2024, 2, 29).add_years(4), D(2028, 2, 29));
  EXPECT_EQ(D(2024, 2, 29).add_years(-1), D(2023, 2, 28));
  EXPECT_EQ(D(2006, 4, 2).add_years(18), D(2024, 4, 2));
}

TEST(Date, AgeOn) {
  Date birth = D(2006, 4, 2);
  EXPECT_EQ(age_on(birth, D(2024, 4, 1)), 17);  // the day before the 18th birthday
  EXPECT_EQ(age_on(birth, D(2024, 4, 2)), 18);
  EXPECT_EQ(age_on(birth, D(2006, 4, 2)), 0);
  EXPECT_EQ(age_on(birth, D(2007, 4, 1)), 0);
  EXPECT_EQ(age_on(birth, D(2006, 4, 1)), -1);  // before birth
  EXPECT_LT(age_on(birth, D(2000, 1, 1)), 0);
}

TEST(Date, AgeOnForA29FebruaryBirth) {
  // Reached on 1 March in common years (documented in date.h), on 29 February in leap years.
  Date birth = D(2004, 2, 29);
  EXPECT_EQ(age_on(birth, D(2022, 2, 28)), 17);
  EXPECT_EQ(age_on(birth, D(2022, 3, 1)), 18);
  EXPECT_EQ(age_on(birth, D(2024, 2, 28)), 19);
  EXPECT_EQ(age_on(birth, D(2024, 2, 29)), 20);
}

// ---- Japanese eras --------------------------------------------------------------------------

struct EraCase {
  Date date;
  const char* text;
  Era era;
  int year;
};

TEST(Era, BoundariesAndGannen) {
  const EraCase cases[] = {
      {D(1868, 1, 25), "明治元年1月25日", Era::meiji, 1},
      {D(1912, 7, 29), "明治45年7月29日", Era::meiji, 45},
      {D(1912, 7, 30), "大正元年7月30日", Era::taisho, 1},
      {D(1926, 12, 24), "大正15年12月24日", Era::taisho, 15},
      {D(1926, 12, 25), "昭和元年12月25日", Era::showa, 1},
      {D(1989, 1, 7), "昭和64年1月7日", Era::showa, 64},
      {D(1989, 1, 8), "平成元年1月8日", Era::heisei, 1},
      {D(2019, 4, 30), "平成31年4月30日", Era::heisei, 31},
      {D(2019, 5, 1), "令和元年5月1日", Era::reiwa, 1},
      {D(2020, 12, 3), "令和2年12月3日", Era::reiwa, 2},
  };
  for (const EraCase& c : cases) {
    auto era = to_era(c.date);
    ASSERT_TRUE(era.ok()) << c.text;
    EXPECT_EQ(era->era, c.era) << c.text;
    EXPECT_EQ(era->year, c.year) << c.text;
    EXPECT_EQ(era->month, c.date.month());
    EXPECT_EQ(era->day, c.date.day());
    auto text = format_japanese(c.date);
    ASSERT_TRUE(text.ok());
    EXPECT_EQ(*text, c.text);
    auto parsed = parse_japanese(c.text);
    ASSERT_TRUE(parsed.ok()) << c.text << ": " << parsed.status().to_string();
    EXPECT_EQ(*parsed, c.date) << c.text;
    auto back = from_era(*era);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, c.date);
  }
}

TEST(Era, BeforeMeijiIsRefused) {
  EXPECT_EQ(to_era(D(1868, 1, 24)).status().code(), Code::invalid_argument);
  EXPECT_EQ(format_japanese(D(1800, 1, 1)).status().code(), Code::invalid_argument);
  EXPECT_FALSE(parse_japanese("明治元年1月24日").ok());
}

TEST(Era, NamesAndDigits) {
  EXPECT_EQ(era_name(Era::meiji), "明治");
  EXPECT_EQ(era_name(Era::reiwa), "令和");
  EXPECT_EQ(era_digit(Era::meiji), 1);
  EXPECT_EQ(era_digit(Era::taisho), 2);
  EXPECT_EQ(era_digit(Era::showa), 3);
  EXPECT_EQ(era_digit(Era::heisei), 4);
  EXPECT_EQ(era_digit(Era::reiwa), 5);
}

TEST(Era, ParseAcceptsFullWidthDigitsAnd1Nen) {
  auto d = parse_japanese("令和２年１２月３日");
  ASSERT_TRUE(d.ok()) << d.status().to_string();
  EXPECT_EQ(*d, D(2020, 12, 3));
  EXPECT_EQ(*parse_japanese("令和1年5月1日"), D(2019, 5, 1));
  EXPECT_EQ(*parse_japanese("平成１年１月８日"), D(1989, 1, 8));
  EXPECT_EQ(*parse_japanese("昭和64年01月07日"), D(1989, 1, 7));
}

TEST(Era, ParseRefusesDatesOutsideTheEraAndMalformedText) {
  for (const char* bad :
       {"平成32年1月1日", "昭和64年1月8日", "平成元年1月7日", "令和元年4月30日", "平成31年5月1日",
        "大正元年7月29日", "令和0年5月1日", "令和元年2月30日", "令和元年5月1日 ", " 令和元年5月1日",
        "令和元年5月1", "令和年5月1日", "西暦2020年1月1日", "令和元年5月1日日", "",
        "令和元年13月1日", "令和99999年1月1日"}) {
    EXPECT_EQ(parse_japanese(bad).status().code(), Code::invalid_argument) << bad;
  }
  EXPECT_FALSE(from_era(EraDate{Era::heisei, 32, 1, 1}).ok());
  EXPECT_FALSE(from_era(EraDate{Era::showa, 0, 12, 25}).ok());
}

TEST(Era, EveryDayRoundTripsThroughJapaneseText) {
  for (int64_t n = D(1868, 1, 25).days_since_epoch(); n <= D(2100, 12, 31).days_since_epoch();
       ++n) {
    Date d = Date::from_days(n);
    auto text = format_japanese(d);
    ASSERT_TRUE(text.ok()) << d.to_iso();
    auto back = parse_japanese(*text);
    ASSERT_TRUE(back.ok()) << *text;
    ASSERT_EQ(*back, d) << *text;
  }
}

}  // namespace
}  // namespace jlis
