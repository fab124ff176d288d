// A handover invalidates the holder's other cards (issue 17, "Card: a handover invalidating the
// holder's other shipped or suspended cards"): here the other card is one that was shipped and never
// collected. (The suspended card is in rules_test.cpp, the active one in lifecycle_test.cpp.) Dates
// are fixed together with the fixture's injected today_.
#include "fixture.h"

namespace jlis::card::testing {
namespace {

// Rule: a card shipped and never collected until it expired does not block a new application, and
// handing the new card over invalidates the uncollected one ("replaced by"), so the holder has
// exactly one current card.
TEST_F(CardTest, AHandoverInvalidatesTheHoldersUncollectedShippedCard) {
  auto r = born("u1", "2015-03-10");
  today_ = date("2016-01-10");
  const std::string uncollected = produced(accepted(request(r.resident_code)).application_id);
  const Date expires = card(uncollected).expires_on;  // the 5th birthday after: a child's card
  ASSERT_EQ(card(uncollected).status, CardStatus::shipped);
  // Never collected; past its validity it cannot be handed over any more...
  today_ = expires.add_days(10);
  EXPECT_EQ(cards_->handover(municipality(), uncollected, true).status().code(), Code::conflict);
  // ...and the holder applies again, as the refusal says.
  const std::string fresh = produced(accepted(request(r.resident_code)).application_id);
  ASSERT_NE(fresh, uncollected);
  EXPECT_EQ(count("SELECT COUNT(*) FROM card_cards WHERE status = 'shipped'"), 2);
  auto handed = cards_->handover(municipality(), fresh, true);
  ASSERT_TRUE(handed.ok()) << handed.status().to_string();
  Card old = card(uncollected);
  EXPECT_EQ(old.status, CardStatus::invalid);
  EXPECT_EQ(old.history.back().action, "invalidated");
  EXPECT_EQ(old.history.back().note, "replaced by card " + fresh);
  EXPECT_EQ(old.history.back().date, today_);
  EXPECT_EQ(cards_->current_card_id(r.resident_code)->value_or(""), fresh);
  EXPECT_EQ(count("SELECT COUNT(*) FROM card_cards WHERE status IN ('shipped', 'active', 'suspended')"), 1);
}

}  // namespace
}  // namespace jlis::card::testing
