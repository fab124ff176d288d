// Attacks on the idempotency of card actions and applications (ARCHITECTURE.md §5) through HTTP on
// the real `jlis serve`: an Idempotency-Key is its caller's own, so sending another caller's key
// neither replays that caller's answer (the card with its holder's history, the application with
// the resident's code) nor skips the checks of the action.
// Each refusal is a 4xx JSON error that changes nothing (table_digest).
#include "world.h"

namespace jlis::security {
namespace {

class CardActionAttacks : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { world_ = World::create("card-keys").release(); }
  static void TearDownTestSuite() {
    delete world_;
    world_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(world_ && world_->ok()) << "the world was not built"; }

  Reply keyed(const std::string& card_id, const std::string& action, const std::string& token,
              const std::string& key) {
    return world_->request(bhttp::verb::post, "/v1/cards/" + card_id + "/" + action, "", token,
                           {{"Idempotency-Key", key}});
  }
  static inline World* world_ = nullptr;
};

// Rule: another role sending the call centre's key is judged as itself (403), and gets no replay.
TEST_F(CardActionAttacks, AnotherRoleWithTheCallCentresKeyGetsNoReplay) {
  Resident r = world_->resident_with_card("keys-1", "1980-02-02", CardKey::make(), CardKey::make());
  auto first = keyed(r.card_id, "suspend", world_->tokens().call_centre, "shared-1");
  ASSERT_EQ(first.result_int(), 200) << first.body();
  const std::string before = world_->table_digest();
  for (const auto& [role, token] : world_->tokens().by_name()) {
    if (role == "call-centre") continue;
    auto r2 = keyed(r.card_id, "suspend", token, "shared-1");
    EXPECT_TRUE(is_error_json(r2)) << role << ": " << r2.result_int() << " " << r2.body();
    EXPECT_EQ(r2["Idempotent-Replayed"], "") << role;
    EXPECT_EQ(r2.body().find(r.card_id), std::string::npos) << role << " got the card: " << r2.body();
  }
  EXPECT_EQ(world_->table_digest(), before);
}

// Rule: a municipality that is not the holder's cannot return the card under the holder
// municipality's key: 403, the card and the key's record unchanged.
TEST_F(CardActionAttacks, AnotherMunicipalityWithTheHoldersMunicipalitysKeyIsRefused) {
  Resident r = world_->resident_with_card("keys-2", "1981-03-03", CardKey::make(), CardKey::make());
  auto first = keyed(r.card_id, "suspend", world_->tokens().call_centre, "return-2");
  ASSERT_EQ(first.result_int(), 200) << first.body();
  const std::string before = world_->table_digest();
  auto theirs = keyed(r.card_id, "return", world_->tokens().chuo, "return-2");
  EXPECT_TRUE(is_error_json(theirs, 403)) << theirs.result_int() << " " << theirs.body();
  EXPECT_EQ(world_->table_digest(), before);
  auto card = world_->get("/v1/cards/" + r.card_id, world_->tokens().call_centre);
  EXPECT_EQ(json::parse(card.body())["status"], "suspended") << card.body();
}

// Rule: every other role sending the holder municipality's application under its key and body is
// judged as itself (a refusal), and gets no replay of the application (its id, the resident code).
TEST_F(CardActionAttacks, AnotherCallerWithAMunicipalitysApplicationKeyGetsNoReplay) {
  const std::string resident = world_->resident().resident_code;
  // The world's resident holds an active card: the application is recorded, rejected, under the key.
  const json application = {{"resident_code", resident}, {"channel", "window"}, {"photo", true}};
  auto apply = [&](const std::string& token) {
    return world_->request(bhttp::verb::post, "/v1/cards/applications", application.dump(), token,
                           {{"Idempotency-Key", "apply-1"}});
  };
  auto first = apply(world_->tokens().chiyoda);
  ASSERT_TRUE(is_error_json(first, 409)) << first.result_int() << " " << first.body();
  const json recorded = json::parse(first.body());
  ASSERT_EQ(recorded["status"], "rejected") << first.body();
  auto again = apply(world_->tokens().chiyoda);
  EXPECT_EQ(again["Idempotent-Replayed"], "true");
  EXPECT_EQ(again.body(), first.body());
  const std::string before = world_->table_digest();
  for (const auto& [role, token] : world_->tokens().by_name()) {
    if (role == "municipality" || role == "card-centre") continue;  // the card centre may apply (not at the window)
    auto theirs = apply(token);
    EXPECT_TRUE(is_error_json(theirs)) << role << ": " << theirs.result_int() << " " << theirs.body();
    EXPECT_EQ(theirs["Idempotent-Replayed"], "") << role;
    EXPECT_EQ(theirs.body().find(resident), std::string::npos) << role << " got the resident code: " << theirs.body();
    EXPECT_EQ(theirs.body().find("application_id"), std::string::npos) << role << ": " << theirs.body();
  }
  // The card centre is refused a window application (403) and gets no replay either.
  auto centre = apply(world_->tokens().card_centre);
  EXPECT_TRUE(is_error_json(centre, 403)) << centre.result_int() << " " << centre.body();
  EXPECT_EQ(centre["Idempotent-Replayed"], "");
  EXPECT_EQ(world_->table_digest(), before);
}

// Rule: only the holder's municipality records a PIN reset (the step that unlocks a locked card at
// the window); every other caller, another municipality included, is refused and nothing is
// recorded, and the answer carries none of the card's history.
TEST_F(CardActionAttacks, OnlyTheHoldersMunicipalityResetsAPin) {
  Resident r = world_->resident_with_card("keys-pin", "1982-04-04", CardKey::make(), CardKey::make());
  const std::string before = world_->table_digest();
  for (const auto& [role, token] : world_->tokens().by_name()) {
    if (role == "municipality") continue;
    auto reply = world_->request(bhttp::verb::post, "/v1/cards/" + r.card_id + "/pin-reset",
                                 R"({"secret": "authentication_pin"})", token);
    EXPECT_TRUE(is_error_json(reply)) << role << ": " << reply.result_int() << " " << reply.body();
    EXPECT_EQ(reply.body().find("handed_over"), std::string::npos) << role << " got the history: " << reply.body();
  }
  EXPECT_EQ(world_->table_digest(), before);
  auto own = world_->request(bhttp::verb::post, "/v1/cards/" + r.card_id + "/pin-reset",
                             R"({"secret": "authentication_pin"})", world_->tokens().chiyoda);
  EXPECT_EQ(own.result_int(), 200) << own.body();
  EXPECT_NE(world_->table_digest(), before);
}

}  // namespace
}  // namespace jlis::security
