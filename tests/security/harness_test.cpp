// The harness proves itself: the world is built, the digest sees a write and only a write, and a
// first attack is refused without a trace.
#include <sstream>
#include <string>
#include <vector>

#include "world.h"

namespace jlis::security {
namespace {

class Harness : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { world_ = World::create("harness").release(); }
  static void TearDownTestSuite() {
    delete world_;
    world_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(world_ && world_->ok()) << "the world was not built"; }
  static inline World* world_ = nullptr;
};

// Rule: every role has its own token, and the world's resident has a card and both certificates.
TEST_F(Harness, EveryRoleHasADistinctTokenAndTheResidentHasCertificates) {
  std::set<std::string> distinct;
  for (const auto& [role, token] : world_->tokens().by_name()) {
    EXPECT_EQ(token.rfind("jlis_", 0), 0u) << role;
    distinct.insert(token);
  }
  EXPECT_EQ(distinct.size(), 9u);
  EXPECT_EQ(world_->resident().resident_code.size(), 11u);
  EXPECT_EQ(world_->resident().my_number.size(), 12u);
  EXPECT_FALSE(world_->resident().card_id.empty());
  EXPECT_EQ(world_->resident().signature_serial.size(), 32u);
  EXPECT_EQ(world_->resident().authentication_serial.size(), 32u);
}

// Rule: table_digest is stable across reads that record nothing, and changes with any write, in
// the line of the table written (here a provision row: an agency's read is recorded).
TEST_F(Harness, TableDigestSeesWritesAndOnlyWrites) {
  const std::string before = world_->table_digest();
  ASSERT_NE(before.find(".residents 1 rows "), std::string::npos) << before;
  EXPECT_EQ(world_->get("/v1/residents/" + world_->resident().resident_code, world_->tokens().chiyoda).result_int(),
            200);
  EXPECT_EQ(world_->table_digest(), before);
  const int64_t provisions = world_->provision_count();
  auto r = world_->get("/v1/residents/" + world_->resident().resident_code + "?purpose=" + World::kPurpose,
                       world_->tokens().agency);
  EXPECT_EQ(r.result_int(), 200) << r.body();
  EXPECT_EQ(world_->provision_count(), provisions + 1);
  const std::string after = world_->table_digest();
  std::vector<std::string> changed;  // the lines of `after` not in `before`
  std::istringstream lines(after);
  for (std::string line; std::getline(lines, line);)
    if (before.find(line + "\n") == std::string::npos) changed.push_back(line);
  ASSERT_EQ(changed.size(), 1u) << after;
  EXPECT_NE(changed[0].find(".provisions " + std::to_string(provisions + 1) + " rows "), std::string::npos)
      << changed[0];
}

// Rule: a municipality reads only the residents it holds (403 JSON, nothing changed, nothing
// provided).
TEST_F(Harness, AnotherMunicipalityCannotReadTheResident) {
  const std::string before = world_->table_digest();
  const int64_t provisions = world_->provision_count();
  auto r = world_->get("/v1/residents/" + world_->resident().resident_code, world_->tokens().chuo);
  EXPECT_TRUE(is_error_json(r, 404)) << "the answer of an unknown code (no existence oracle)";
  EXPECT_EQ(world_->table_digest(), before);
  EXPECT_EQ(world_->provision_count(), provisions);
}

}  // namespace
}  // namespace jlis::security
