// Expiry notices: which cards a month covers, letter or e-mail, and one notice per card and expiry.
#include "fixture.h"

namespace jlis::card::testing {
namespace {

using registry::EventType;

class NoticeTest : public CardTest {
 protected:
  // A card issued on 2020-06-01 to an adult born on `dob`: it expires on the 10th birthday after.
  Card card_of(const registry::Resident& r, std::optional<std::string> email = std::nullopt) {
    today_ = date("2020-06-01");
    auto req = request(r.resident_code);
    req.email = std::move(email);
    std::string id = produced(accepted(req).application_id);
    auto c = cards_->handover(municipality(), id, true);
    EXPECT_TRUE(c.ok()) << c.status().to_string();
    return *c;
  }
  void move_abroad(const registry::Resident& r, const std::string& id) {
    today_ = date("2025-01-01");  // the continued-use procedure before departure keeps the card
    ASSERT_TRUE(cards_->request_continued_use(call_centre(), r.resident_code, date("2025-01-10")).is_ok());
    auto out = event(id, EventType::move_out, "2025-01-10", r.resident_code);
    out.to = "abroad";
    out.address_abroad = "1 Rue de Rivoli, Paris";
    ASSERT_TRUE(change(kChiyoda, out).is_ok());
  }
};

TEST_F(NoticeTest, LettersInJapanEmailAbroadOncePerCardAndExpiry) {
  Card in_japan = card_of(born("b1", "1990-05-10"));
  EXPECT_EQ(in_japan.expires_on, date("2030-05-10"));
  auto abroad = born("b2", "1985-05-31");
  Card with_mail = card_of(abroad, "taro@example.jp");
  move_abroad(abroad, "a1");
  auto silent = born("b3", "1980-05-01");
  Card without_mail = card_of(silent);
  move_abroad(silent, "a2");
  Card june = card_of(born("b4", "1990-06-01"));  // expires 2030-06-01: next month's run
  EXPECT_EQ(june.expires_on, date("2030-06-01"));
  Card april = card_of(born("b5", "1990-04-30"));  // 2030-04-30: last month's run
  auto lost_holder = born("b6", "1990-05-15");
  Card lost = card_of(lost_holder);
  ASSERT_TRUE(cards_->report_lost(call_centre(), lost.card_id, LossReason::lost).ok());
  auto suspended_holder = born("b7", "1990-05-20");
  Card suspended = card_of(suspended_holder);
  ASSERT_TRUE(cards_->suspend(call_centre(), suspended.card_id).ok());

  // March's run covers the cards expiring in May.
  auto run = cards_->expiry_notices("2030-03");
  ASSERT_TRUE(run.ok()) << run.status().to_string();
  EXPECT_EQ(run->covers_from, date("2030-05-01"));
  EXPECT_EQ(run->covers_until, date("2030-05-31"));
  EXPECT_EQ(run->already_recorded, 0);
  ASSERT_EQ(run->notices.size(), 4u);
  std::map<std::string, ExpiryNotice> by_card;
  for (const auto& n : run->notices) by_card[n.card_id] = n;
  ASSERT_EQ(by_card.count(in_japan.card_id), 1u);
  const ExpiryNotice& letter = by_card[in_japan.card_id];
  EXPECT_EQ(letter.kind, NoticeKind::letter);
  EXPECT_EQ(letter.name, "山田　花子");
  EXPECT_EQ(letter.address, "東京都千代田区丸の内一丁目1番1号");
  EXPECT_EQ(letter.expires_on, date("2030-05-10"));
  EXPECT_EQ(letter.municipality_code, lg(kChiyoda));
  const ExpiryNotice& mail = by_card[with_mail.card_id];
  EXPECT_EQ(mail.kind, NoticeKind::email);
  EXPECT_EQ(mail.email, "taro@example.jp");
  EXPECT_FALSE(mail.email_missing);
  EXPECT_TRUE(mail.address.empty());
  const ExpiryNotice& missing = by_card[without_mail.card_id];
  EXPECT_EQ(missing.kind, NoticeKind::email);
  EXPECT_TRUE(missing.email_missing);
  EXPECT_FALSE(missing.email.has_value());
  EXPECT_EQ(by_card[suspended.card_id].kind, NoticeKind::letter);  // suspended cards expire too
  EXPECT_EQ(by_card.count(lost.card_id), 0u);
  EXPECT_EQ(by_card.count(june.card_id), 0u);
  EXPECT_EQ(by_card.count(april.card_id), 0u);

  // Idempotent: a second run sends nothing again.
  const std::string before = state();
  auto again = cards_->expiry_notices("2030-03");
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->notices.empty());
  EXPECT_EQ(again->already_recorded, 4);
  EXPECT_EQ(state(), before);
  EXPECT_EQ(count("SELECT COUNT(*) FROM card_notices WHERE kind = 'email'"), 2);

  // The next month covers June.
  auto next = cards_->expiry_notices("2030-04");
  ASSERT_EQ(next->notices.size(), 1u);
  EXPECT_EQ(next->notices[0].card_id, june.card_id);
}

TEST_F(NoticeTest, DecemberRunsCoverFebruaryAndMonthsAreChecked) {
  Card feb = card_of(born("b1", "1992-02-29"));  // issued at 28: the 38th birthday, 2030 is common
  EXPECT_EQ(feb.expires_on, date("2030-03-01"));
  auto dec = cards_->expiry_notices("2029-12");
  ASSERT_TRUE(dec.ok());
  EXPECT_EQ(dec->covers_from, date("2030-02-01"));
  EXPECT_EQ(dec->covers_until, date("2030-02-28"));
  EXPECT_TRUE(dec->notices.empty());
  EXPECT_EQ(cards_->expiry_notices("2030-01")->notices.size(), 1u);
  for (const char* bad : {"2030-13", "2030-3", "2030/01", "", "abcd-ef", "2030-01-01"})
    EXPECT_EQ(cards_->expiry_notices(bad).status().code(), Code::invalid_argument) << bad;
}

}  // namespace
}  // namespace jlis::card::testing
