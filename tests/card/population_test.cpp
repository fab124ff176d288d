// Cards for a generated population: plausible shares, consistent records, nothing added on a rerun;
// and production of a deep queue, express first.
#include "card/population.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "fixture.h"
#include "registry/population.h"

namespace jlis::card::testing {
namespace {

TEST_F(CardTest, GeneratedCardsAreConsistentAndPlausible) {
  today_ = Date::today();  // the population's ages are counted from today
  registry::PopulationOptions people;
  const char* env = std::getenv("JLIS_CARD_RESIDENTS");  // 100000 for the size of `make run`
  people.count = env ? std::atoll(env) : 3000;
  people.seed = 5;
  auto made = registry::generate_population(*registry_, JLIS_REFERENCE_DIR, people);
  ASSERT_TRUE(made.ok()) << made.status().to_string();
  const int64_t living = count("SELECT COUNT(*) FROM residents WHERE status = 'resident'");

  auto report = generate_cards(*cards_, {.seed = 9});
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  const auto& r = *report;
  EXPECT_EQ(r.failures, 0) << r.first_failure;
  EXPECT_EQ(r.residents, living);
  EXPECT_NEAR(static_cast<double>(r.applicants) / static_cast<double>(r.residents), 0.75, 0.04);
  EXPECT_GT(r.rejected, 0);
  EXPECT_LT(r.rejected, r.applicants / 8);
  EXPECT_EQ(r.applicants, r.active + r.suspended + r.lost + r.returned + r.expired + r.shipped + r.queued);
  EXPECT_GT(r.active, r.applicants * 8 / 10);
  std::printf("cards for %lld residents: %lld applications (%lld rejected), %lld cards; active %lld, suspended %lld, "
              "lost %lld, returned %lld, expired %lld, shipped %lld, queued %lld; %.0f cards/s\n",
              static_cast<long long>(r.residents), static_cast<long long>(r.applications),
              static_cast<long long>(r.rejected), static_cast<long long>(r.cards), static_cast<long long>(r.active),
              static_cast<long long>(r.suspended), static_cast<long long>(r.lost),
              static_cast<long long>(r.returned), static_cast<long long>(r.expired),
              static_cast<long long>(r.shipped), static_cast<long long>(r.queued),
              static_cast<double>(r.cards) / r.seconds);

  // The records agree with the report and with the rules.
  const std::string t = "'" + today_.to_iso() + "'";
  EXPECT_EQ(count("SELECT COUNT(*) FROM card_applications"), r.applications);
  EXPECT_EQ(count("SELECT COUNT(*) FROM card_applications WHERE status = 'rejected'"), r.rejected);
  EXPECT_EQ(count("SELECT COUNT(*) FROM card_cards"), r.cards);
  EXPECT_EQ(count("SELECT COUNT(*) FROM card_cards WHERE status = 'active' AND expires_on >= " + t), r.active);
  // An expired card whose renewal is queued or shipped counts as that.
  EXPECT_EQ(count("SELECT COUNT(*) FROM card_cards c WHERE status IN ('active', 'suspended') AND expires_on < " + t +
                  " AND NOT EXISTS (SELECT 1 FROM card_applications p WHERE p.resident_code = c.resident_code AND "
                  "p.status IN ('accepted', 'shipped'))"), r.expired);
  EXPECT_EQ(count("SELECT COUNT(*) FROM card_cards WHERE status = 'suspended' AND expires_on >= " + t), r.suspended);
  EXPECT_EQ(count("SELECT COUNT(*) FROM card_cards WHERE status = 'shipped'"), r.shipped);
  EXPECT_EQ(count("SELECT COUNT(*) FROM card_applications WHERE status = 'accepted'"), r.queued);
  // One card in hand at most; a renewal's card may wait for handover beside the old one.
  EXPECT_EQ(count("SELECT COUNT(*) FROM (SELECT resident_code FROM card_cards WHERE status IN "
                  "('active', 'suspended') GROUP BY resident_code HAVING COUNT(*) > 1) AS held"), 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM (SELECT resident_code FROM card_cards WHERE status = 'shipped' "
                  "GROUP BY resident_code HAVING COUNT(*) > 1) AS waiting"), 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM card_applications a JOIN card_cards c ON c.card_id = a.card_id "
                  "WHERE a.status = 'delivered' AND c.delivered_on IS NULL"), 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM card_cards WHERE issued_on > " + t + " OR delivered_on > " + t), 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM card_cards WHERE delivered_on < issued_on"), 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM card_cards c WHERE (SELECT COUNT(*) FROM card_events e "
                  "WHERE e.card_seq = c.card_seq AND e.action IN ('produced', 'shipped')) <> 2"), 0);
  EXPECT_GT(count("SELECT COUNT(*) FROM card_cards WHERE status = 'invalid'"), 0);  // renewed
  EXPECT_GT(count("SELECT COUNT(*) FROM card_applications WHERE express = 'reissue'"), 0);

  // Every generated resident's JSON shows the current card.
  int64_t decorated = 0;
  auto conn = pool_->acquire().value();
  ASSERT_TRUE(registry_->for_each_resident(std::nullopt, [&](const registry::Resident& res) {
    nlohmann::json j;
    cards_->decorate(*conn, res, j);
    if (!j["card_id"].is_null()) ++decorated;
  }).is_ok());
  // (A resident whose renewal is still shipped is shown the old card while it is valid.)
  EXPECT_EQ(decorated, count("SELECT COUNT(DISTINCT resident_code) FROM card_cards WHERE status IN "
                             "('active', 'suspended') AND expires_on >= " + t));
  EXPECT_GE(decorated, r.active + r.suspended);

