// Certificate expiry notices (pki/notices.h): which certificates a month covers, letter in Japan
// or e-mail abroad, one notice per card and expiry day, never twice. Every date is computed from
// the fixture's injected today, so the expectations never age.
#include "ca_fixture.h"
#include "card/validity.h"

namespace jlis::pki::testing {
namespace {

using registry::EventType;

std::string year_month(Date d) {
  std::string iso = d.to_iso();
  return iso.substr(0, 7);
}

class CertificateNoticeTest : public CaTest {
 protected:
  // Someone who turns 40 on the 10th of the month `months_ahead` months after today: their
  // certificates, handed over today, expire on their 44th birthday (the 5th after today).
  Date birth_in(int months_ahead) {
    const Date ahead = card::add_months(today_, months_ahead);
    return Date::from_ymd(ahead.year() - 40, ahead.month(), 10).value();
  }
  static Date expiry_of(Date birth) { return Date::from_ymd(birth.year() + 44, birth.month(), birth.day()).value(); }
  // The month whose run covers `expiry` (two months before it).
  static std::string run_month(Date expiry) { return year_month(card::add_months(expiry, -2)); }

  // A card with both certificates, applied for with `email`.
  std::string card_of(const registry::Resident& r, const Keys& keys, std::optional<std::string> email = std::nullopt) {
    auto req = request(r.resident_code);
    req.email = std::move(email);
    const std::string id = produced(accepted(req).application_id);
    auto card = cards_->handover(municipality(), id, true, keys.pems());
    EXPECT_TRUE(card.ok()) << card.status().to_string();
    card_keys_of_[id] = &keys;
    return id;
  }
  void move_abroad(const registry::Resident& r, const std::string& id) {
    ASSERT_TRUE(cards_->request_continued_use(call_centre(), r.resident_code, today_).is_ok());
    auto out = event(id, EventType::move_out, today_.to_iso().c_str(), r.resident_code);
    out.to = "abroad";
    out.address_abroad = "1 Rue de Rivoli, Paris";
    ASSERT_TRUE(change(card::testing::kChiyoda, out).is_ok());
  }
  std::string notices_table() {
    auto conn = pool_->acquire().value();
    std::string out;
    EXPECT_TRUE(conn->query("SELECT card_id, expires_on, month, kind, serials FROM pki_expiry_notices ORDER BY 1, 2", {},
                            [&](const store::Row& r) {
                              for (int c = 0; c < 5; ++c) out += r.text(c) + "|";
                              out += "\n";
                              return true;
                            }).is_ok());
    return out;
  }

