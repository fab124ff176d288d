// The centre's service hours (kiosk/service_hours.h) through `jlis kiosk hours` and the real
// `jlis serve`: outside the hours, and on a closed day, a terminal opens no session (403
// outside_service_hours, nothing written); inside them it does, without a restart. The hours are
// set relative to the moment the test runs, so that it proves the same whenever it runs.
#include <gtest/gtest.h>

#include <ctime>

#include "kiosk_world.h"

namespace jlis::kiosk::testing {
namespace {

class KioskHoursTest : public KioskSuite {
 protected:
  static void SetUpTestSuite() {
    if (build("kiosk-hours")) {
      terminal_ = kiosk_->terminal("H-0001");
    }
  }

  static e2e::Output hours(const std::string& opens, const std::string& closes, const std::string& closed) {
    return world_->cli({"kiosk", "hours", "--data", world_->dir(), "--opens", opens, "--closes", closes, "--closed", closed});
  }
  static http::testing::Reply open() { return kiosk_->call(bhttp::verb::post, "/v1/kiosk/sessions", terminal_); }

  static inline std::string terminal_;
};

TEST_F(KioskHoursTest, NoSessionOpensOutsideTheHoursOrOnAClosedDayAndOneOpensInsideThem) {
  // Now in Japan, and a one-hour window that does not contain it.
  const std::time_t now = std::time(nullptr) + 9 * 3600;
  std::tm japan{};
  gmtime_r(&now, &japan);
  char today[8];
  std::strftime(today, sizeof today, "%m-%d", &japan);
  const bool early = japan.tm_hour < 2;  // a window of 12:00-13:00, else 00:00-01:00
  const int64_t before = kiosk_->count("kiosk_sessions");

  ASSERT_EQ(hours(early ? "12:00" : "00:00", early ? "13:00" : "01:00", "none").exit_code, 0);
  auto outside = open();
  EXPECT_EQ(KioskWorld::refusal(outside), "outside_service_hours") << outside.result_int() << " " << outside.body();

  ASSERT_EQ(hours("00:00", "24:00", std::string(today) + ".." + today).exit_code, 0);
  auto closed = open();
  EXPECT_EQ(KioskWorld::refusal(closed), "outside_service_hours") << closed.result_int() << " " << closed.body();
  EXPECT_EQ(kiosk_->count("kiosk_sessions"), before);  // nothing was opened

  ASSERT_EQ(hours("00:00", "24:00", "none").exit_code, 0);
  auto inside = open();
  EXPECT_EQ(inside.result_int(), 201) << inside.body();
  EXPECT_EQ(kiosk_->count("kiosk_sessions"), before + 1);
}

TEST_F(KioskHoursTest, TheCommandShowsTheHoursAndRefusesHalfASettingOrABadOne) {
  auto shown = world_->cli({"kiosk", "hours", "--data", world_->dir()});
  EXPECT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_EQ(shown.out, "kiosk service hours (Japan time): 00:00-24:00 closed none\n");  // KioskWorld's
  auto half = world_->cli({"kiosk", "hours", "--data", world_->dir(), "--opens", "07:00"});
  EXPECT_NE(half.exit_code, 0);
  EXPECT_NE(half.err.find("together"), std::string::npos) << half.err;
  auto bad = hours("07:00", "06:00", "none");
  EXPECT_NE(bad.exit_code, 0);
  auto set = hours("06:30", "23:00", "12-29..01-03");
  EXPECT_EQ(set.exit_code, 0) << set.err;
  EXPECT_EQ(set.out, "kiosk service hours (Japan time): 06:30-23:00 closed 12-29..01-03\n");
}

}  // namespace
}  // namespace jlis::kiosk::testing
