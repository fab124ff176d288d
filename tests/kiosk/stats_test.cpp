// The centre's monthly statistics (kiosk/stats.h, `jlis kiosk stats --month`) after real sessions
// through `jlis serve`: documents per issuing municipality, document type and operator, with
// copies, fees and prints, and the month's sessions and log-ins; another month is empty.
#include <gtest/gtest.h>

#include <ctime>

#include "kiosk_world.h"

namespace jlis::kiosk::testing {
namespace {

class KioskStatsTest : public KioskSuite {
 protected:
  static void SetUpTestSuite() { build("kiosk-stats"); }

  // One session of `terminal` to a juminhyo of `copies`: its fee (-1 when it failed); printed or not.
  static int64_t document(const std::string& terminal, VirtualCard& card, int copies, bool print) {
    const std::string id = kiosk_->logged_in(terminal, card);
    auto r = kiosk_->request(terminal, id, {{"type", "juminhyo"}, {"copies", copies}});
    EXPECT_EQ(r.result_int(), 201) << r.body();
    if (r.result_int() != 201) return -1;
    EXPECT_EQ(kiosk_->fetch(terminal, id).result_int(), 200);
    if (print) {
      EXPECT_EQ(kiosk_->printed(terminal, id).result_int(), 200);
    }
    return json::parse(r.body())["fee"].get<int64_t>();
  }
  static std::string month(int months_back) {
    std::time_t now = std::time(nullptr) + 9 * 3600;
    std::tm japan{};
    gmtime_r(&now, &japan);
    int y = japan.tm_year + 1900, m = japan.tm_mon + 1 - months_back;
    while (m < 1) {
      m += 12;
      --y;
    }
    char text[32];
    std::snprintf(text, sizeof text, "%04d-%02d", y, m);
    return text;
  }

};

TEST_F(KioskStatsTest, AMonthsDocumentsAreCountedPerMunicipalityTypeAndOperator) {
  const std::string a = kiosk_->terminal("A-1");
  ASSERT_EQ(world_->cli({"kiosk", "operator", "add", "--data", world_->dir(), "--name", "ファミリーマート"}).exit_code, 0);
  const std::string b_file = world_->dir() + "/terminal-B-1.json";
  ASSERT_EQ(world_->cli({"kiosk", "terminal", "add", "--data", world_->dir(), "--operator", "ファミリーマート",
                         "--store", "B-1", "--output", b_file})
                .exit_code,
            0);
  const std::string b = read_credential(b_file).value().secret;
  VirtualCard card = kiosk_->world_card();

  const int64_t one = document(a, card, 1, true);
  const int64_t two = document(a, card, 2, false);  // fetched, never confirmed printed
  const int64_t three = document(b, card, 1, true);
  ASSERT_GT(one, 0);
  EXPECT_EQ(two, 2 * one);  // the fee is for all copies
  kiosk_->open(b);          // a session nobody logged in on

  auto now = world_->cli({"kiosk", "stats", "--data", world_->dir(), "--month", month(0)});
  ASSERT_EQ(now.exit_code, 0) << now.err;
  EXPECT_EQ(now.out, "# sessions,logged_in,documents,incidents\n# 4,3,3,0\n"
                     "municipality_code,document_type,operator,documents,copies,fees_yen,printed\n"
                     "131016,juminhyo,テスト・マート,2,3," + std::to_string(one + two) + ",1\n"
                     "131016,juminhyo,ファミリーマート,1,1," + std::to_string(three) + ",1\n");

  auto before = world_->cli({"kiosk", "stats", "--data", world_->dir(), "--month", month(1)});
  ASSERT_EQ(before.exit_code, 0) << before.err;
  EXPECT_EQ(before.out, "# sessions,logged_in,documents,incidents\n# 0,0,0,0\n"
                        "municipality_code,document_type,operator,documents,copies,fees_yen,printed\n");

  auto bad = world_->cli({"kiosk", "stats", "--data", world_->dir(), "--month", "2026-13"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("YYYY-MM"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace jlis::kiosk::testing
