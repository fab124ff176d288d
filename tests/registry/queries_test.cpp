// Queries, the provision record, statistics and population generation.
#include <nlohmann/json.hpp>

#include <map>
#include <set>

#include "fixture.h"
#include "registry/population.h"

namespace jlis::registry::testing {
namespace {

class QueryTest : public RegistryTest {
 protected:
  void SetUp() override {
    RegistryTest::SetUp();
    takahashi_ = registry_->submit(kChiyoda, birth("q1", "髙橋　太郎", "タカハシ　タロウ", "1985-07-07",
                                                   "東京都千代田区丸の内一丁目1番1号", Sex::male))->resident;
    namesake_ = registry_->submit(lg("131024"), birth("q2", "高橋 太郎", "たかはし　たろう", "1970-01-01",
                                                      "東京都中央区銀座一丁目2番2号", Sex::male))->resident;
    other_ = registry_->submit(kChiyoda, birth("q3", "山崎　花子", "ヤマザキ　ハナコ", "1985-07-07",
                                               "東京都千代田区千代田1番1号", Sex::female))->resident;
  }
  std::set<std::string> found(SearchQuery q) {
    auto r = registry_->search(q);
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    std::set<std::string> codes;
    if (r.ok())
      for (const auto& x : r->residents) codes.insert(x.resident_code.str());
    return codes;
  }
  Resident takahashi_, namesake_, other_;
};

TEST_F(QueryTest, SearchFoldsWidthKanaSpacesAndVariants) {
  const std::set<std::string> both = {takahashi_.resident_code.str(), namesake_.resident_code.str()};
  EXPECT_EQ(found({.name = "高橋太郎"}), both);
  EXPECT_EQ(found({.name = "髙橋　 太郎"}), both);
  EXPECT_EQ(found({.name_kana = "ﾀｶﾊｼ ﾀﾛｳ"}), both);
  EXPECT_EQ(found({.name_kana = "たかはしたろう"}), both);
  EXPECT_EQ(found({.name = "高橋太郎", .date_of_birth = date("1985-07-07")}),
            std::set<std::string>{takahashi_.resident_code.str()});
  EXPECT_EQ(found({.name = "高橋太郎", .address = "東京都中央区"}),
            std::set<std::string>{namesake_.resident_code.str()});
  EXPECT_EQ(found({.address = "千代田区丸の内"}), std::set<std::string>{takahashi_.resident_code.str()});
  EXPECT_EQ(found({.date_of_birth = date("1985-07-07"), .sex = Sex::female}),
            std::set<std::string>{other_.resident_code.str()});
  EXPECT_TRUE(found({.name = "高橋次郎"}).empty());
  EXPECT_EQ(found({.address = "千代田区"}),
            (std::set<std::string>{takahashi_.resident_code.str(), other_.resident_code.str()}));
  EXPECT_EQ(found({.name = "山﨑 花子"}), std::set<std::string>{other_.resident_code.str()});
}

TEST_F(QueryTest, SearchCapsItsResultsAndRefusesAnEmptyQuery) {
  auto capped = registry_->search({.date_of_birth = date("1985-07-07"), .limit = 1});
  ASSERT_TRUE(capped.ok());
  EXPECT_EQ(capped->residents.size(), 1u);
  EXPECT_TRUE(capped->truncated);
  auto all = registry_->search({.date_of_birth = date("1985-07-07"), .limit = 2});
  EXPECT_FALSE(all->truncated);
  EXPECT_EQ(registry_->search({.sex = Sex::male}).status().code(), Code::invalid_argument);
  EXPECT_EQ(registry_->search({.name = "x", .limit = 0}).status().code(), Code::invalid_argument);
  EXPECT_EQ(registry_->search({.name = "x", .limit = 101}).status().code(), Code::invalid_argument);
}

TEST_F(QueryTest, LookupByResidentCodeAndMyNumber) {
  EXPECT_EQ(registry_->get(takahashi_.resident_code)->person.name, "髙橋　太郎");
  EXPECT_EQ(registry_->get(ResidentCode::from_body(42)).status().code(), Code::not_found);
  EXPECT_EQ(registry_->find_by_my_number(MyNumber::parse("983205673214").value()).status().code(), Code::not_found);
}

TEST_F(QueryTest, ProvisionsAreRecordedPerResident) {
  ASSERT_TRUE(registry_->record_provision("ag-1", "年金機構", "pension",
                                          {takahashi_.resident_code, other_.resident_code}, "req-1").is_ok());
  ASSERT_TRUE(registry_->record_provision("ag-2", "国税庁", "tax", {takahashi_.resident_code}, "req-2").is_ok());
  auto list = registry_->provisions(takahashi_.resident_code);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].agency_name, "年金機構");
  EXPECT_EQ((*list)[0].purpose, "pension");
  EXPECT_EQ((*list)[0].request_id, "req-1");
  EXPECT_EQ((*list)[1].agency_id, "ag-2");
  EXPECT_FALSE((*list)[1].provided_at.empty());
  EXPECT_EQ(registry_->provisions(other_.resident_code)->size(), 1u);
  EXPECT_TRUE(registry_->provisions(namesake_.resident_code)->empty());
}

