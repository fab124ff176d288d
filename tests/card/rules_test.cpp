// Card rules that follow the holder: a handover invalidates the holder's other cards, and the cards
// and applications follow a resident-code change. The clock is the fixture's injected today_.
#include "fixture.h"
#include "numbering/numbering.h"

namespace jlis::card::testing {
namespace {

TEST_F(CardTest, AHandoverInvalidatesTheHoldersSuspendedCard) {
  auto r = born("b1", "2010-09-15");
  today_ = date("2020-01-10");
  Card old = issued(r);  // issued at 9: valid through the 5th birthday after, 2024-09-15
  ASSERT_EQ(old.expires_on, date("2024-09-15"));
  today_ = date("2024-06-20");  // inside the renewal window
  auto renewal = accepted(request(r.resident_code));
  today_ = date("2024-07-01");
  const std::string fresh = produced(renewal.application_id);
  ASSERT_TRUE(cards_->suspend(call_centre(), old.card_id).ok());
  ASSERT_EQ(card(old.card_id).status, CardStatus::suspended);
  today_ = date("2024-07-05");
  auto handed = cards_->handover(municipality(), fresh, true);
  ASSERT_TRUE(handed.ok()) << handed.status().to_string();
  Card after = card(old.card_id);
  EXPECT_EQ(after.status, CardStatus::invalid);
  EXPECT_EQ(after.history.back().action, "invalidated");
  EXPECT_EQ(after.history.back().note, "replaced by card " + fresh);
  EXPECT_EQ(after.history.back().date, today_);
  EXPECT_EQ(card(fresh).status, CardStatus::active);
  EXPECT_EQ(cards_->current_card_id(r.resident_code)->value_or(""), fresh);
  // The invalidated card is gone for good: the call centre cannot resume it.
  EXPECT_EQ(cards_->resume(call_centre(), old.card_id).status().code(), Code::conflict);
  EXPECT_EQ(count("SELECT COUNT(*) FROM card_cards WHERE status IN ('shipped', 'active', 'suspended')"), 1);
}

// The fixture's registry has no numbering component; resident-code changes need one.
class NumberedCardTest : public CardTest {
 protected:
  void SetUp() override {
    CardTest::SetUp();
    auto conn = db_->connect().value();
    ASSERT_TRUE(numbering::Numbering::migrate(*conn).is_ok());
    ASSERT_TRUE(numbering::Numbering::create_key_file(dir_.string()).is_ok());
    numbering_ = numbering::Numbering::open(dir_.string()).value();
    cards_.reset();
    registry_ = std::make_unique<registry::Registry>(*pool_, *writer_, reference(), numbering_.get());
    CardSystemOptions options;
    options.clock = [this] { return today_; };
    cards_ = std::make_unique<CardSystem>(*pool_, *writer_, *registry_, options);
    cards_->attach(*registry_);
  }
  void TearDown() override {
    cards_.reset();
    registry_.reset();
    CardTest::TearDown();
    numbering_.reset();
  }
  std::unique_ptr<numbering::Numbering> numbering_;
};

TEST_F(NumberedCardTest, CardsAndApplicationsFollowAResidentCodeChange) {
  today_ = date("2025-06-02");
  auto r = born("b1", "1990-04-01");
  Card active = issued(r);
  // A second resident whose application is still waiting for production.
  auto other = born("b2", "1991-05-05");
  auto waiting = accepted(request(other.resident_code));

  auto change = [&](const registry::Resident& who, const char* id) {
    auto applied = registry_->submit(lg(kChiyoda), event(id, registry::EventType::resident_code_change,
                                                        "2025-06-03", who.resident_code));
    EXPECT_TRUE(applied.ok()) << applied.status().to_string();
    return applied->resident.resident_code;
  };
  today_ = date("2025-06-03");
  const ResidentCode r_new = change(r, "cc1");
  const ResidentCode other_new = change(other, "cc2");
  ASSERT_NE(r_new, r.resident_code);

  // The card is the holder's under the new code, and only there.
  EXPECT_EQ(card(active.card_id).resident_code, r_new);
  EXPECT_EQ(cards_->current_card_id(r_new)->value_or(""), active.card_id);
  EXPECT_FALSE(cards_->current_card_id(r.resident_code)->has_value());
  EXPECT_EQ(count("SELECT COUNT(*) FROM card_cards WHERE resident_code = " + std::to_string(r.resident_code.body())), 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM card_applications WHERE resident_code = " +
                  std::to_string(r.resident_code.body())), 0);
  // The card still works for its holder: the call centre suspends and resumes it.
  EXPECT_TRUE(cards_->suspend(call_centre(), active.card_id).ok());
  EXPECT_TRUE(cards_->resume(call_centre(), active.card_id).ok());

  // The waiting application follows too: it is produced for the new code, and handed over.
  auto a = cards_->application(card_centre(), waiting.application_id).value();
  EXPECT_EQ(a.resident_code, other_new);
  today_ = date("2025-06-10");
  const std::string made = produced(waiting.application_id);
  EXPECT_EQ(card(made).resident_code, other_new);
  auto handed = cards_->handover(municipality(), made, true);
  ASSERT_TRUE(handed.ok()) << handed.status().to_string();
  EXPECT_EQ(cards_->current_card_id(other_new)->value_or(""), made);
  // A second application under the new code is refused as for the same person (one card).
  rejected(request(other_new), Code::conflict);
  // The old code is retired: an application naming it is refused without a record.
  auto old_code = cards_->apply(card_centre(), request(r.resident_code));
  EXPECT_FALSE(old_code.ok() && old_code->rejection.is_ok());
}

}  // namespace
}  // namespace jlis::card::testing
