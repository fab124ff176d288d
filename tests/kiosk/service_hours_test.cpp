// The centre's service hours (kiosk/service_hours.h): open 6:30 to 23:00 Japan time, closed from 29
// December to 3 January, unless configured otherwise; the configuration read back from the store
// (SQLite and PostgreSQL, _pg) is the one saved.
#include "kiosk/service_hours.h"

#include <gtest/gtest.h>

#include <array>
#include <filesystem>
#include <vector>

#include "../store/test_store.h"
#include "common/date.h"

namespace jlis::kiosk {
namespace {

// The instant of `date` at `hh:mm:ss` Japan time.
int64_t japan(int y, int m, int d, int hh, int mm, int ss = 0) {
  const Date date = Date::from_ymd(y, m, d).value();
  return date.days_since_epoch() * 86400 + hh * 3600 + mm * 60 + ss - 9 * 3600;
}

// Rule table: the default hours and year-end closure, minute by minute at their edges.
TEST(ServiceHoursRules, TheDefaultIsSixThirtyToElevenExceptTheTwentyNinthOfDecemberToTheThirdOfJanuary) {
  const ServiceHours h;
  struct Row {
    int y, m, d, hh, mm, ss;
    bool open;
  };
  const Row rows[] = {
      {2026, 6, 15, 6, 29, 59, false}, {2026, 6, 15, 6, 30, 0, true},   {2026, 6, 15, 22, 59, 59, true},
      {2026, 6, 15, 23, 0, 0, false},  {2026, 6, 15, 0, 0, 0, false},   {2026, 6, 15, 12, 0, 0, true},
      {2026, 12, 28, 22, 59, 0, true}, {2026, 12, 29, 6, 30, 0, false}, {2026, 12, 31, 12, 0, 0, false},
      {2027, 1, 1, 12, 0, 0, false},   {2027, 1, 3, 22, 0, 0, false},   {2027, 1, 4, 6, 30, 0, true},
      {2028, 2, 29, 12, 0, 0, true},
  };
  for (const Row& r : rows)
    EXPECT_EQ(h.open_at(japan(r.y, r.m, r.d, r.hh, r.mm, r.ss)), r.open)
        << r.y << "-" << r.m << "-" << r.d << " " << r.hh << ":" << r.mm << ":" << r.ss;
  // 06:30 in Japan is 21:30 UTC of the day before: the date that counts is Japan's.
  EXPECT_FALSE(h.open_at(japan(2027, 1, 3, 23, 30)));
  EXPECT_TRUE(h.open_at(japan(2027, 1, 4, 6, 30)));
}

TEST(ServiceHoursRules, AConfigurationIsParsedAndDescribedBackAndBadOnesAreRefused) {
  auto defaults = ServiceHours::parse("06:30", "23:00", "12-29..01-03");
  ASSERT_TRUE(defaults.ok()) << defaults.status().to_string();
  EXPECT_EQ(*defaults, ServiceHours{});
  EXPECT_EQ(defaults->describe(), "06:30-23:00 closed 12-29..01-03");

  auto longer = ServiceHours::parse("00:00", "24:00", "08-13..08-15,12-31..01-01");
  ASSERT_TRUE(longer.ok()) << longer.status().to_string();
  EXPECT_TRUE(longer->open_at(japan(2026, 6, 15, 0, 0)));
  EXPECT_TRUE(longer->open_at(japan(2026, 6, 15, 23, 59)));
  EXPECT_FALSE(longer->open_at(japan(2026, 8, 14, 12, 0)));
  EXPECT_TRUE(longer->open_at(japan(2026, 12, 30, 12, 0)));
  EXPECT_FALSE(longer->open_at(japan(2027, 1, 1, 12, 0)));
  EXPECT_EQ(longer->describe(), "00:00-24:00 closed 08-13..08-15,12-31..01-01");

  auto never_closed = ServiceHours::parse("06:30", "23:00", "none");
  ASSERT_TRUE(never_closed.ok());
  EXPECT_TRUE(never_closed->open_at(japan(2027, 1, 1, 12, 0)));
  EXPECT_EQ(never_closed->describe(), "06:30-23:00 closed none");

  for (const auto& [opens, closes, closed] : std::vector<std::array<const char*, 3>>{
           {"6:30", "23:00", "none"}, {"06:30", "24:01", "none"}, {"23:00", "06:30", "none"},
           {"06:30", "06:30", "none"}, {"06:60", "23:00", "none"}, {"06:30", "23:00", "02-30..03-01"},
           {"06:30", "23:00", "12-29"}, {"06:30", "23:00", ""}, {"06:30", "23:00", "13-01..13-02"}})
    EXPECT_EQ(ServiceHours::parse(opens, closes, closed).status().code(), Code::invalid_argument)
        << opens << " " << closes << " " << closed;
  EXPECT_TRUE(ServiceHours::parse("06:30", "23:00", "02-29..02-29").ok());
}

class ServiceHoursStore : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("jlis-hours-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    db_ = test_store_.open_data_dir(dir_.string()).value();
    conn_ = db_->connect().value();
    ASSERT_TRUE(ServiceHours::migrate(*conn_).is_ok());
  }
  void TearDown() override {
    conn_.reset();
    db_.reset();
    std::filesystem::remove_all(dir_);
  }
  store::testing::TestStore test_store_;
  std::filesystem::path dir_;
  std::shared_ptr<store::Database> db_;
  std::unique_ptr<store::Connection> conn_;
};

TEST_F(ServiceHoursStore, NothingSavedMeansTheDefaultsAndWhatIsSavedIsReadBack) {
  EXPECT_EQ(ServiceHours::load(*conn_).value(), ServiceHours{});
  const ServiceHours shorter = ServiceHours::parse("07:00", "22:00", "08-13..08-15,12-29..01-03").value();
  ASSERT_TRUE(shorter.save(*conn_).is_ok());
  EXPECT_EQ(ServiceHours::load(*conn_).value(), shorter);
  const ServiceHours none = ServiceHours::parse("06:30", "23:00", "none").value();
  ASSERT_TRUE(none.save(*conn_).is_ok());  // replaces the one row
  EXPECT_EQ(ServiceHours::load(*conn_).value(), none);
  EXPECT_EQ(conn_->query_int64("SELECT COUNT(*) FROM kiosk_service_hours").value().value_or(-1), 1);
}

}  // namespace
}  // namespace jlis::kiosk
