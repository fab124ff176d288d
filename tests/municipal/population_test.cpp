// `jlis population generate` as the library does it: a registry population made in households
// (registry/population.h), then the municipalities' records for it (municipal/population.h): family
// registers consistent with the households, their 附票, and tax records. Ages and dates are
// relative to today.
#include "municipal/population.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <set>

#include <nlohmann/json.hpp>

#include "../registry/fixture.h"
#include "municipal/fuhyo.h"
#include "municipal/household.h"
#include "municipal/koseki.h"
#include "municipal/tax.h"
#include "registry/population.h"

namespace jlis::municipal {
namespace {

using registry::Resident;
using registry::Sex;

class GeneratedPopulationTest : public registry::testing::RegistryTest {
 protected:
  void SetUp() override {
    RegistryTest::SetUp();
    auto conn = db_->connect().value();
    ASSERT_TRUE(Households::migrate(*conn).is_ok());
    ASSERT_TRUE(Koseki::migrate(*conn).is_ok());
    ASSERT_TRUE(TaxRecords::migrate(*conn).is_ok());
    ASSERT_TRUE(SealRegistrations::migrate(*conn).is_ok());
    households_ = std::make_unique<Households>(*pool_, *writer_, *registry_);
    households_->attach();
    Fuhyo::attach(*registry_);
    seals_ = std::make_unique<SealRegistrations>(*pool_, *writer_, *registry_);
    seals_->attach();
  }
  void TearDown() override {
    seals_.reset();
    households_.reset();
    RegistryTest::TearDown();
  }

  // A population of `count` residents and its municipal records.
  void generate(int64_t count = 3000, uint64_t seed = 7) {
    registry::PopulationOptions options;
    options.count = count;
    options.seed = seed;
    options.batch = 1000;
    auto made = registry::generate_population(*registry_, JLIS_REFERENCE_DIR, options);
    ASSERT_TRUE(made.ok()) << made.status().to_string();
    ASSERT_EQ(made->refused, 0) << made->first_refusal;
    population_ = *made;
    MunicipalPopulationOptions municipal;
    municipal.seed = seed;
    municipal.batch = 500;
    municipal.seals = seals_.get();
    auto records = generate_municipal_records(*pool_, *writer_, *registry_, municipal);
    ASSERT_TRUE(records.ok()) << records.status().to_string();
    ASSERT_EQ(records->failures, 0) << records->first_failure;
    records_ = *records;
  }

  std::map<ResidentCode, Resident> residents() {
    std::map<ResidentCode, Resident> out;
    EXPECT_TRUE(registry_->for_each_resident(std::nullopt, [&](const Resident& r) { out.emplace(r.resident_code, r); })
                    .is_ok());
    return out;
  }
  // Every current household, read through Households::of from each head.
  std::vector<Household> all_households() {
    std::vector<Household> out;
    auto conn = pool_->acquire().value();
    std::vector<int64_t> heads;
    EXPECT_TRUE(conn->query("SELECT head FROM municipal_households WHERE dissolved_on IS NULL ORDER BY id", {},
                            [&](const store::Row& r) {
                              heads.push_back(r.int64(0));
                              return true;
                            })
                    .is_ok());
    for (int64_t head : heads) {
      auto h = households_->of(*conn, ResidentCode::from_body(static_cast<uint64_t>(head)));
      EXPECT_TRUE(h.ok()) << h.status().to_string();
      if (h.ok()) out.push_back(*h);
    }
    return out;
  }
  std::optional<MemberRef> register_of(const ResidentCode& code) {
    auto conn = pool_->acquire().value();
    auto found = Koseki::find_by_resident(*conn, code);
    EXPECT_TRUE(found.ok());
    return found.ok() ? *found : std::nullopt;
  }
  KosekiRegister koseki(int64_t id) {
    auto conn = pool_->acquire().value();
    auto r = Koseki::get(*conn, id);
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() ? *r : KosekiRegister{};
  }
  static std::string surname(const std::string& name) { return name.substr(0, name.find("　")); }

