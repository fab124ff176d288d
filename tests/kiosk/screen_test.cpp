// The kiosk's touch screen (`jlis kiosk screen`, kiosk/screen.h) against the real `jlis serve`: a
// resident in headless Chromium places the card, types the PIN on the pad, chooses a 住民票の写し,
// confirms the fee and gets their own document; a wrong PIN costs a try and the third locks the card;
// a refusal reads as words, not codes; nothing of one resident is left for the next. (The attacks
// on the screen: tests/security/kiosk_screen_attacks_test.cpp.)
//
// With JLIS_SCREENSHOTS=DIR in the environment the browser test also saves each step's screenshot
// there (docs/images/kiosk-*.png were made so).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "../http/chromium.h"
#include "kiosk_world.h"

namespace jlis::kiosk::testing {
namespace {

using http::testing::Chromium;

class KioskScreenTest : public KioskSuite {
 protected:
  static void SetUpTestSuite() {
    if (build("kiosk-screen")) kiosk_->terminal("SCREEN-1");
  }
  // Each case's own card file with all its tries (a case may lock its card).
  void SetUp() override {
    KioskSuite::SetUp();
    const std::string dir = world_->dir() + "/" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::create_directories(dir);
    card_file_ = dir + "/resident.card";
    ASSERT_TRUE(kiosk_->world_card().save(card_file_).is_ok());
  }
  static std::unique_ptr<ScreenProcess> screen(const std::string& idle_seconds = "120") {
    auto s = std::make_unique<ScreenProcess>(kiosk_->own_url(), world_->dir() + "/terminal-SCREEN-1.json",
                                             std::vector<std::string>{card_file_}, idle_seconds);
    EXPECT_NE(s->port(), 0) << "jlis kiosk screen did not start";
    return s;
  }
  static int tries_left() {
    auto card = VirtualCard::load(card_file_);
    return card.ok() ? card->slot(card::CardSecret::authentication_pin)->tries_left : -1;
  }

