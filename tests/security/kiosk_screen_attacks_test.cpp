// Attacks on the kiosk's touch screen (`jlis kiosk screen`, kiosk/screen.h): a page of another site
// pressing its keys, and the next person at the kiosk after a resident who finished or walked away.
#include <gtest/gtest.h>
#include <unistd.h>

#include "../kiosk/kiosk_world.h"

namespace jlis::security {
namespace {

using kiosk::testing::KioskSuite;
using kiosk::testing::ScreenProcess;

class KioskScreenAttacks : public KioskSuite {
 protected:
  static void SetUpTestSuite() {
    if (!build("kiosk-screen-attacks")) return;
    kiosk_->terminal("SCREEN-A");
    card_file_ = world_->dir() + "/resident.card";
    EXPECT_TRUE(kiosk_->world_card().save(card_file_).is_ok());
  }
  static std::unique_ptr<ScreenProcess> screen(const std::string& idle_seconds = "120") {
    auto s = std::make_unique<ScreenProcess>(kiosk_->own_url(), world_->dir() + "/terminal-SCREEN-A.json",
                                             std::vector<std::string>{card_file_}, idle_seconds);
    EXPECT_NE(s->port(), 0) << "jlis kiosk screen did not start";
    return s;
  }
  // Plays a resident through to the done page over HTTP (form posts as the pages send them).
  static void print_juminhyo(ScreenProcess& s) {
    s.post("/card", "card=0");
    s.type_pin(kiosk::testing::kPin);
    s.post("/document", "type=juminhyo");
    s.post("/options", "members=all&items=household&copies=1&go=next");
    s.post("/confirm", "go=issue");
    for (int i = 0; i < 200 && s.heading() != "お取り忘れにご注意ください"; ++i) ::usleep(50000);
  }

  static inline std::string card_file_;
};

// Attack: a page of another site posts to the screen's forms (the browser names that origin, or
// says cross-site, or sends the opaque "null" origin of a sandboxed frame): nothing is pressed.
TEST_F(KioskScreenAttacks, AnotherSitesPostPressesNothing) {
  auto s = screen();
  const std::string own = "127.0.0.1:" + std::to_string(s->port());
  EXPECT_EQ(s->post("/card", "card=0", {{"Host", own}, {"Origin", "http://evil.example"}}), 403);
  EXPECT_EQ(s->post("/card", "card=0", {{"Host", own}, {"Origin", "null"}}), 403);
  EXPECT_EQ(s->post("/card", "card=0", {{"Host", own}, {"Sec-Fetch-Site", "cross-site"}}), 403);
  EXPECT_EQ(s->heading(), "カードを置いてください");
  EXPECT_EQ(s->post("/card", "card=0", {{"Host", own}, {"Origin", "http://" + own}}), 303);
  EXPECT_EQ(s->heading(), "暗証番号を入力してください");
}

// Attack: the next person at the kiosk, after a resident pressed 終了する: the printed document
// and everything shown of the resident are gone.
TEST_F(KioskScreenAttacks, TheNextPersonFindsNothingOfTheResidentWhoFinished) {
  auto s = screen();
  print_juminhyo(*s);
  ASSERT_EQ(s->heading(), "お取り忘れにご注意ください");
  const std::string done = s->get("/").body();
  const size_t at = done.find("131016-");
  ASSERT_NE(at, std::string::npos);
  const std::string number = done.substr(at, done.find('<', at) - at);
  ASSERT_EQ(s->get("/printed.pdf").result_int(), 200);
  ASSERT_EQ(s->post("/finish", ""), 303);
  EXPECT_EQ(s->get("/printed.pdf").result_int(), 404);
  EXPECT_EQ(s->get("/").body().find(number), std::string::npos);
  // Pressing back through the steps leads nowhere: every step needs a card and a PIN again.
  EXPECT_EQ(s->post("/confirm", "go=issue"), 303);
  EXPECT_EQ(s->post("/document", "type=juminhyo"), 303);
  EXPECT_EQ(s->heading(), "カードを置いてください");
}

// Attack: the next person at the kiosk, after a resident walked away from the done page: after the
// idle timeout the document is gone.
TEST_F(KioskScreenAttacks, AResidentWhoWalkedAwayLeavesNothingAfterTheIdleTimeout) {
  auto s = screen("1");
  print_juminhyo(*s);
  ASSERT_EQ(s->heading(), "お取り忘れにご注意ください");
  ::sleep(2);
  EXPECT_EQ(s->get("/printed.pdf").result_int(), 404);
  EXPECT_EQ(s->heading(), "カードを置いてください");
}

}  // namespace
}  // namespace jlis::security
