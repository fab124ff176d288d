// Issue 17: a card stays valid after a move abroad only with the holder's continued-use procedure
// recorded before the move date; without it the card lapses at the move, in the move's transaction.
#include "fixture.h"

namespace jlis::card::testing {
namespace {

using registry::EventType;

registry::ChangeEvent abroad(const std::string& id, const char* when, const ResidentCode& code) {
  registry::ChangeEvent e;
  e.event_id = id;
  e.type = EventType::move_out;
  e.date = date(when);
  e.resident_code = code;
  e.to = "abroad";
  e.address_abroad = "1 Rue de Rivoli, Paris";
  return e;
}

TEST_F(CardTest, AMoveAbroadWithoutTheProcedureInvalidatesTheCardAtTheMove) {
  auto r = born("b1", "1990-04-01");
  Card c = issued(r);
  ASSERT_EQ(card(c.card_id).status, CardStatus::active);
  // Submitted after its date (today is 2025-06-02), with no procedure: the card lapses.
  ASSERT_TRUE(change(kChiyoda, abroad("a1", "2025-05-20", r.resident_code)).is_ok());
  Card after = card(c.card_id);
  EXPECT_EQ(after.status, CardStatus::invalid);
  ASSERT_EQ(after.history.size(), c.history.size() + 1);
  EXPECT_EQ(after.history.back().action, "invalidated");
  EXPECT_EQ(after.history.back().date, date("2025-05-20"));
  EXPECT_FALSE(cards_->current_card_id(r.resident_code)->has_value());
  // Once abroad, the procedure can no longer be taken.
  EXPECT_EQ(cards_->request_continued_use(municipality(), r.resident_code, date("2025-06-10")).code(),
            Code::conflict);
}

TEST_F(CardTest, TheProcedureBeforeDepartureKeepsTheCardAndIsRecordedOnlyForTheHolder) {
  auto r = born("b1", "1990-04-01");
  Card c = issued(r);
  // Only the resident's municipality or the call centre, and an unknown code answers like another's.
  EXPECT_EQ(cards_->request_continued_use(municipality(kChuo), r.resident_code, date("2025-06-10")).code(),
            Code::not_found);
  EXPECT_EQ(cards_->request_continued_use(card_centre(), r.resident_code, date("2025-06-10")).code(),
            Code::permission_denied);
  EXPECT_EQ(cards_->request_continued_use(municipality(), r.resident_code, date("2025-06-01")).code(),
            Code::conflict);  // the departure date has passed
  EXPECT_EQ(count("SELECT COUNT(*) FROM card_continued_use"), 0);
  ASSERT_TRUE(cards_->request_continued_use(call_centre(), r.resident_code, date("2025-06-10")).is_ok());
  EXPECT_EQ(count("SELECT COUNT(*) FROM card_continued_use"), 1);
  ASSERT_TRUE(change(kChiyoda, abroad("a1", "2025-06-10", r.resident_code)).is_ok());
  EXPECT_EQ(card(c.card_id).status, CardStatus::active);
  EXPECT_EQ(cards_->current_card_id(r.resident_code)->value_or(""), c.card_id);
}

TEST_F(CardTest, AProcedureRecordedAfterTheMoveDateDoesNotCount) {
  auto r = born("b1", "1990-04-01");
  Card c = issued(r);
  // Recorded today (2025-06-02) for a departure today, but the move is then submitted dated the day before.
  ASSERT_TRUE(cards_->request_continued_use(municipality(), r.resident_code, date("2025-06-02")).is_ok());
  ASSERT_TRUE(change(kChiyoda, abroad("a1", "2025-06-01", r.resident_code)).is_ok());
  EXPECT_EQ(card(c.card_id).status, CardStatus::invalid);
}

}  // namespace
}  // namespace jlis::card::testing