  static inline std::string card_file_;
};

// Rule: the whole visit in a real browser. Every step's page is the one the resident expects, the
// PIN never appears (only dots), the fee confirmed is the offer's fee times the copies, the printed
// PDF is the holder's own with the number the screen shows, the centre recorded one printed
// session, no page breaks its own Content-Security-Policy, and after "終了する" the PDF is gone.
TEST_F(KioskScreenTest, AResidentPrintsTheirJuminhyoInABrowser) {
  auto s = screen();
  Chromium browser(world_->dir() + "/chromium");
  const char* shots = std::getenv("JLIS_SCREENSHOTS");
  // Each step: no policy violation, no fault axe-core finds (the printing page, which moves on by
  // itself within seconds as the printer does, is left out: axe refuses any timed refresh), and
  // with JLIS_SCREENSHOTS=DIR its picture.
  auto step = [&](const std::string& name) {
    EXPECT_EQ(browser.violations(), std::vector<std::string>{}) << name;
    if (name != "6-printing") {
      EXPECT_EQ(browser.accessibility_faults(), std::vector<std::string>{}) << name;
    }
    if (shots == nullptr || *shots == 0) return;
    auto png = pki::base64_decode(browser.screenshot_base64());
    ASSERT_TRUE(png.ok());
    std::ofstream(std::string(shots) + "/kiosk-" + name + ".png", std::ios::binary) << *png;
  };

  browser.open(s->url());
  ASSERT_EQ(browser.text("h2"), "カードを置いてください");
  step("1-card");
  ASSERT_TRUE(browser.click_to("button[name=card][value='0']", "暗証番号を入力してください"))
      << browser.text("body") << " " << browser.evaluate("location.href");
  for (const char* d : {"1", "2", "3"}) {
    browser.click(std::string("button[name=key][value='") + d + "']");
    ASSERT_TRUE(browser.wait_until("document.querySelector('.dots').innerText.split('●').length - 1 === " +
                                   std::to_string(d[0] - '0')));
  }
  EXPECT_EQ(browser.evaluate("document.querySelector('button[value=enter]').disabled"), true)
      << "確定 waits for the fourth digit";
  browser.click("button[name=key][value='4']");
  ASSERT_TRUE(browser.wait_until("document.querySelector('.dots').innerText === '●●●●'"));
  EXPECT_EQ(browser.evaluate("document.body.innerText.includes('1234')"), false) << "the PIN is never shown";
  step("2-pin");
  ASSERT_TRUE(browser.click_to("button[value=enter]", "証明書を選んでください"));
  const std::string offered = browser.text("button[value=juminhyo]");
  EXPECT_NE(offered.find("住民票の写し"), std::string::npos) << offered;
  step("3-choose");
  const size_t yen_at = offered.find("1通 ");
  ASSERT_NE(yen_at, std::string::npos) << offered;
  const int fee = std::stoi(offered.substr(yen_at + std::string("1通 ").size()));

  ASSERT_TRUE(browser.click_to("button[value=juminhyo]", "内容を選んでください"));
  browser.click("input[name=members][value=all]");
  browser.click("input[name=items][value=household]");
  ASSERT_TRUE(browser.click_to("button[value=more]", "内容を選んでください"));
  ASSERT_TRUE(browser.wait_until("document.querySelector('output.count').innerText === '2通'"));
  EXPECT_EQ(browser.evaluate("document.querySelector('input[value=all]').checked && "
                             "document.querySelector('input[value=household]').checked"),
            true)
      << "the choices stay when the copies change";
  step("4-options");
  ASSERT_TRUE(browser.click_to("button[value=next]", "内容と手数料を確認してください"));
  EXPECT_EQ(browser.text(".total"), std::to_string(2 * fee) + "円");
  EXPECT_NE(browser.text("dl").find("世帯全員・世帯主と続柄あり"), std::string::npos) << browser.text("dl");
  step("5-confirm");
  ASSERT_TRUE(browser.click_to("button[value=issue]", "印刷しています"));
  step("6-printing");
  ASSERT_TRUE(browser.wait_until("document.querySelector('h2').innerText === 'お取り忘れにご注意ください'"))
      << browser.text("main");
  step("7-done");

  const std::string shown = browser.text("dl");
  const size_t number_at = shown.find("131016-");
  ASSERT_NE(number_at, std::string::npos) << shown;
  const std::string number = shown.substr(number_at, shown.find('\n', number_at) - number_at);
  auto pdf = s->get("/printed.pdf");
  ASSERT_EQ(pdf.result_int(), 200);
  EXPECT_EQ(std::string(pdf[bhttp::field::content_type]), "application/pdf");
  const std::string text = kiosk_->pdf_text(pdf.body());
  EXPECT_NE(text.find("髙橋"), std::string::npos) << "the holder's own document";
  EXPECT_NE(text.find(number), std::string::npos) << number;
  EXPECT_EQ(kiosk_->count("kiosk_sessions", "end_reason = 'printed' AND copies = 2 AND fee = " + std::to_string(2 * fee)),
            1);

  // The done page's link: the centre's verification page confirms the printed number.
  browser.click("a[href='" + kiosk_->own_url() + "/verify/" + number + "']");
  EXPECT_TRUE(browser.wait_until("document.body.innerText.includes('この証明書は発行されています')"))
      << browser.text("body");
  EXPECT_EQ(browser.accessibility_faults(), std::vector<std::string>{}) << "the verification page's answer";
  browser.open(s->url());
  ASSERT_TRUE(browser.click_to("form[action='/finish'] button", "カードを置いてください"));
  EXPECT_EQ(s->get("/printed.pdf").result_int(), 404) << "nothing of the resident is left for the next";
  EXPECT_EQ(tries_left(), kPinTries);
}

// Rule: a wrong PIN costs one try and says how many are left; the third locks the card (kept in the
// card file, as on the chip), and a locked card is refused at once when placed again.
TEST_F(KioskScreenTest, ThreeWrongPinsLockTheCard) {
  auto s = screen();
  const int64_t logged_in = kiosk_->count("kiosk_sessions", "certificate_serial IS NOT NULL");
  ASSERT_EQ(s->post("/card", "card=0"), 303);
  s->type_pin("9999");
  EXPECT_NE(s->get("/").body().find("あと2回"), std::string::npos);
  EXPECT_EQ(tries_left(), 2);
  s->type_pin("0000");
  EXPECT_NE(s->get("/").body().find("あと1回"), std::string::npos);
  s->type_pin("1111");
  EXPECT_EQ(s->heading(), "カードがロックされています");
  EXPECT_EQ(tries_left(), 0);
  ASSERT_EQ(s->post("/finish", ""), 303);
  ASSERT_EQ(s->post("/card", "card=0"), 303);
  EXPECT_EQ(s->heading(), "カードがロックされています") << "locked before any PIN";
  EXPECT_EQ(kiosk_->count("kiosk_sessions", "certificate_serial IS NOT NULL"), logged_in) << "no log-in reached the centre";
}

// Rule: a screen nobody touches for its idle timeout forgets the resident (back to the first page,
// the digits typed dropped).
TEST_F(KioskScreenTest, AnUntouchedScreenForgetsTheResident) {
  auto s = screen("1");
  s->post("/card", "card=0");
  s->post("/pin", "key=1");
  ASSERT_EQ(s->heading(), "暗証番号を入力してください");
  ::sleep(2);
  EXPECT_EQ(s->heading(), "カードを置いてください");
}

// Rule: a refusal reads as words a resident understands: a suspended card's log-in is refused by
// the centre (certificate_on_hold) and the screen says the card is suspended. (Last: it suspends
// the world's card.)
TEST_F(KioskScreenTest, ASuspendedCardIsToldInWords) {
  auto suspended = world_->post("/v1/cards/" + world_->resident().card_id + "/suspend", "", world_->tokens().call_centre);
  ASSERT_EQ(suspended.result_int(), 200) << suspended.body();
  auto s = screen();
  s->post("/card", "card=0");
  s->type_pin(kPin);
  EXPECT_EQ(s->heading(), "カードが一時停止中です");
  EXPECT_EQ(s->get("/").body().find("certificate_on_hold"), std::string::npos) << "words, not codes";
}

}  // namespace
}  // namespace jlis::kiosk::testing
