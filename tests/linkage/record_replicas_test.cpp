// The municipalities' replicas kept in step with their records (linkage/record_replicas.h; issue
// 11 §2): a sweep writes a registered city's household and tax items for the persons the platform
// knows, writes nothing when nothing changed, withdraws the register's items when the person is no
// longer a resident, and writes nothing for a municipality that is not a registered body. On SQLite
// and PostgreSQL.
#include "linkage/record_replicas.h"

#include "../pki/test_ca.h"
#include "../registry/fixture.h"
#include "linkage/bodies.h"
#include "linkage/codes.h"
#include "linkage/message_log.h"
#include "municipal/tax.h"

namespace jlis::linkage {
namespace {

using registry::ChangeEvent;
using registry::EventType;
using registry::HouseholdPlacement;
using registry::Resident;
using registry::Sex;

class RecordReplicasTest : public registry::testing::RegistryTest {
 protected:
  void SetUp() override {
    RegistryTest::SetUp();
    {
      auto conn = db_->connect().value();
      for (Status s : {municipal::Households::migrate(*conn), municipal::TaxRecords::migrate(*conn),
                       Bodies::migrate(*conn), LinkageCodes::migrate(*conn), Replicas::migrate(*conn)})
        ASSERT_TRUE(s.is_ok()) << s.to_string();
    }
    households_ = std::make_unique<municipal::Households>(*pool_, *writer_, *registry_, [this] { return today_; });
    households_->attach();
    directory_ = std::make_unique<auth::Directory>(*pool_, *writer_);
    bodies_ = std::make_unique<Bodies>(*pool_, *writer_, *directory_);
    key_ = pki::testing::make_key();
    codes_ = std::make_unique<LinkageCodes>(*pool_, *writer_, key_.get());
    layouts_ = DataLayouts::shipped().value();
    records_ = std::make_unique<RecordReplicas>(*writer_, *layouts_, *registry_, *households_);
    pension_ = bodies_->add(BodyKind::pension_service, "日本年金機構", "1011105003233").value().first.body_id;
  }
  void TearDown() override {
    records_.reset();
    codes_.reset();
    bodies_.reset();
    directory_.reset();
    households_.reset();
    RegistryTest::TearDown();
  }

  Resident born(const std::string& id, const char* name, int years_ago, std::optional<HouseholdPlacement> under = {}) {
    ChangeEvent e;
    e.event_id = id;
    e.type = EventType::birth;
    e.date = today_.add_years(-years_ago);
    e.person = registry::Person{name, "ヤマダ　タロウ", e.date, Sex::male, registry::testing::kChiyodaAddress};
    e.household = std::move(under);
    auto r = registry_->submit(registry::testing::kChiyoda, e);
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() ? r->resident : Resident{};
  }
  // The city's replica of the person the pension service knows by `code`.
  ItemValues city_replica(const std::string& code, const std::string& city = "municipality-131016") {
    auto conn = pool_->acquire().value();
    auto person = LinkageCodes::person_of(*conn, pension_, code).value();
    EXPECT_TRUE(person.has_value());
    return Replicas::read(*conn, city, person.value_or(""),
                          {"RS001", "RS002", "RS003", "RS004", "TX001", "TX002", "TX003", "TX004", "TX005", "TX006"})
        .value();
  }
  SweepStep sweep_all() {
    auto step = records_->sweep("", 100, today_);
    EXPECT_TRUE(step.ok()) << step.status().to_string();
    EXPECT_EQ(step.ok() ? step->cursor : "x", "");
    return step.ok() ? *step : SweepStep{};
  }

