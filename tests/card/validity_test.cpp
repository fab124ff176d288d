// The validity rules, pinned at their edges: the 18th and 15th birthdays, the 2022 change of the age
// of majority, and 29 February births.
#include "card/validity.h"

#include "fixture.h"

namespace jlis::card::testing {
namespace {

TEST(Validity, BirthdaysAndMonths) {
  EXPECT_EQ(birthday(date("2000-05-17"), 10), date("2010-05-17"));
  EXPECT_EQ(birthday(date("2004-02-29"), 4), date("2008-02-29"));
  EXPECT_EQ(birthday(date("2004-02-29"), 1), date("2005-03-01"));  // a common year: 1 March, as age_on
  EXPECT_EQ(age_on(date("2004-02-29"), birthday(date("2004-02-29"), 1)), 1);
  EXPECT_EQ(age_on(date("2004-02-29"), birthday(date("2004-02-29"), 1).add_days(-1)), 0);
  // "After" is strict: issued on a birthday, the next one is the first.
  EXPECT_EQ(nth_birthday_after(date("2000-05-17"), date("2020-05-17"), 1), date("2021-05-17"));
  EXPECT_EQ(nth_birthday_after(date("2000-05-17"), date("2020-05-16"), 1), date("2020-05-17"));
  EXPECT_EQ(add_months(date("2024-05-31"), -3), date("2024-02-29"));
  EXPECT_EQ(add_months(date("2025-01-31"), 1), date("2025-02-28"));
  EXPECT_EQ(add_months(date("2025-11-15"), 3), date("2026-02-15"));
  EXPECT_EQ(renewal_opens(date("2030-05-31")), date("2030-02-28"));
}

TEST(Validity, TheEighteenthBirthdayDecidesBetweenFiveAndTenBirthdays) {
  const Date born = date("2006-06-15");
  const Date applied = date("2024-05-01");
  auto before = card_validity(born, date("2024-06-14"), applied);  // 17: five birthdays
  EXPECT_FALSE(before.adult);
  EXPECT_EQ(before.expires_on, date("2028-06-15"));  // 22nd birthday
  auto on = card_validity(born, date("2024-06-15"), applied);  // 18 that day: ten birthdays after it
  EXPECT_TRUE(on.adult);
  EXPECT_EQ(on.expires_on, date("2034-06-15"));
  auto after = card_validity(born, date("2024-06-16"), applied);
  EXPECT_EQ(after.expires_on, date("2034-06-15"));
  // The example of the government's own leaflet: issued 2020-05-15, birthday 10 October.
  EXPECT_EQ(card_validity(date("1980-10-10"), date("2020-05-15"), date("2020-04-01")).expires_on, date("2029-10-10"));
}

TEST(Validity, ApplicationsBefore2022UseTheOldAgeOfMajority) {
  const Date born = date("2003-01-10");  // 19 in April 2022
  auto old_rule = card_validity(born, date("2022-04-20"), date("2022-03-31"));
  EXPECT_FALSE(old_rule.adult);
  EXPECT_EQ(old_rule.expires_on, date("2027-01-10"));
  auto new_rule = card_validity(born, date("2022-04-20"), date("2022-04-01"));
  EXPECT_TRUE(new_rule.adult);
  EXPECT_EQ(new_rule.expires_on, date("2032-01-10"));
}

TEST(Validity, TwentyNinthOfFebruary) {
  const Date born = date("2004-02-29");
  // 2022 is a common year: 18 is reached on 1 March.
  auto feb28 = card_validity(born, date("2022-02-28"), date("2022-02-01"));
  EXPECT_FALSE(feb28.adult);
  EXPECT_EQ(feb28.expires_on, date("2026-03-01"));  // 22nd birthday, common year
  auto mar1 = card_validity(born, date("2022-03-01"), date("2022-02-01"));
  EXPECT_FALSE(mar1.adult);  // applied before 2022-04-01: the age of majority was 20
  auto mar1_new = card_validity(born, date("2022-04-02"), date("2022-04-01"));
  EXPECT_TRUE(mar1_new.adult);
  EXPECT_EQ(mar1_new.expires_on, date("2032-02-29"));  // 28th birthday, a leap year
  EXPECT_EQ(card_validity(born, date("2023-03-01"), date("2023-01-01")).expires_on, date("2033-03-01"));

  // The 15th birthday for the signature certificate, in a common year.
  const Date child = date("2008-02-29");
  const Date card_expiry = date("2030-01-01");
  EXPECT_FALSE(certificate_validity(child, date("2023-02-28"), card_expiry).signature_certificate_allowed);
  EXPECT_TRUE(certificate_validity(child, date("2023-03-01"), card_expiry).signature_certificate_allowed);
}

TEST(Validity, CertificatesCountFromTheHandoverAndNeverOutliveTheCard) {
  const Date born = date("2010-07-20");
  const Date card_expiry = date("2029-07-20");  // issued 2025-07-01 at 14: five birthdays
  EXPECT_EQ(card_validity(born, date("2025-07-01"), date("2025-06-01")).expires_on, card_expiry);
  auto day_before = certificate_validity(born, date("2025-07-19"), card_expiry);
  EXPECT_FALSE(day_before.signature_certificate_allowed);
  EXPECT_EQ(day_before.expires_on, date("2029-07-20"));
  auto on = certificate_validity(born, date("2025-07-20"), card_expiry);
  EXPECT_TRUE(on.signature_certificate_allowed);
  EXPECT_EQ(on.expires_on, card_expiry);  // the 5th birthday after would be 2030: capped
  // An adult: the certificates end at the 5th birthday, the card at the 10th.
  EXPECT_EQ(certificate_validity(date("1990-01-01"), date("2025-03-03"), date("2035-01-01")).expires_on,
            date("2030-01-01"));
}

// Through the system: the card's validity from production day, the certificates' from handover.
TEST_F(CardTest, ProductionDayAndHandoverDayDecideTheValidity) {
  auto r = born("b1", "2007-06-03");  // 18 on 2025-06-03
  today_ = date("2025-05-20");
  auto a = accepted(request(r.resident_code));
  today_ = date("2025-06-02");  // produced the day before the 18th birthday
  std::string id = produced(a.application_id);
  Card shipped = card(id);
  EXPECT_EQ(shipped.issued_on, date("2025-06-02"));
  EXPECT_EQ(shipped.expires_on, date("2029-06-03"));  // five birthdays
  EXPECT_FALSE(shipped.delivered_on.has_value());

  auto r2 = born("b2", "2007-06-03");
  today_ = date("2025-05-20");
  auto a2 = accepted(request(r2.resident_code));
  today_ = date("2025-06-03");  // produced on the 18th birthday
  Card adult = card(produced(a2.application_id));
  EXPECT_EQ(adult.expires_on, date("2035-06-03"));  // ten birthdays

  today_ = date("2025-06-20");
  auto delivered = cards_->handover(municipality(), id, true);
  ASSERT_TRUE(delivered.ok()) << delivered.status().to_string();
  EXPECT_EQ(delivered->delivered_on, date("2025-06-20"));
  EXPECT_TRUE(delivered->signature_certificate_allowed);
  EXPECT_EQ(delivered->cert_expires_on, date("2029-06-03"));  // 2030-06-03 after handover: capped by the card

  auto child = born("b3", "2010-07-20");
  today_ = date("2025-07-01");
  std::string child_card = produced(accepted(request(child.resident_code)).application_id);
  today_ = date("2025-07-19");  // the day before the 15th birthday
  auto young = cards_->handover(municipality(), child_card, true);
  ASSERT_TRUE(young.ok());
  EXPECT_FALSE(young->signature_certificate_allowed);
  EXPECT_EQ(young->expires_on, date("2029-07-20"));
  EXPECT_EQ(young->cert_expires_on, date("2029-07-20"));

  auto teen = born("b4", "2010-07-20");
  today_ = date("2025-07-01");
  std::string teen_card = produced(accepted(request(teen.resident_code)).application_id);
  today_ = date("2025-07-20");  // on the 15th birthday
  auto fifteen = cards_->handover(municipality(), teen_card, true);
  ASSERT_TRUE(fifteen.ok());
  EXPECT_TRUE(fifteen->signature_certificate_allowed);
  EXPECT_EQ(fifteen->cert_expires_on, date("2029-07-20"));  // capped by the card
}

TEST_F(CardTest, LeapDayBirthThroughTheSystem) {
  auto r = born("b1", "2008-02-29");
  today_ = date("2026-02-01");
  auto a = accepted(request(r.resident_code));
  today_ = date("2026-02-28");  // still 17: 18 on 1 March 2026
  Card c = card(produced(a.application_id));
  EXPECT_EQ(c.expires_on, date("2030-03-01"));  // 22nd birthday, a common year: 1 March
  auto r2 = born("b2", "2008-02-29");
  today_ = date("2026-02-01");
  auto a2 = accepted(request(r2.resident_code));
  today_ = date("2026-03-01");  // 18
  Card adult = card(produced(a2.application_id));
  EXPECT_EQ(adult.expires_on, date("2036-02-29"));  // 28th birthday, a leap year
}

}  // namespace
}  // namespace jlis::card::testing