  // A second run leaves everyone with an application alone.
  const std::string before = state();
  auto again = generate_cards(*cards_, {.seed = 9});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->skipped, r.applicants);
  EXPECT_EQ(again->residents, living - r.applicants);
  EXPECT_EQ(count("SELECT COUNT(*) FROM card_applications"), r.applications + again->applications);
}

// The same population, seed and today give every person the same card history, though numbering
// draws their resident codes (and the cards' ids) at random in each run; another seed gives others.
TEST_F(CardTest, TheSameSeedGivesEveryPersonTheSameCardHistory) {
  today_ = Date::today();  // the population's ages are counted from today
  const auto histories = [this](uint64_t card_seed) {
    registry::PopulationOptions people;
    people.count = 600;
    people.seed = 5;
    EXPECT_TRUE(registry::generate_population(*registry_, JLIS_REFERENCE_DIR, people).ok());
    EXPECT_TRUE(generate_cards(*cards_, {.seed = card_seed}).ok());
    std::map<int64_t, std::string> who;
    EXPECT_TRUE(registry_->for_each_resident(std::nullopt, [&](const registry::Resident& r) {
      who[static_cast<int64_t>(r.resident_code.body())] =
          r.person.name + "|" + r.person.date_of_birth.to_iso() + "|" + r.person.address;
    }).is_ok());
    std::multiset<std::string> out;
    auto conn = pool_->acquire().value();
    EXPECT_TRUE(conn->query("SELECT resident_code, status, issued_on, expires_on, COALESCE(delivered_on, ''), "
                            "signature_certificate_allowed FROM card_cards", {}, [&](const store::Row& row) {
      out.insert(who.at(row.int64(0)) + "|" + row.text(1) + "|" + row.text(2) + "|" + row.text(3) + "|" +
                 row.text(4) + "|" + std::to_string(row.int64(5)));
      return true;
    }).is_ok());
    return out;
  };
  const auto first = histories(9);
  std::set<std::string> codes_before;
  ASSERT_TRUE(registry_->for_each_resident(std::nullopt, [&](const registry::Resident& r) {
    codes_before.insert(r.resident_code.str());
  }).is_ok());
  ASSERT_GT(first.size(), 300u);
  TearDown();  // and again on a new store
  test_store_ = std::make_unique<store::testing::TestStore>();
  SetUp();
  const auto second = histories(9);
  size_t codes_again = 0;
  ASSERT_TRUE(registry_->for_each_resident(std::nullopt, [&](const registry::Resident& r) {
    codes_again += codes_before.count(r.resident_code.str());
  }).is_ok());
  EXPECT_LT(codes_again, 5u);  // new resident codes, so the histories do not hang on them
  EXPECT_EQ(first, second);
  TearDown();  // and again on a new store
  test_store_ = std::make_unique<store::testing::TestStore>();
  SetUp();
  EXPECT_NE(histories(10), first);
}

// Production empties a deep queue over many writer transactions, express first across them (its
// rate is bench/card_production's).
TEST_F(CardTest, ProductionEmptiesADeepQueueExpressFirstAcrossBatches) {
  const int64_t n = 5000;
  // Queue applications directly, as if accepted: the residents need not exist for production.
  ASSERT_TRUE(writer_->run([&](store::Connection& conn) {
    for (int64_t i = 0; i < n; ++i) {
      JLIS_RETURN_IF_ERROR(conn.execute(
          "INSERT INTO card_applications (resident_code, municipality_code, channel, photo, express, queue_rank, "
          "date_of_birth, status, applied_on, due_on, submitted_by, recorded_at) "
          "VALUES (?, '131016', 'web', 1, ?, ?, '1980-01-01', 'accepted', '2025-05-01', ?, 'test', 'now')",
          {i + 1, i % 50 == 0 ? store::Value(std::string("newborn")) : store::Value(nullptr),
           int64_t{i % 50 == 0 ? 0 : 1},
           i % 50 == 0 ? store::Value(std::string("2025-05-08")) : store::Value(nullptr)}).status());
    }
    return Status::ok();
  }).is_ok());
  CardSystemOptions options;
  options.clock = [this] { return today_; };
  options.production_batch = 40;  // the 100 express applications span three transactions
  CardSystem factory(*pool_, *writer_, *registry_, options);
  auto report = factory.produce(SIZE_MAX);
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  EXPECT_EQ(report->produced, n);
  EXPECT_EQ(report->express, (n + 49) / 50);
  EXPECT_EQ(report->remaining, 0);
  // Express first: every express card was made before any ordinary one.
  const char* seq = "SELECT %s(e.seq) FROM card_events e JOIN card_cards c ON c.card_seq = e.card_seq "
                    "WHERE e.action = 'produced' AND c.express IS %s";
  char last_express[256], first_ordinary[256];
  std::snprintf(last_express, sizeof last_express, seq, "MAX", "NOT NULL");
  std::snprintf(first_ordinary, sizeof first_ordinary, seq, "MIN", "NULL");
  EXPECT_LT(count(last_express), count(first_ordinary));
}

}  // namespace
}  // namespace jlis::card::testing