  Date today_ = Date::today();
  std::unique_ptr<municipal::Households> households_;
  std::unique_ptr<auth::Directory> directory_;
  std::unique_ptr<Bodies> bodies_;
  pki::EvpPkeyPtr key_;
  std::unique_ptr<LinkageCodes> codes_;
  const DataLayouts* layouts_ = nullptr;
  std::unique_ptr<RecordReplicas> records_;
  std::string pension_;
};

// Rule: the household's size, the person's 続柄 as the layout's code, the day they became resident,
// the head's name and the newest assessment of the city reach the city's replica by a sweep, for
// the persons the platform knows; no assessment is 未申告 (TX004 3); a second sweep changes nothing;
// a death withdraws the register's items and keeps the tax items; a municipality that is not a
// registered body gets nothing.
TEST_F(RecordReplicasTest, TheCitysRecordsReachItsReplicaWithoutManualWork) {
  const Resident head = born("h", "山田　太郎", 45);
  const Resident wife = born("w", "山田　花子", 43, HouseholdPlacement{head.resident_code, "妻"});
  const Resident son = born("s", "山田　一郎", 12, HouseholdPlacement{head.resident_code, "子"});
  municipal::IncomeDeclaration declaration;
  declaration.fiscal_year = municipal::kLastTaxYear;
  declaration.age = 45;
  declaration.salary_revenue = 6'000'000;
  declaration.social_insurance_premiums = 850'000;
  const municipal::TaxAssessment assessed = municipal::assess(declaration, false).value();
  ASSERT_GT(assessed.total, 0);
  {
    auto conn = db_->connect().value();
    ASSERT_TRUE(municipal::TaxRecords::record(*conn, {head.resident_code, declaration.fiscal_year,
                                                      registry::testing::kChiyoda, declaration, assessed, "x"})
                    .is_ok());
  }
  const std::string head_code = codes_->code_for(pension_, head.resident_code).value();
  const std::string son_code = codes_->code_for(pension_, son.resident_code).value();

  // 千代田区 is not a registered body yet: nothing is written.
  EXPECT_EQ(sweep_all().refreshed, 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM linkage_replicas"), 0);

  ASSERT_TRUE(bodies_->add(BodyKind::municipality, "千代田区", "131016").ok());
  SweepStep step = sweep_all();
  EXPECT_EQ(step.persons, 2) << "only the persons the platform knows (the wife has no code)";
  EXPECT_EQ(step.refreshed, 2);
  EXPECT_EQ(city_replica(head_code),
            (ItemValues{{"RS001", "3"},
                        {"RS002", "01"},
                        {"RS003", today_.add_years(-45).to_iso()},
                        {"RS004", "山田　太郎"},
                        {"TX001", std::to_string(assessed.taxable_income)},
                        {"TX002", std::to_string(assessed.income_levy_municipal)},
                        {"TX003", std::to_string(assessed.income_levy_prefectural)},
                        {"TX004", "1"},
                        {"TX005", std::to_string(assessed.total_income)},
                        {"TX006", std::to_string(assessed.forest_environment_tax)}}));
  EXPECT_EQ(city_replica(son_code), (ItemValues{{"RS001", "3"},
                                                {"RS002", "04"},
                                                {"RS003", today_.add_years(-12).to_iso()},
                                                {"RS004", "山田　太郎"},
                                                {"TX004", "3"}}));
  EXPECT_EQ(sweep_all().refreshed, 0) << "nothing changed, nothing is written";

  ChangeEvent death;
  death.event_id = "d";
  death.type = EventType::death;
  death.date = today_;
  death.resident_code = head.resident_code;
  ASSERT_TRUE(registry_->submit(registry::testing::kChiyoda, death).ok());
  EXPECT_EQ(sweep_all().refreshed, 2) << "the head's items and the son's household both changed";
  const ItemValues after = city_replica(head_code);
  EXPECT_EQ(after.count("RS001"), 0u);
  EXPECT_EQ(after.at("TX004"), "1");
  EXPECT_NE(city_replica(son_code).at("RS001"), "3");
  (void)wife;
}

// Rule: a designated city is the body for the residents of its wards: a resident of 横浜市中区 is in
// 横浜市's replica.
TEST_F(RecordReplicasTest, ADesignatedCityProvidesForItsWards) {
  ChangeEvent e;
  e.event_id = "y";
  e.type = EventType::birth;
  e.date = today_.add_years(-30);
  e.person = registry::Person{"横浜　太郎", "ヨコハマ　タロウ", e.date, Sex::male, "神奈川県横浜市中区山下町1番地"};
  auto born = registry_->submit(LocalGovernmentCode::parse("141046").value(), e);
  ASSERT_TRUE(born.ok()) << born.status().to_string();
  const std::string code = codes_->code_for(pension_, born->resident.resident_code).value();
  ASSERT_TRUE(bodies_->add(BodyKind::municipality, "横浜市", "141003").ok());
  EXPECT_EQ(sweep_all().refreshed, 1);
  EXPECT_EQ(city_replica(code, "municipality-141003").at("RS002"), "01");
  EXPECT_EQ(count("SELECT COUNT(*) FROM linkage_replicas WHERE provider <> 'municipality-141003'"), 0);
}

// Rule: a sweep goes a batch at a time: the cursor moves through the persons and is "" after the
// last, the next pass starting over.
TEST_F(RecordReplicasTest, ASweepGoesABatchAtATime) {
  for (int i = 0; i < 5; ++i) {
    const Resident r = born("p" + std::to_string(i), "山田　太郎", 30 + i);
    ASSERT_TRUE(codes_->code_for(pension_, r.resident_code).ok());
  }
  std::string cursor;
  std::vector<int64_t> sizes;
  do {
    auto step = records_->sweep(cursor, 2, today_);
    ASSERT_TRUE(step.ok()) << step.status().to_string();
    sizes.push_back(step->persons);
    cursor = step->cursor;
  } while (!cursor.empty());
  EXPECT_EQ(sizes, (std::vector<int64_t>{2, 2, 1}));
}

}  // namespace
}  // namespace jlis::linkage