  std::unique_ptr<Households> households_;
  std::unique_ptr<SealRegistrations> seals_;
  registry::PopulationReport population_;
  MunicipalPopulationReport records_;
};

TEST_F(GeneratedPopulationTest, HouseholdSizesFollowTheCensusAndAgesKeepTheCensusBands) {
  generate(4000);
  // As generated (before deaths took some): about 2.2 people per household.
  const double generated = static_cast<double>(population_.residents) / static_cast<double>(population_.households);
  EXPECT_GT(generated, 2.0);
  EXPECT_LT(generated, 2.4);
  // As they stand now, too, with about 38 % living alone.
  auto households = all_households();
  int64_t people = 0, alone = 0;
  for (const Household& h : households) {
    people += static_cast<int64_t>(h.members.size());
    alone += h.members.size() == 1;
  }
  ASSERT_FALSE(households.empty());
  const double average = static_cast<double>(people) / static_cast<double>(households.size());
  EXPECT_GT(average, 2.0);
  EXPECT_LT(average, 2.4);
  const double alone_share = static_cast<double>(alone) / static_cast<double>(households.size());
  EXPECT_GT(alone_share, 0.32);
  EXPECT_LT(alone_share, 0.46);
  // Every resident is in exactly one household.
  EXPECT_EQ(people, static_cast<int64_t>(residents().size()));
  // The 2020 census's ten-year bands (share of people, %), each within 3.5 points.
  const double census[] = {9.6, 11.0, 12.3, 14.0, 18.0, 16.5, 16.0, 16.0, 9.5, 2.5};
  double census_total = 0;
  for (double c : census) census_total += c;
  std::vector<int> bands(10, 0);
  auto all = residents();
  for (const auto& [code, r] : all) bands[std::min(9, age_on(r.person.date_of_birth, Date::today()) / 10)]++;
  for (int b = 0; b < 10; ++b)
    EXPECT_NEAR(100.0 * bands[b] / static_cast<double>(all.size()), 100.0 * census[b] / census_total, 3.5)
        << "ages " << b * 10 << "-" << b * 10 + 9;
}

TEST_F(GeneratedPopulationTest, MembersLiveWithTheHeadInItsMunicipalityWithRelationshipsFittingAgesAndSexes) {
  generate();
  auto all = residents();
  int64_t spouses = 0, children = 0, parents = 0;
  for (const Household& h : all_households()) {
    const Resident& head = all.at(h.head);
    EXPECT_GE(age_on(head.person.date_of_birth, Date::today()), 18) << head.resident_code.str();
    for (const HouseholdMember& m : h.members) {
      const Resident& r = all.at(m.resident_code);
      EXPECT_EQ(r.municipality_code, h.municipality_code);
      EXPECT_EQ(r.person.address, head.person.address) << "one address per household";
      const int gap = age_on(std::min(r.person.date_of_birth, head.person.date_of_birth),
                             std::max(r.person.date_of_birth, head.person.date_of_birth));
      const bool member_older = r.person.date_of_birth < head.person.date_of_birth;
      if (m.relationship == "妻" || m.relationship == "夫") {
        ++spouses;
        EXPECT_EQ(r.person.sex, m.relationship == "妻" ? Sex::female : Sex::male);
        EXPECT_NE(r.person.sex, head.person.sex);
        EXPECT_LE(gap, 15) << "spouses are of similar age";
        EXPECT_GE(age_on(r.person.date_of_birth, Date::today()), 18);
        EXPECT_EQ(surname(r.person.name), surname(head.person.name));
      } else if (m.relationship == "子") {
        ++children;
        EXPECT_FALSE(member_older);
        EXPECT_GE(gap, 15) << "a child is at least 15 years younger than the head";
        EXPECT_EQ(surname(r.person.name), surname(head.person.name));
      } else if (m.relationship == "父" || m.relationship == "母") {
        ++parents;
        EXPECT_EQ(r.person.sex, m.relationship == "父" ? Sex::male : Sex::female);
        EXPECT_TRUE(member_older);
        EXPECT_GE(gap, 15) << "a parent is at least 15 years older than the head";
      }
    }
  }
  EXPECT_GT(spouses, 300);
  EXPECT_GT(children, 300);
  EXPECT_GT(parents, 20);
}

TEST_F(GeneratedPopulationTest, RegistersHoldSpousesTogetherAndChildrenInTheirParentsRegisterInBirthOrder) {
  generate();
  auto all = residents();
  int64_t couples = 0, husband_heads = 0, children_checked = 0;
  for (const Household& h : all_households()) {
    auto head_ref = register_of(h.head);
    ASSERT_TRUE(head_ref) << "every resident has a register: " << h.head.str();
    for (const HouseholdMember& m : h.members) {
      auto ref = register_of(m.resident_code);
      ASSERT_TRUE(ref) << m.resident_code.str();
      if (m.relationship == "妻" || m.relationship == "夫") {
        EXPECT_EQ(ref->register_id, head_ref->register_id) << "spouses share a register";
        KosekiRegister reg = koseki(ref->register_id);
        ++couples;
        husband_heads += reg.members.front().sex == Sex::male;
      } else if (m.relationship == "子" && ref->register_id != head_ref->register_id) {
        // Only after 分籍 (or for a child not of the head's surname).
        KosekiRegister own = koseki(ref->register_id);
        const bool branched = std::any_of(own.entries.begin(), own.entries.end(), [](const KosekiEntry& e) {
          return e.kind == KosekiEntryKind::made && e.counterpart == "分籍";
        });
        EXPECT_TRUE(branched || surname(all.at(m.resident_code).person.name) != surname(all.at(h.head).person.name))
            << m.resident_code.str() << " is outside the head's register without 分籍";
      } else if (m.relationship == "子") {
        ++children_checked;
      }
    }
  }
  // A woman living alone whose surname changed at marriage is a wife (妻) in her husband's register,
  // her parents named with her maiden surname.
  int64_t married_alone = 0;
  for (const Household& h : all_households()) {
    const Resident& r = all.at(h.head);
    if (h.members.size() != 1 || r.person.sex != Sex::female) continue;
    auto history = registry_->history(r.resident_code).value();
    if (std::none_of(history.begin(), history.end(),
                     [](const registry::HistoryEntry& e) { return e.type == registry::EventType::name_change; }))
      continue;
    const std::string maiden = surname(registry::resident_from_json(nlohmann::json::parse(history.front().resident_json))
                                           .value()
                                           .person.name);
    auto ref = register_of(r.resident_code);
    ASSERT_TRUE(ref);
    KosekiRegister reg = koseki(ref->register_id);
    const KosekiMember& her = reg.members.at(static_cast<size_t>(ref->member - 1));
    EXPECT_EQ(her.relationship, "妻") << r.resident_code.str();
    EXPECT_EQ(reg.members.front().sex, Sex::male);
    EXPECT_EQ(surname(her.father), maiden);
    ++married_alone;
  }
  EXPECT_GT(married_alone, 10);
  ASSERT_GT(couples, 300);
  const double husband_share = static_cast<double>(husband_heads) / static_cast<double>(couples);
  EXPECT_GT(husband_share, 0.90);
  EXPECT_LT(husband_share, 0.99);
  EXPECT_GT(children_checked, 300);

  // 続柄 by birth order: in every register, the children of the same parents and sex, by date of
  // birth, are 長男, 二男, 三男 … (長女, 二女 …), counting those who left by 分籍.
  auto conn = pool_->acquire().value();
  std::vector<int64_t> ids;
  ASSERT_TRUE(conn->query("SELECT id FROM municipal_koseki_registers", {}, [&](const store::Row& r) {
    ids.push_back(r.int64(0));
    return true;
  }).is_ok());
  EXPECT_EQ(static_cast<int64_t>(ids.size()), records_.registers);
  const char* numbers[] = {"長", "二", "三", "四", "五"};
  int64_t ordered = 0;
  for (int64_t id : ids) {
    KosekiRegister reg = koseki(id);
    std::map<std::pair<std::string, bool>, std::vector<const KosekiMember*>> siblings;
    for (size_t i = 1; i < reg.members.size(); ++i) {  // the 筆頭者's 続柄 is to parents elsewhere
      const KosekiMember& m = reg.members[i];
      if (m.relationship == "妻" || m.relationship == "夫") continue;
      siblings[{m.father + "/" + m.mother, m.sex == Sex::male}].push_back(&m);
    }
    for (auto& [key, kids] : siblings) {
      std::stable_sort(kids.begin(), kids.end(),
                       [](const KosekiMember* a, const KosekiMember* b) { return a->date_of_birth < b->date_of_birth; });
      for (size_t i = 0; i < kids.size() && i < 5; ++i) {
        EXPECT_EQ(kids[i]->relationship, std::string(numbers[i]) + (key.second ? "男" : "女"))
            << "register " << id << " member " << kids[i]->ref.member;
        ++ordered;
      }
    }
  }
  EXPECT_GT(ordered, 500);
}

TEST_F(GeneratedPopulationTest, AboutAThirdOfPeopleHaveTheirHonsekiInAnotherMunicipality) {
  generate();
  auto conn = pool_->acquire().value();
  int64_t linked = 0, elsewhere = 0;
  for (const auto& [code, r] : residents()) {
    auto id = Fuhyo::identity(*conn, code);
    ASSERT_TRUE(id.ok()) << code.str() << ": " << id.status().to_string();
    ++linked;
    elsewhere += id->municipality != r.municipality_code;
  }
  const double share = static_cast<double>(elsewhere) / static_cast<double>(linked);
  EXPECT_GT(share, 0.2);
  EXPECT_LT(share, 0.4);
  EXPECT_GT(records_.absent_members, 0) << "absent parents and spouses are members without resident codes";
}

TEST_F(GeneratedPopulationTest, EveryLinkedMembersFuhyoHoldsTheResidentsAddressAndFollowsAMove) {
  generate();
  auto conn = pool_->acquire().value();
  std::optional<Resident> someone;
  for (const auto& [code, r] : residents()) {
    auto id = Fuhyo::identity(*conn, code);
    ASSERT_TRUE(id.ok()) << code.str();
    EXPECT_EQ(id->address, r.person.address) << code.str();
    EXPECT_EQ(id->name, r.person.name);
    EXPECT_FALSE(id->abroad);
    if (!someone && r.municipality_code == registry::testing::kChiyoda) someone = r;
    if (!someone && r.person.address.find("丁目") != std::string::npos) someone = r;
  }
  ASSERT_TRUE(someone);
  // A move within the municipality after the records were made reaches the 附票.
  registry::ChangeEvent move;
  move.event_id = "after-generation-move";
  move.type = registry::EventType::relocation;
  move.date = Date::today();
  move.resident_code = someone->resident_code;
  const auto towns = registry_->reference().towns_of(someone->municipality_code);
  ASSERT_FALSE(towns.empty());
  const Municipality* m = registry_->reference().find(someone->municipality_code);
  move.address = m->prefecture + m->name + std::string(towns.front()->name) + "9999番地";
  auto applied = registry_->submit(someone->municipality_code, move);
  ASSERT_TRUE(applied.ok()) << applied.status().to_string();
  auto after = Fuhyo::identity(*conn, someone->resident_code);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->address, applied->resident.person.address);
  EXPECT_EQ(after->address_since, Date::today());
}

TEST_F(GeneratedPopulationTest, AdultsHaveTaxRecordsForThreeYearsWhoseFiguresAreThoseOfAssess) {
  generate();
  const Date today = Date::today();
  const int last = std::min(kLastTaxYear, today.month() >= 6 ? today.year() : today.year() - 1);
  auto conn = pool_->acquire().value();
  int64_t adults = 0, with_salary = 0, pensioners = 0, checked = 0;
  std::vector<int64_t> salaries_40s;
  for (const auto& [code, r] : residents()) {
    auto records = TaxRecords::list(*conn, code);
    ASSERT_TRUE(records.ok());
    for (int fy = last - 2; fy <= last; ++fy) {
      const int age = tax_age(r.person.date_of_birth, fy);
      auto found = std::find_if(records->begin(), records->end(), [&](const TaxRecord& t) { return t.fiscal_year == fy; });
      if (age < 18) {
        EXPECT_EQ(found, records->end()) << "no record for a minor";
        continue;
      }
      ASSERT_NE(found, records->end()) << code.str() << " has no record for FY" << fy;
      ++checked;
      EXPECT_EQ(found->municipality_code, r.municipality_code);
      auto again = assess(found->declaration, is_designated_city(found->municipality_code));
      ASSERT_TRUE(again.ok());
      EXPECT_EQ(found->assessment, *again) << code.str() << " FY" << fy;
      if (fy == last) {
        ++adults;
        with_salary += found->declaration.salary_revenue > 0;
        if (age >= 65) {
          EXPECT_GT(found->declaration.pension_revenue, 0) << "a pension from 65";
          ++pensioners;
        }
        if (age >= 40 && age < 50 && r.person.sex == Sex::male && found->declaration.salary_revenue > 0)
          salaries_40s.push_back(found->declaration.salary_revenue);
      }
    }
  }
  ASSERT_GT(adults, 1000);
  EXPECT_GT(pensioners, 300);
  EXPECT_GT(static_cast<double>(with_salary) / static_cast<double>(adults), 0.4);
  ASSERT_GT(salaries_40s.size(), 50u);
  std::nth_element(salaries_40s.begin(), salaries_40s.begin() + salaries_40s.size() / 2, salaries_40s.end());
  const int64_t median = salaries_40s[salaries_40s.size() / 2];
  EXPECT_GT(median, 4'000'000) << "men in their 40s earn about 5.6 million yen";
  EXPECT_LT(median, 7'500'000);
  EXPECT_EQ(records_.tax_records, checked);
  // Someone claims a spouse, and someone a dependant.
  EXPECT_GT(conn->query_int64("SELECT COUNT(*) FROM municipal_tax_assessments WHERE spouse_deduction > 0").value().value_or(0), 0);
  EXPECT_GT(conn->query_int64("SELECT COUNT(*) FROM municipal_tax_assessments WHERE dependant_deduction > 0").value().value_or(0), 0);
  // About 70 % of adults have a registered seal, each certifiable and showing their surname's seal.
  const double seal_share = static_cast<double>(records_.seals) / static_cast<double>(adults);
  EXPECT_GT(seal_share, 0.6);
  EXPECT_LT(seal_share, 0.8);
  EXPECT_EQ(conn->query_int64("SELECT COUNT(*) FROM municipal_seal_registrations WHERE status = 'active'").value(),
            records_.seals);
}

TEST_F(GeneratedPopulationTest, ASeedMakesTheSameHouseholdsRegistersAndTaxRecordsAndARerunAddsNothing) {
  generate(1500, 3);
  auto first = all_households().front();
  auto all = residents();
  std::vector<std::string> first_people;
  for (const auto& m : first.members)
    first_people.push_back(all.at(m.resident_code).person.name + "/" + m.relationship + "/" +
                           all.at(m.resident_code).person.date_of_birth.to_iso());
  const auto population = population_;
  const auto records = records_;
  // The same seed on the same store again: everything is replayed, nothing added.
  generate(1500, 3);
  EXPECT_EQ(population_.residents, population.residents);
  EXPECT_EQ(records_.skipped, records_.households) << "the registers exist already";
  EXPECT_EQ(count("SELECT COUNT(*) FROM municipal_koseki_registers"), records.registers);
  // A fresh store with the same seed makes the same (on PostgreSQL a new database: the store object
  // makes its database when constructed).
  TearDown();
  std::destroy_at(&test_store_);
  std::construct_at(&test_store_);
  SetUp();
  generate(1500, 3);
  EXPECT_EQ(population_.households, population.households);
  EXPECT_EQ(population_.events, population.events);
  EXPECT_EQ(records_.registers, records.registers);
  EXPECT_EQ(records_.linked, records.linked);
  EXPECT_EQ(records_.tax_records, records.tax_records);
  EXPECT_EQ(records_.honseki_elsewhere, records.honseki_elsewhere);
  auto again = all_households().front();
  all = residents();
  std::vector<std::string> again_people;
  for (const auto& m : again.members)
    again_people.push_back(all.at(m.resident_code).person.name + "/" + m.relationship + "/" +
                           all.at(m.resident_code).person.date_of_birth.to_iso());
  EXPECT_EQ(again_people, first_people);
}

}  // namespace
}  // namespace jlis::municipal