  const Keys in_japan_keys_, abroad_keys_, silent_keys_, later_keys_, lost_keys_, phone_keys_;
};

TEST_F(CertificateNoticeTest, LettersInJapanEmailAbroadOnePerCardAndExpiryNeverTwice) {
  const Date birth = birth_in(2);
  const Date expiry = expiry_of(birth);
  const std::string month = run_month(expiry);

  const auto in_japan = born("n1", birth.to_iso().c_str());
  const std::string in_japan_card = card_of(in_japan, in_japan_keys_);
  smartphone(in_japan_card, phone_keys_);  // the app shows its expiry: no notice of its own
  const auto abroad = born("n2", birth.add_days(5).to_iso().c_str());
  const std::string abroad_card = card_of(abroad, abroad_keys_, "hanako@example.jp");
  move_abroad(abroad, "n2-out");  // the signature certificate is revoked (a new address)
  const auto silent = born("n3", birth.add_days(10).to_iso().c_str());
  const std::string silent_card = card_of(silent, silent_keys_);
  move_abroad(silent, "n3-out");
  const auto later = born("n4", card::add_months(birth, 1).to_iso().c_str());  // next month's run
  const std::string later_card = card_of(later, later_keys_);
  const auto lost_holder = born("n5", birth.add_days(3).to_iso().c_str());
  const std::string lost_card = card_of(lost_holder, lost_keys_);
  ASSERT_TRUE(cards_->report_lost(call_centre(), lost_card, card::LossReason::lost).ok());  // revoked: no notice

  // Nothing is due two months earlier.
  auto early = ca_->expiry_notices(year_month(card::add_months(expiry, -3)));
  ASSERT_TRUE(early.ok()) << early.status().to_string();
  EXPECT_TRUE(early->notices.empty());

  auto run = ca_->expiry_notices(month);
  ASSERT_TRUE(run.ok()) << run.status().to_string();
  EXPECT_EQ(run->covers_from, Date::from_ymd(expiry.year(), expiry.month(), 1).value());
  EXPECT_EQ(run->covers_until, card::add_months(run->covers_from, 1).add_days(-1));
  EXPECT_EQ(run->already_recorded, 0);
  ASSERT_EQ(run->notices.size(), 3u);
  std::map<std::string, CertificateExpiryNotice> by_card;
  for (const auto& n : run->notices) by_card[n.card_id] = n;

  ASSERT_EQ(by_card.count(in_japan_card), 1u);
  const auto& letter = by_card[in_japan_card];
  EXPECT_EQ(letter.kind, card::NoticeKind::letter);
  EXPECT_EQ(letter.name, "山田　花子");
  EXPECT_EQ(letter.address, "東京都千代田区丸の内一丁目1番1号");
  EXPECT_EQ(letter.expires_on, expiry);
  EXPECT_EQ(letter.municipality_code, card::testing::lg(card::testing::kChiyoda));
  EXPECT_EQ(letter.kinds, (std::vector<CertificateKind>{CertificateKind::signature, CertificateKind::authentication}));
  ASSERT_EQ(letter.serials.size(), 2u);
  for (const auto& serial : letter.serials) {
    auto conn = pool_->acquire().value();
    auto rec = CertificateAuthority::find_in(*conn, serial).value();
    EXPECT_EQ(rec.device, Device::card);
    EXPECT_EQ(rec.card_id, in_japan_card);
  }

  ASSERT_EQ(by_card.count(abroad_card), 1u);
  const auto& mail = by_card[abroad_card];
  EXPECT_EQ(mail.kind, card::NoticeKind::email);
  EXPECT_EQ(mail.email, "hanako@example.jp");
  EXPECT_FALSE(mail.email_missing);
  EXPECT_TRUE(mail.address.empty());
  EXPECT_TRUE(mail.name.empty());
  EXPECT_EQ(mail.expires_on, expiry_of(birth.add_days(5)));
  EXPECT_EQ(mail.kinds, std::vector<CertificateKind>{CertificateKind::authentication});

  ASSERT_EQ(by_card.count(silent_card), 1u);
  EXPECT_EQ(by_card[silent_card].kind, card::NoticeKind::email);
  EXPECT_TRUE(by_card[silent_card].email_missing);
  EXPECT_FALSE(by_card[silent_card].email.has_value());
  EXPECT_EQ(by_card.count(lost_card), 0u);
  EXPECT_EQ(by_card.count(later_card), 0u);

  // Never twice: the same month again sends nothing and changes nothing.
  const std::string before = notices_table();
  auto again = ca_->expiry_notices(month);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->notices.empty());
  EXPECT_EQ(again->already_recorded, 3);
  EXPECT_EQ(notices_table(), before);
  EXPECT_EQ(count("SELECT COUNT(*) FROM pki_expiry_notices WHERE kind = 'email'"), 2);

  // The next month covers the holder born a month later, only.
  auto next = ca_->expiry_notices(year_month(card::add_months(expiry, -1)));
  ASSERT_TRUE(next.ok());
  ASSERT_EQ(next->notices.size(), 1u);
  EXPECT_EQ(next->notices[0].card_id, later_card);
  EXPECT_EQ(next->already_recorded, 0);
}

TEST_F(CertificateNoticeTest, AMalformedMonthIsRefusedAndWritesNothing) {
  const Date birth = birth_in(1);
  const auto holder = born("m1", birth.to_iso().c_str());
  card_of(holder, in_japan_keys_);
  for (const char* bad : {"2030-13", "2030-3", "2030/01", "", "abcd-ef", "2030-01-01", "0000-01"}) {
    auto run = ca_->expiry_notices(bad);
    EXPECT_EQ(run.status().code(), Code::invalid_argument) << bad;
    EXPECT_EQ(run.status().message(), "the month must be YYYY-MM") << bad;
  }
  EXPECT_EQ(count("SELECT COUNT(*) FROM pki_expiry_notices"), 0);
  // The holder's month still finds it afterwards.
  auto run = ca_->expiry_notices(run_month(expiry_of(birth)));
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->notices.size(), 1u);
}

}  // namespace
}  // namespace jlis::pki::testing
