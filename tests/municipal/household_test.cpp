// Households (世帯) follow the register's events and the municipality's household notices.
#include "municipal/household.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "../registry/fixture.h"

namespace jlis::municipal {
namespace {

using registry::ChangeEvent;
using registry::EventType;
using registry::HouseholdPlacement;
using registry::Resident;
using registry::Sex;
using registry::testing::kChiyoda;
using registry::testing::kChuo;

using registry::testing::kChiyodaAddress;
using registry::testing::kChuoAddress;
constexpr const char* kChiyodaOther = registry::testing::kChiyodaOtherAddress;

class HouseholdTest : public registry::testing::RegistryTest {
 protected:
  void SetUp() override {
    RegistryTest::SetUp();
    auto conn = db_->connect().value();
    ASSERT_TRUE(Households::migrate(*conn).is_ok());
    households_ = std::make_unique<Households>(*pool_, *writer_, *registry_, [this] { return today_; });
    households_->attach();
  }
  void TearDown() override {
    households_.reset();
    RegistryTest::TearDown();
  }

  // Born `years_ago` (on today's date then), placed as `placement` says.
  Result<Resident> born(const std::string& id, const char* name, const char* kana, int years_ago, Sex sex,
                        std::optional<HouseholdPlacement> placement = std::nullopt,
                        const LocalGovernmentCode& in = kChiyoda, const char* address = kChiyodaAddress) {
    ChangeEvent e;
    e.event_id = id;
    e.type = EventType::birth;
    e.date = today_.add_years(-years_ago);
    e.person = registry::Person{name, kana, e.date, sex, address};
    e.household = std::move(placement);
    auto r = registry_->submit(in, e);
    if (!r.ok()) return r.status();
    return r->resident;
  }
  static HouseholdPlacement under(const Resident& head, const char* relationship) {
    return {head.resident_code, relationship};
  }
  Household household_of(const Resident& r, const LocalGovernmentCode& in = kChiyoda) {
    auto h = households_->of(r.resident_code, in);
    EXPECT_TRUE(h.ok()) << h.status().to_string();
    return h.ok() ? *h : Household{};
  }
  // The members' relationships in household order, as "code:続柄".
  static std::vector<std::string> relationships(const Household& h) {
    std::vector<std::string> out;
    for (const auto& m : h.members) out.push_back(m.resident_code.str() + ":" + m.relationship);
    return out;
  }
  static std::string rel(const Resident& r, const char* relationship) {
    return r.resident_code.str() + ":" + relationship;
  }
  ChangeEvent event(const std::string& id, EventType type, Date when, const Resident& r) {
    ChangeEvent e;
    e.event_id = id;
    e.type = type;
    e.date = when;
    e.resident_code = r.resident_code;
    return e;
  }

  // A family of 千代田区: 山田太郎 (head), his wife, two children and his mother.
  struct Family {
    Resident head, wife, son, daughter, mother;
  };
  Family family() {
    Family f;
    f.head = born("h", "山田　太郎", "ヤマダ　タロウ", 45, Sex::male).value();
    f.wife = born("w", "山田　花子", "ヤマダ　ハナコ", 43, Sex::female, under(f.head, "妻")).value();
    f.daughter = born("d", "山田　美咲", "ヤマダ　ミサキ", 15, Sex::female, under(f.head, "子")).value();
    f.son = born("s", "山田　一郎", "ヤマダ　イチロウ", 12, Sex::male, under(f.head, "子")).value();
    f.mother = born("m", "山田　和子", "ヤマダ　カズコ", 72, Sex::female, under(f.head, "母")).value();
    return f;
  }