TEST_F(QueryTest, MigrationStatisticsCountMoveInsOfTheMonth) {
  auto out = on("s1", EventType::move_out, "2025-03-31", other_.resident_code);
  out.to = "131024";
  ASSERT_TRUE(registry_->submit(kChiyoda, out).ok());
  auto in = on("s2", EventType::move_in, "2025-04-01", other_.resident_code);
  in.from = kChiyoda.str();
  in.address = "東京都中央区銀座一丁目1番1号";
  in.name = "山崎　花子";
  in.date_of_birth = date("1985-07-07");
  in.sex = Sex::female;
  ASSERT_TRUE(registry_->submit(lg("131024"), in).ok());
  EXPECT_TRUE(registry_->migration_stats(2025, 3)->empty());
  auto april = registry_->migration_stats(2025, 4);
  ASSERT_EQ(april->size(), 1u);
  EXPECT_EQ((*april)[0].municipality, lg("131024"));
  EXPECT_EQ((*april)[0].from_municipalities, 1);
}

TEST_F(RegistryTest, AGeneratedPopulationIsRealisticAndBuiltFromEvents) {
  PopulationOptions options;
  options.count = 3000;
  options.seed = 11;
  options.batch = 700;
  int64_t last_progress = 0;
  options.progress = [&](int64_t done, int64_t) { last_progress = done; };
  auto report = generate_population(*registry_, JLIS_REFERENCE_DIR, options);
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  EXPECT_EQ(report->residents, 3000);
  EXPECT_EQ(report->refused, 0) << report->first_refusal;
  EXPECT_EQ(last_progress, 3000);
  EXPECT_GT(report->events, 3000);  // some history beyond the first registrations

  EXPECT_EQ(count("SELECT COUNT(*) FROM residents"), 3000);
  EXPECT_GT(count("SELECT COUNT(DISTINCT municipality_code) FROM residents"), 500);
  EXPECT_GT(count("SELECT COUNT(*) FROM change_events WHERE type = 'move_in' AND from_code <> 'abroad'"), 100);
  EXPECT_GT(count("SELECT COUNT(*) FROM change_events WHERE type = 'name_change'"), 50);
  EXPECT_GT(count("SELECT COUNT(*) FROM residents WHERE status = 'deceased'"), 5);
  int64_t male = count("SELECT COUNT(*) FROM residents WHERE sex = 'male'");
  EXPECT_GT(male, 1300);
  EXPECT_LT(male, 1650);
  // Big wards outnumber villages.
  EXPECT_GT(count("SELECT COUNT(*) FROM residents WHERE municipality_code LIKE '131%'"),
            count("SELECT COUNT(*) FROM residents WHERE municipality_code LIKE '133%' OR municipality_code LIKE '134%'"));
  // Every stored record is what its last history entry says.
  auto some = registry_->search({.date_of_birth = registry_->get(ResidentCode::from_body(
      static_cast<uint64_t>(count("SELECT MIN(resident_code) FROM residents")))).value().person.date_of_birth});
  ASSERT_TRUE(some.ok());
  for (const auto& r : some->residents) {
    auto h = registry_->history(r.resident_code);
    ASSERT_TRUE(h.ok());
    EXPECT_EQ(nlohmann::json::parse(h->back().resident_json), to_json(r));
  }
  // The same seed again is replayed by the idempotency keys, not applied twice: every event of the
  // rerun is answered as before (none refused: a refusal is not a replay) and nothing is added.
  const int64_t history_rows = count("SELECT COUNT(*) FROM change_events");
  ASSERT_EQ(history_rows, report->events);
  auto again = generate_population(*registry_, JLIS_REFERENCE_DIR, options);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->refused, 0) << again->first_refusal;
  EXPECT_EQ(again->residents, 3000);
  EXPECT_EQ(again->events, report->events);
  EXPECT_EQ(count("SELECT COUNT(*) FROM residents"), 3000);
  EXPECT_EQ(count("SELECT COUNT(*) FROM change_events"), history_rows);
}

}  // namespace
}  // namespace jlis::registry::testing