  Date today_ = Date::today();
  std::unique_ptr<Households> households_;
};

TEST_F(HouseholdTest, ABirthWithoutPlacementHeadsAHouseholdOfOne) {
  auto r = born("b1", "佐藤　健", "サトウ　ケン", 30, Sex::male);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  Household h = household_of(*r);
  EXPECT_EQ(h.head, r->resident_code);
  EXPECT_EQ(relationships(h), std::vector<std::string>{rel(*r, "世帯主")});
  EXPECT_EQ(h.members[0].became_resident_on, today_.add_years(-30));
  EXPECT_EQ(h.members[0].address_set_on, today_.add_years(-30));
  EXPECT_EQ(h.members[0].notified_on, today_);
  EXPECT_EQ(h.members[0].previous_address, "");
}

TEST_F(HouseholdTest, APlacementJoinsTheHeadsHouseholdWithItsRelationshipInOrderOfJoining) {
  Family f = family();
  Household h = household_of(f.son);
  EXPECT_EQ(h.head, f.head.resident_code);
  EXPECT_EQ(relationships(h), (std::vector<std::string>{rel(f.head, "世帯主"), rel(f.wife, "妻"),
                                                         rel(f.daughter, "子"), rel(f.son, "子"), rel(f.mother, "母")}));
  EXPECT_EQ(household_of(f.head).id, h.id);
  EXPECT_EQ(count("SELECT COUNT(*) FROM municipal_households"), 1);
}

// Rule: a bulk load of the register builds the households' head index after its rows
// (Registry::defer_in_bulk_load), and places every member as the normal path does; the index comes
// back as migration 1 defines it.
TEST_F(HouseholdTest, ABulkLoadPlacesMembersAsTheNormalPathAndBuildsTheHeadIndexAfter) {
  const std::string definition = index_definition("municipal_households_head");
  ASSERT_NE(definition.find("municipal_households"), std::string::npos) << definition;
  ASSERT_EQ(registry_->bulk_load_indexes().back().name, std::string("municipal_households_head"));
  auto load = registry_->begin_bulk_load();
  ASSERT_TRUE(load.ok()) << load.status().to_string();
  Family f = family();
  ASSERT_TRUE((*load)->finish().is_ok());
  EXPECT_EQ(index_definition("municipal_households_head"), definition);
  Household h = household_of(f.son);
  EXPECT_EQ(h.head, f.head.resident_code);
  EXPECT_EQ(relationships(h), (std::vector<std::string>{rel(f.head, "世帯主"), rel(f.wife, "妻"),
                                                         rel(f.daughter, "子"), rel(f.son, "子"), rel(f.mother, "母")}));
  EXPECT_EQ(count("SELECT COUNT(*) FROM municipal_households"), 1);
}

TEST_F(HouseholdTest, APlacementUnderSomeoneWhoHeadsNoHouseholdRefusesTheWholeEvent) {
  Family f = family();
  const int64_t residents = count("SELECT COUNT(*) FROM residents");
  auto r = born("x", "山田　次郎", "ヤマダ　ジロウ", 1, Sex::male, under(f.wife, "子"));  // the wife heads none
  EXPECT_EQ(r.status().code(), Code::conflict) << r.status().to_string();
  EXPECT_EQ(count("SELECT COUNT(*) FROM residents"), residents);  // the birth itself was not applied
  EXPECT_EQ(count("SELECT COUNT(*) FROM municipal_household_members"), 5);
}

TEST_F(HouseholdTest, AHeadOfAnotherMunicipalityCannotBeJoined) {
  auto chuo_head = born("c", "鈴木　一", "スズキ　ハジメ", 40, Sex::male, std::nullopt, kChuo, kChuoAddress).value();
  auto r = born("x", "鈴木　二郎", "スズキ　ジロウ", 1, Sex::male, under(chuo_head, "子"));  // submitted by 千代田区
  EXPECT_EQ(r.status().code(), Code::conflict);
}

TEST_F(HouseholdTest, AnUnknownRelationshipOrAHeadPlacedUnderAnotherIsRefused) {
  Family f = family();
  EXPECT_EQ(born("x1", "山田　三郎", "ヤマダ　サブロウ", 1, Sex::male, under(f.head, "親友")).status().code(),
            Code::invalid_argument);
  EXPECT_EQ(born("x2", "山田　三郎", "ヤマダ　サブロウ", 1, Sex::male, under(f.head, "世帯主")).status().code(),
            Code::invalid_argument);
  EXPECT_EQ(born("x3", "山田　三郎", "ヤマダ　サブロウ", 1, Sex::male, HouseholdPlacement{std::nullopt, "子"})
                .status()
                .code(),
            Code::invalid_argument);
}

TEST_F(HouseholdTest, RelocationKeepsTheHeadsHouseholdAndSplitsOffAMemberWhoMovesAlone) {
  Family f = family();
  const Date moved = today_.add_days(-10);
  ChangeEvent head_moves = event("r1", EventType::relocation, moved, f.head);
  head_moves.address = kChiyodaOther;
  ASSERT_TRUE(registry_->submit(kChiyoda, head_moves).ok());
  Household h = household_of(f.head);
  EXPECT_EQ(h.members.size(), 5u);
  EXPECT_EQ(h.members[0].address_set_on, moved);
  EXPECT_EQ(h.members[0].previous_address, kChiyodaAddress);

  ChangeEvent wife_follows = event("r2", EventType::relocation, moved, f.wife);
  wife_follows.address = kChiyodaOther;
  wife_follows.household = under(f.head, "妻");
  ASSERT_TRUE(registry_->submit(kChiyoda, wife_follows).ok());
  EXPECT_EQ(household_of(f.wife).id, h.id);

  ChangeEvent daughter_leaves = event("r3", EventType::relocation, moved, f.daughter);
  daughter_leaves.address = kChiyodaAddress;
  ASSERT_TRUE(registry_->submit(kChiyoda, daughter_leaves).ok());
  Household hers = household_of(f.daughter);
  EXPECT_NE(hers.id, h.id);
  EXPECT_EQ(relationships(hers), std::vector<std::string>{rel(f.daughter, "世帯主")});
  EXPECT_EQ(hers.formed_on, moved);
  EXPECT_EQ(household_of(f.head).members.size(), 4u);
}

TEST_F(HouseholdTest, AMoveInJoinsAHouseholdThereAndKeepsThePreviousAddress) {
  Family f = family();
  auto mover = born("c", "田中　修", "タナカ　オサム", 80, Sex::male, std::nullopt, kChuo, kChuoAddress).value();
  const Date moved = today_.add_days(-3);
  ChangeEvent out = event("o", EventType::move_out, moved, mover);
  out.to = kChiyoda.str();
  ASSERT_TRUE(registry_->submit(kChuo, out).ok());
  EXPECT_EQ(households_->of(mover.resident_code, kChuo).status().code(), Code::not_found);  // left Chuo's household
  EXPECT_EQ(count("SELECT COUNT(*) FROM municipal_households WHERE dissolved_on IS NOT NULL"), 1);

  ChangeEvent in = event("i", EventType::move_in, moved, mover);
  in.from = kChuo.str();
  in.address = kChiyodaAddress;
  in.name = mover.person.name;
  in.date_of_birth = mover.person.date_of_birth;
  in.sex = mover.person.sex;
  in.household = under(f.head, "妻の父");
  auto applied = registry_->submit(kChiyoda, in);
  ASSERT_TRUE(applied.ok()) << applied.status().to_string();
  Household h = household_of(mover);
  EXPECT_EQ(h.id, household_of(f.head).id);
  const HouseholdMember& m = h.members.back();
  EXPECT_EQ(m.resident_code, mover.resident_code);
  EXPECT_EQ(m.relationship, "妻の父");
  EXPECT_EQ(m.became_resident_on, moved);
  EXPECT_EQ(m.previous_address, kChuoAddress);
}

TEST_F(HouseholdTest, TheDeathOfTheHeadHandsTheHouseholdToTheSpouseAndRenamesTheRelationships) {
  Family f = family();
  auto died = registry_->submit(kChiyoda, event("death", EventType::death, today_.add_days(-1), f.head));
  ASSERT_TRUE(died.ok()) << died.status().to_string();
  Household h = household_of(f.wife);
  EXPECT_EQ(h.head, f.wife.resident_code);
  EXPECT_EQ(relationships(h), (std::vector<std::string>{rel(f.wife, "世帯主"), rel(f.daughter, "子"),
                                                         rel(f.son, "子"), rel(f.mother, "夫の母")}));
}

TEST_F(HouseholdTest, WithoutASpouseTheEldestTakesOverAndTheChildrenBecomeSiblings) {
  Family f = family();
  ASSERT_TRUE(registry_->submit(kChiyoda, event("d1", EventType::death, today_.add_days(-2), f.wife)).ok());
  ASSERT_TRUE(registry_->submit(kChiyoda, event("d2", EventType::death, today_.add_days(-1), f.mother)).ok());
  ChangeEvent abroad = event("a", EventType::move_out, today_, f.head);
  abroad.to = "abroad";
  abroad.address_abroad = "Singapore";
  ASSERT_TRUE(registry_->submit(kChiyoda, abroad).ok());
  Household h = household_of(f.son);
  EXPECT_EQ(h.head, f.daughter.resident_code);  // the eldest remaining
  EXPECT_EQ(relationships(h), (std::vector<std::string>{rel(f.daughter, "世帯主"), rel(f.son, "弟")}));
}

TEST_F(HouseholdTest, TheLastMemberLeavingDissolvesTheHousehold) {
  auto r = born("b", "佐藤　健", "サトウ　ケン", 30, Sex::male).value();
  ASSERT_TRUE(registry_->submit(kChiyoda, event("d", EventType::death, today_, r)).ok());
  EXPECT_EQ(households_->of(r.resident_code, kChiyoda).status().code(), Code::not_found);
  EXPECT_EQ(count("SELECT COUNT(*) FROM municipal_households WHERE dissolved_on IS NULL"), 0);
}

TEST_F(HouseholdTest, ANewResidentCodeKeepsTheHousehold) {
  Family f = family();
  auto changed = registry_->submit(kChiyoda, event("c", EventType::resident_code_change, today_, f.head));
  ASSERT_TRUE(changed.ok()) << changed.status().to_string();
  Household h = household_of(changed->resident);
  EXPECT_EQ(h.head, changed->resident.resident_code);
  EXPECT_EQ(h.members.size(), 5u);
  EXPECT_EQ(households_->of(f.head.resident_code, kChiyoda).status().code(), Code::not_found);
}

// The household notices (世帯変更届).
HouseholdEvent notice(const std::string& id, HouseholdEventType type, Date date, const Resident& head) {
  HouseholdEvent e;
  e.event_id = id;
  e.type = type;
  e.date = date;
  e.head = head.resident_code;
  return e;
}

TEST_F(HouseholdTest, AChangeOfHeadNeedsEveryOthersRelationshipAndIsAppliedOnce) {
  Family f = family();
  HouseholdEvent e = notice("n1", HouseholdEventType::change_head, today_, f.head);
  e.new_head = f.wife.resident_code;
  e.relationships = {{f.head.resident_code.str(), "夫"}, {f.son.resident_code.str(), "子"}};
  EXPECT_EQ(households_->submit(kChiyoda, e).status().code(), Code::invalid_argument);  // daughter, mother missing
  e.relationships[f.daughter.resident_code.str()] = "子";
  e.relationships[f.mother.resident_code.str()] = "夫の母";
  auto done = households_->submit(kChiyoda, e);
  ASSERT_TRUE(done.ok()) << done.status().to_string();
  ASSERT_EQ(done->size(), 1u);
  EXPECT_EQ(relationships((*done)[0]), (std::vector<std::string>{rel(f.wife, "世帯主"), rel(f.head, "夫"),
                                                                  rel(f.daughter, "子"), rel(f.son, "子"),
                                                                  rel(f.mother, "夫の母")}));
  auto again = households_->submit(kChiyoda, e);  // a retry: answered, applied once
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_EQ((*again)[0].head, f.wife.resident_code);
  EXPECT_EQ(count("SELECT COUNT(*) FROM municipal_household_events"), 1);
  e.relationships[f.mother.resident_code.str()] = "母";
  EXPECT_EQ(households_->submit(kChiyoda, e).status().code(), Code::conflict);  // the key, reused
}

TEST_F(HouseholdTest, ASeparationFormsANewHouseholdOfTheMembersNamed) {
  Family f = family();
  HouseholdEvent e = notice("n", HouseholdEventType::separate, today_, f.head);
  e.members = {f.mother.resident_code, f.son.resident_code};
  e.new_head = f.mother.resident_code;
  e.relationships = {{f.son.resident_code.str(), "孫"}};
  auto done = households_->submit(kChiyoda, e);
  ASSERT_TRUE(done.ok()) << done.status().to_string();
  ASSERT_EQ(done->size(), 2u);
  EXPECT_EQ(relationships((*done)[0]), (std::vector<std::string>{rel(f.head, "世帯主"), rel(f.wife, "妻"),
                                                                  rel(f.daughter, "子")}));
  EXPECT_EQ(relationships((*done)[1]), (std::vector<std::string>{rel(f.mother, "世帯主"), rel(f.son, "孫")}));
  EXPECT_EQ((*done)[1].formed_on, today_);
  EXPECT_EQ(household_of(f.son).id, (*done)[1].id);

  HouseholdEvent head_leaves = notice("n2", HouseholdEventType::separate, today_, f.head);
  head_leaves.members = {f.head.resident_code};
  head_leaves.new_head = f.head.resident_code;
  EXPECT_EQ(households_->submit(kChiyoda, head_leaves).status().code(), Code::conflict);
}

TEST_F(HouseholdTest, AMergeMovesEveryMemberAndDissolvesTheOtherHousehold) {
  Family f = family();
  auto single = born("x", "山田　次郎", "ヤマダ　ジロウ", 40, Sex::male, std::nullopt, kChiyoda, kChiyodaOther).value();
  HouseholdEvent e = notice("n", HouseholdEventType::merge, today_, f.head);
  e.from_head = single.resident_code;
  e.relationships = {{single.resident_code.str(), "弟"}};
  auto done = households_->submit(kChiyoda, e);
  ASSERT_TRUE(done.ok()) << done.status().to_string();
  EXPECT_EQ((*done)[0].members.size(), 6u);
  EXPECT_EQ(relationships((*done)[0]).back(), rel(single, "弟"));
  EXPECT_EQ(count("SELECT COUNT(*) FROM municipal_households WHERE dissolved_on IS NOT NULL"), 1);
}

TEST_F(HouseholdTest, AnotherMunicipalitysHouseholdIsUnknownToANotice) {
  Family f = family();
  HouseholdEvent e = notice("n", HouseholdEventType::change_head, today_, f.head);
  e.new_head = f.wife.resident_code;
  e.relationships = {{f.head.resident_code.str(), "夫"}, {f.son.resident_code.str(), "子"},
                     {f.daughter.resident_code.str(), "子"}, {f.mother.resident_code.str(), "夫の母"}};
  auto r = households_->submit(kChuo, e);
  EXPECT_EQ(r.status().code(), Code::not_found);
  EXPECT_EQ(r.status().message(), registry::unknown_resident().message());
  EXPECT_EQ(households_->of(f.head.resident_code, kChuo).status().code(), Code::not_found);
  EXPECT_EQ(count("SELECT COUNT(*) FROM municipal_household_events"), 0);
}

TEST_F(HouseholdTest, ANoticeDatedInTheFutureIsRefused) {
  Family f = family();
  HouseholdEvent e = notice("n", HouseholdEventType::change_head, today_.add_days(1), f.head);
  e.new_head = f.wife.resident_code;
  EXPECT_EQ(households_->submit(kChiyoda, e).status().code(), Code::invalid_argument);
}

TEST_F(HouseholdTest, ResidentsRegisteredBeforeHouseholdsExistedBecomeHeadsOfHouseholdsOfOne) {
  // Residents made by a registry without the household listener: data from before households.
  registry::Registry plain(*pool_, *writer_, registry::testing::reference(), numbering_.get());
  const Date moved = today_.add_days(-100);
  ChangeEvent b = birth("old1", "古川　一", "フルカワ　ハジメ", "1980-01-02", kChiyodaAddress, Sex::male);
  auto first = plain.submit(kChiyoda, b);
  ASSERT_TRUE(first.ok());
  ChangeEvent reloc = event("old2", EventType::relocation, moved, first->resident);
  reloc.address = kChiyodaOther;
  ASSERT_TRUE(plain.submit(kChiyoda, reloc).ok());
  ASSERT_TRUE(plain.submit(kChuo, birth("old3", "古川　二", "フルカワ　ジ", "1985-03-04", kChuoAddress)).ok());

  auto adopted = households_->adopt_unplaced();
  ASSERT_TRUE(adopted.ok()) << adopted.status().to_string();
  EXPECT_EQ(*adopted, 2);
  Household h = household_of(first->resident);
  EXPECT_EQ(relationships(h), std::vector<std::string>{rel(first->resident, "世帯主")});
  EXPECT_EQ(h.members[0].became_resident_on, registry::testing::date("1980-01-02"));
  EXPECT_EQ(h.members[0].address_set_on, moved);
  EXPECT_EQ(*households_->adopt_unplaced(), 0);
}

// Every row of the succession table.
TEST(HouseholdSuccession, TheRelationshipsToTheNewHeadFollowTheTable) {
  struct Row {
    const char* successor;
    const char* member;
    bool older;
    Sex sex;
    const char* expected;
  };
  const Row rows[] = {
      {"妻", "子", false, Sex::male, "子"},           {"妻", "孫", false, Sex::male, "孫"},
      {"妻", "子の妻", false, Sex::female, "子の妻"}, {"妻", "子の夫", false, Sex::male, "子の夫"},
      {"妻", "父", true, Sex::male, "夫の父"},        {"妻", "母", true, Sex::female, "夫の母"},
      {"夫", "父", true, Sex::male, "妻の父"},        {"夫", "母", true, Sex::female, "妻の母"},
      {"妻", "妻の父", true, Sex::male, "父"},        {"妻", "妻の母", true, Sex::female, "母"},
      {"夫", "夫の父", true, Sex::male, "父"},        {"夫", "夫の母", true, Sex::female, "母"},
      {"子", "妻", true, Sex::female, "母"},          {"子", "夫", true, Sex::male, "父"},
      {"子", "子", true, Sex::male, "兄"},            {"子", "子", true, Sex::female, "姉"},
      {"子", "子", false, Sex::male, "弟"},           {"子", "子", false, Sex::female, "妹"},
      {"子", "父", true, Sex::male, "祖父"},          {"子", "母", true, Sex::female, "祖母"},
      {"子", "同居人", true, Sex::male, "同居人"},    {"妻", "縁故者", true, Sex::male, "縁故者"},
      {"子", "孫", false, Sex::male, "縁故者"},       {"母", "子", false, Sex::male, "縁故者"},
  };
  for (const Row& r : rows)
    EXPECT_EQ(relationship_after_succession(r.successor, r.member, r.older, r.sex), r.expected)
        << r.successor << " / " << r.member;
}

TEST(HouseholdEventJson, RefusesFieldsOfAnotherTypeAndUnknownRelationships) {
  using nlohmann::json;
  const std::string code = ResidentCode::from_body(1234567890).str();
  const json ok = {{"event_id", "e"}, {"type", "change_head"}, {"date", "2020-01-01"},
                   {"head", code},    {"new_head", code},      {"relationships", json::object()}};
  EXPECT_TRUE(household_event_from_json(ok).ok()) << household_event_from_json(ok).status().to_string();
  json extra = ok;
  extra["from_head"] = code;
  EXPECT_EQ(household_event_from_json(extra).status().code(), Code::invalid_argument);
  json bad_rel = ok;
  bad_rel["relationships"] = {{code, "親友"}};
  EXPECT_EQ(household_event_from_json(bad_rel).status().code(), Code::invalid_argument);
  json bad_type = ok;
  bad_type["type"] = "dissolve";
  EXPECT_EQ(household_event_from_json(bad_type).status().code(), Code::invalid_argument);
  EXPECT_EQ(household_event_from_json(json::array()).status().code(), Code::invalid_argument);
}

}  // namespace
}  // namespace jlis::municipal
