// The family register's notices: what each records (身分事項), the 続柄 it computes, the registers it
// makes and closes, and what it refuses (writing nothing).
#include "municipal/koseki.h"

#include <gtest/gtest.h>

#include "koseki_fixture.h"

namespace jlis::municipal::koseki_testing {
namespace {

// A copy: the registers the tests read are temporaries.
std::optional<KosekiEntry> find_entry(const std::vector<KosekiEntry>& entries, KosekiEntryKind kind) {
  for (const KosekiEntry& e : entries)
    if (e.kind == kind) return e;
  return std::nullopt;
}

TEST_F(KosekiTest, AnOpenedRegisterHasItsMadeEntryAndItsMembersInOrder) {
  const int64_t id = yamada();
  const KosekiRegister r = reg(id);
  EXPECT_EQ(r.municipality, kChiyoda);
  EXPECT_EQ(r.honseki, "東京都千代田区千代田1番");
  EXPECT_EQ(r.head_name, "山田　太郎");
  EXPECT_FALSE(r.closed);
  ASSERT_EQ(r.entries.size(), 1u);
  EXPECT_EQ(r.entries[0].kind, KosekiEntryKind::made);
  EXPECT_EQ(r.entries[0].date, years_ago(30));
  ASSERT_EQ(r.members.size(), 2u);
  EXPECT_EQ(r.members[0].relationship, "長男");
  EXPECT_EQ(r.members[1].relationship, "妻");
  EXPECT_EQ(entry_kind_name(KosekiEntryKind::made), "編製");
}

TEST_F(KosekiTest, ABirthEntersTheParentsRegisterWithItsBirthEntry) {
  const int64_t id = yamada();
  BirthNotice n = birth_notice("b1", id, "山田　一郎", "ヤマダ　イチロウ", days_ago(10), Sex::male);
  auto out = born(n);
  ASSERT_TRUE(out.ok()) << out.status().to_string();
  EXPECT_FALSE(out->replay);
  EXPECT_EQ(out->ref.register_id, id);
  EXPECT_EQ(out->ref.member, 3);
  const KosekiMember& child = member_of(reg(id), 3);
  EXPECT_EQ(child.name, "山田　一郎");
  EXPECT_EQ(child.name_kana, "ヤマダ　イチロウ");
  EXPECT_EQ(child.father, "山田　太郎");
  EXPECT_EQ(child.mother, "山田　花子");
  EXPECT_EQ(child.relationship, "長男");
  ASSERT_EQ(child.entries.size(), 1u);
  const KosekiEntry& e = child.entries[0];
  EXPECT_EQ(e.kind, KosekiEntryKind::birth);
  EXPECT_EQ(e.date, days_ago(10));
  EXPECT_EQ(e.place, "東京都千代田区");
  ASSERT_TRUE(e.notified_on.has_value());
  EXPECT_EQ(*e.notified_on, days_ago(3));
  EXPECT_EQ(e.notifier, "父");
}

TEST_F(KosekiTest, TheSecondSonIsJinanAndDaughtersAreCountedApart) {
  const int64_t id = yamada();
  ASSERT_TRUE(born(birth_notice("b1", id, "山田　一郎", "ヤマダ　イチロウ", years_ago(25), Sex::male)).ok());
  ASSERT_TRUE(born(birth_notice("b2", id, "山田　春子", "ヤマダ　ハルコ", years_ago(23), Sex::female)).ok());
  auto second = born(birth_notice("b3", id, "山田　次郎", "ヤマダ　ジロウ", years_ago(20), Sex::male));
  ASSERT_TRUE(second.ok()) << second.status().to_string();
  auto third = born(birth_notice("b4", id, "山田　三郎", "ヤマダ　サブロウ", years_ago(18), Sex::male));
  ASSERT_TRUE(third.ok());
  const KosekiRegister r = reg(id);
  EXPECT_EQ(member_of(r, 3).relationship, "長男");
  EXPECT_EQ(member_of(r, 4).relationship, "長女");
  EXPECT_EQ(member_of(r, second->ref.member).relationship, "二男");
  EXPECT_EQ(member_of(r, third->ref.member).relationship, "三男");
}

TEST_F(KosekiTest, AChildOfAnotherMotherIsCountedFromHerOwnFirst) {
  const int64_t id = yamada();
  ASSERT_TRUE(born(birth_notice("b1", id, "山田　一郎", "ヤマダ　イチロウ", years_ago(25), Sex::male)).ok());
  // A child of the head with another mother (not in the register: the father is).
  auto other = born(birth_notice("b2", id, "山田　二朗", "ヤマダ　ジロウ", years_ago(24), Sex::male, "山田　太郎",
                                 "田中　ユキ"));
  ASSERT_TRUE(other.ok()) << other.status().to_string();
  EXPECT_EQ(member_of(reg(id), other->ref.member).relationship, "長男");
}

TEST_F(KosekiTest, AnAdopteeEntersTheAdoptersRegisterAsYoshiAndLeavesTheirOwn) {
  const int64_t yamada_id = yamada();
  const int64_t sato_id = sato();
  auto boy = born(birth_notice("b1", sato_id, "佐藤　翔", "サトウ　ショウ", years_ago(10), Sex::male, "佐藤　健",
                               "佐藤　明美"),
                  kChuo);
  ASSERT_TRUE(boy.ok()) << boy.status().to_string();
  auto girl = born(birth_notice("b2", sato_id, "佐藤　愛", "サトウ　アイ", years_ago(8), Sex::female, "佐藤　健",
                                "佐藤　明美"),
                   kChuo);
  ASSERT_TRUE(girl.ok());
  AdoptionNotice n{"ad1", days_ago(30), boy->ref, yamada_id, {"山田　太郎", "山田　花子"}};
  auto adopted = run([&](store::Connection& c) { return Koseki::adoption(c, kChiyoda, n); });
  ASSERT_TRUE(adopted.ok()) << adopted.status().to_string();
  EXPECT_EQ(adopted->ref.register_id, yamada_id);
  const KosekiMember& in = member_of(reg(yamada_id), adopted->ref.member);
  EXPECT_EQ(in.relationship, "養子");
  EXPECT_EQ(in.name, "山田　翔");
  EXPECT_EQ(in.name_kana, "ヤマダ　ショウ");
  EXPECT_EQ(in.father, "佐藤　健");
  EXPECT_EQ(in.adoptive_father, "山田　太郎");
  EXPECT_EQ(in.adoptive_mother, "山田　花子");
  const auto e = find_entry(in.entries, KosekiEntryKind::adoption);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->date, days_ago(30));
  EXPECT_EQ(e->other_register, "東京都中央区銀座一丁目1番　佐藤　健");  // 従前戸籍
  EXPECT_TRUE(find_entry(in.entries, KosekiEntryKind::birth).has_value());  // the birth is carried over
  const KosekiMember& left = member_of(reg(sato_id), boy->ref.member);
  EXPECT_TRUE(left.removed);
  EXPECT_TRUE(find_entry(left.entries, KosekiEntryKind::adoption).has_value());

  AdoptionNotice d{"ad2", days_ago(20), girl->ref, yamada_id, {"山田　花子"}};
  auto daughter = run([&](store::Connection& c) { return Koseki::adoption(c, kChiyoda, d); });
  ASSERT_TRUE(daughter.ok()) << daughter.status().to_string();
  const KosekiMember& she = member_of(reg(yamada_id), daughter->ref.member);
  EXPECT_EQ(she.relationship, "養女");
  EXPECT_EQ(she.adoptive_mother, "山田　花子");
  EXPECT_EQ(she.adoptive_father, "");
}

TEST_F(KosekiTest, AnAdopterUnder20OrAHeadOfARegisterAsAdopteeIsRefused) {
  const int64_t yamada_id = yamada();
  const int64_t sato_id = sato();
  auto young = born(birth_notice("b1", yamada_id, "山田　一郎", "ヤマダ　イチロウ", years_ago(19), Sex::male));
  auto boy = born(birth_notice("b2", sato_id, "佐藤　翔", "サトウ　ショウ", years_ago(2), Sex::male, "佐藤　健",
                               "佐藤　明美"),
                  kChuo);
  ASSERT_TRUE(young.ok() && boy.ok());
  const int64_t before = all_rows();
  AdoptionNotice by_minor{"ad1", days_ago(1), boy->ref, yamada_id, {"山田　一郎"}};
  EXPECT_EQ(run([&](store::Connection& c) { return Koseki::adoption(c, kChiyoda, by_minor); }).status().code(),
            Code::invalid_argument);
  AdoptionNotice head{"ad2", days_ago(1), {sato_id, 1}, yamada_id, {"山田　太郎"}};
  EXPECT_EQ(run([&](store::Connection& c) { return Koseki::adoption(c, kChiyoda, head); }).status().code(),
            Code::conflict);
  AdoptionNotice stranger{"ad3", days_ago(1), boy->ref, yamada_id, {"田中　某"}};
  EXPECT_EQ(run([&](store::Connection& c) { return Koseki::adoption(c, kChiyoda, stranger); }).status().code(),
            Code::not_found);
  EXPECT_EQ(all_rows(), before);
}

TEST_F(KosekiTest, AMarriageMakesANewRegisterAndRemovesBothFromTheirParents) {
  const int64_t yamada_id = yamada();
  const int64_t sato_id = sato();
  auto son = born(birth_notice("b1", yamada_id, "山田　一郎", "ヤマダ　イチロウ", years_ago(28), Sex::male));
  auto daughter = born(birth_notice("b2", sato_id, "佐藤　恵", "サトウ　メグミ", years_ago(27), Sex::female,
                                    "佐藤　健", "佐藤　明美"),
                       kChuo);
  ASSERT_TRUE(son.ok() && daughter.ok());
  MarriageNotice n{"m1", days_ago(100), son->ref, daughter->ref, true, kTaito, "東京都台東区上野一丁目1番"};
  auto married = run([&](store::Connection& c) { return Koseki::marriage(c, kChiyoda, n); });
  ASSERT_TRUE(married.ok()) << married.status().to_string();
  const int64_t couple = married->ref.register_id;
  EXPECT_NE(couple, yamada_id);
  EXPECT_NE(couple, sato_id);

  const KosekiRegister r = reg(couple);
  EXPECT_EQ(r.municipality, kTaito);
  EXPECT_EQ(r.honseki, "東京都台東区上野一丁目1番");
  EXPECT_EQ(r.head_name, "山田　一郎");
  ASSERT_EQ(r.entries.size(), 1u);
  EXPECT_EQ(r.entries[0].kind, KosekiEntryKind::made);
  ASSERT_EQ(r.members.size(), 2u);
  EXPECT_EQ(r.members[0].name, "山田　一郎");
  EXPECT_EQ(r.members[0].relationship, "長男");
  EXPECT_EQ(r.members[1].name, "山田　恵");
  EXPECT_EQ(r.members[1].name_kana, "ヤマダ　メグミ");
  EXPECT_EQ(r.members[1].relationship, "妻");
  EXPECT_EQ(r.members[1].mother, "佐藤　明美");
  const auto e = find_entry(r.members[1].entries, KosekiEntryKind::marriage);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->date, days_ago(100));
  EXPECT_EQ(e->counterpart, "山田　一郎");
  EXPECT_EQ(e->other_register, "東京都中央区銀座一丁目1番　佐藤　健");  // 従前戸籍

  const KosekiMember& his_old = member_of(reg(yamada_id), son->ref.member);
  const KosekiMember& her_old = member_of(reg(sato_id), daughter->ref.member);
  EXPECT_TRUE(his_old.removed);
  EXPECT_TRUE(her_old.removed);
  const auto out = find_entry(her_old.entries, KosekiEntryKind::marriage);
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->other_register, "東京都台東区上野一丁目1番　山田　一郎");  // 新戸籍
  // The parents' registers stay open with the parents.
  EXPECT_FALSE(reg(yamada_id).closed);
}

TEST_F(KosekiTest, AMarriageToTheHeadOfARegisterJoinsIt) {
  const int64_t sato_id = sato();
  auto daughter = born(birth_notice("b1", sato_id, "佐藤　恵", "サトウ　メグミ", years_ago(27), Sex::female,
                                    "佐藤　健", "佐藤　明美"),
                       kChuo);
  ASSERT_TRUE(daughter.ok());
  // 鈴木 heads a register of his own (after 分籍).
  OpenRegister o{"open-suzuki", years_ago(5), "分籍", "東京都千代田区神田1番",
                 {person("鈴木　大輔", "スズキ　ダイスケ", years_ago(30), Sex::male, "長男")}};
  auto suzuki = run([&](store::Connection& c) { return Koseki::open_register(c, kChiyoda, o); });
  ASSERT_TRUE(suzuki.ok());
  MarriageNotice n{"m1", days_ago(10), suzuki->ref, daughter->ref, true, kTaito, "unused"};
  auto married = run([&](store::Connection& c) { return Koseki::marriage(c, kChiyoda, n); });
  ASSERT_TRUE(married.ok()) << married.status().to_string();
  EXPECT_EQ(married->ref.register_id, suzuki->ref.register_id);
  const KosekiRegister r = reg(suzuki->ref.register_id);
  ASSERT_EQ(r.members.size(), 2u);
  EXPECT_EQ(r.members[1].name, "鈴木　恵");
  EXPECT_EQ(r.members[1].relationship, "妻");
  EXPECT_TRUE(find_entry(r.members[0].entries, KosekiEntryKind::marriage).has_value());
}

TEST_F(KosekiTest, AMarriedPersonCannotMarryAgain) {
  const int64_t yamada_id = yamada();
  const int64_t sato_id = sato();
  auto daughter = born(birth_notice("b1", sato_id, "佐藤　恵", "サトウ　メグミ", years_ago(27), Sex::female,
                                    "佐藤　健", "佐藤　明美"),
                       kChuo);
  ASSERT_TRUE(daughter.ok());
  const int64_t before = all_rows();
  MarriageNotice n{"m1", days_ago(10), {yamada_id, 1}, daughter->ref, true, kTaito, "東京都台東区上野一丁目1番"};
  auto r = run([&](store::Connection& c) { return Koseki::marriage(c, kChiyoda, n); });
  EXPECT_EQ(r.status().code(), Code::conflict);
  EXPECT_EQ(all_rows(), before);
}

TEST_F(KosekiTest, AWidowMayMarryAgainAndLeavesHerLateHusbandsRegister) {
  const int64_t yamada_id = yamada();
  const int64_t sato_id = sato();
  ASSERT_TRUE(run([&](store::Connection& c) {
                return Koseki::death(c, kChuo, DeathNotice{"x1", {sato_id, 2}, days_ago(900), "東京都", days_ago(899), "夫"});
              }).ok());
  ASSERT_TRUE(run([&](store::Connection& c) {
                return Koseki::death(c, kChiyoda, DeathNotice{"x2", {yamada_id, 1}, days_ago(800), "東京都", days_ago(799), "妻"});
              }).ok());
  // 佐藤健 (widower, head of his register) marries 山田花子 (widow, 妻 in hers): she joins his.
  MarriageNotice n{"m1", days_ago(10), {sato_id, 1}, {yamada_id, 2}, true, kChuo, "unused"};
  auto married = run([&](store::Connection& c) { return Koseki::marriage(c, kChuo, n); });
  ASSERT_TRUE(married.ok()) << married.status().to_string();
  EXPECT_EQ(married->ref.register_id, sato_id);
  const KosekiRegister r = reg(sato_id);
  EXPECT_EQ(r.members.back().name, "佐藤　花子");
  EXPECT_EQ(r.members.back().relationship, "妻");
  EXPECT_TRUE(member_of(reg(yamada_id), 2).removed);
  EXPECT_TRUE(reg(yamada_id).closed);  // no one is left in the late husband's register (消除)
}

TEST_F(KosekiTest, AParentBornAfterTheChildIsRefused) {
  const int64_t id = yamada();
  const int64_t before = all_rows();
  EXPECT_EQ(born(birth_notice("b1", id, "山田　一郎", "ヤマダ　イチロウ", years_ago(60), Sex::male)).status().code(),
            Code::invalid_argument);
  EXPECT_EQ(all_rows(), before);
}

TEST_F(KosekiTest, ADivorceReturnsTheSpouseToTheFormerRegisterWithTheFormerName) {
  const int64_t yamada_id = yamada();
  const int64_t sato_id = sato();
  auto son = born(birth_notice("b1", yamada_id, "山田　一郎", "ヤマダ　イチロウ", years_ago(28), Sex::male));
  auto daughter = born(birth_notice("b2", sato_id, "佐藤　恵", "サトウ　メグミ", years_ago(27), Sex::female,
                                    "佐藤　健", "佐藤　明美"),
                       kChuo);
  MarriageNotice m{"m1", days_ago(400), son->ref, daughter->ref, true, kChiyoda, "東京都千代田区丸の内1番"};
  auto married = run([&](store::Connection& c) { return Koseki::marriage(c, kChiyoda, m); });
  ASSERT_TRUE(married.ok()) << married.status().to_string();
  const int64_t couple = married->ref.register_id;

  DivorceNotice d{"d1", days_ago(5), {couple, 2}, std::nullopt, ""};
  auto divorced = run([&](store::Connection& c) { return Koseki::divorce(c, kChiyoda, d); });
  ASSERT_TRUE(divorced.ok()) << divorced.status().to_string();
  EXPECT_EQ(divorced->ref.register_id, sato_id);  // 復籍
  const KosekiMember& back = member_of(reg(sato_id), divorced->ref.member);
  EXPECT_EQ(back.name, "佐藤　恵");
  EXPECT_EQ(back.name_kana, "サトウ　メグミ");
  EXPECT_EQ(back.relationship, "長女");
  EXPECT_FALSE(back.removed);
  const auto e = find_entry(back.entries, KosekiEntryKind::divorce);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->date, days_ago(5));
  EXPECT_EQ(e->counterpart, "山田　一郎");

  const KosekiRegister r = reg(couple);
  EXPECT_TRUE(member_of(r, 2).removed);
  EXPECT_TRUE(find_entry(member_of(r, 2).entries, KosekiEntryKind::divorce).has_value());
  EXPECT_TRUE(find_entry(member_of(r, 1).entries, KosekiEntryKind::divorce).has_value());
  EXPECT_FALSE(r.closed);  // the head stays

  // A divorced spouse is no spouse: a second divorce is refused.
  DivorceNotice again{"d2", days_ago(1), {couple, 2}, std::nullopt, ""};
  EXPECT_EQ(run([&](store::Connection& c) { return Koseki::divorce(c, kChiyoda, again); }).status().code(),
            Code::conflict);
}

TEST_F(KosekiTest, ADivorceNamingANewHonsekiMakesARegisterHeadedByTheSpouse) {
  const int64_t yamada_id = yamada();
  DivorceNotice d{"d1", days_ago(5), {yamada_id, 2}, kTaito, "東京都台東区浅草1番"};
  // 山田花子 came from no register this system knows: she needs a new 本籍.
  DivorceNotice home{"d0", days_ago(5), {yamada_id, 2}, std::nullopt, ""};
  EXPECT_EQ(run([&](store::Connection& c) { return Koseki::divorce(c, kChiyoda, home); }).status().code(),
            Code::conflict);
  auto divorced = run([&](store::Connection& c) { return Koseki::divorce(c, kChiyoda, d); });
  ASSERT_TRUE(divorced.ok()) << divorced.status().to_string();
  const KosekiRegister r = reg(divorced->ref.register_id);
  EXPECT_EQ(r.municipality, kTaito);
  EXPECT_EQ(r.head_name, "山田　花子");
  EXPECT_EQ(divorced->ref.member, 1);
}

TEST_F(KosekiTest, ADeathRemovesTheMemberAndTheRegisterKeepsThem) {
  const int64_t id = yamada();
  DeathNotice n{"x1", {id, 1}, days_ago(20), "東京都千代田区", days_ago(18), "妻"};
  auto died = run([&](store::Connection& c) { return Koseki::death(c, kChiyoda, n); });
  ASSERT_TRUE(died.ok()) << died.status().to_string();
  KosekiRegister r = reg(id);
  ASSERT_EQ(r.members.size(), 2u);
  EXPECT_TRUE(member_of(r, 1).removed);
  const auto e = find_entry(member_of(r, 1).entries, KosekiEntryKind::death);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->date, days_ago(20));
  EXPECT_EQ(e->place, "東京都千代田区");
  EXPECT_EQ(*e->notified_on, days_ago(18));
  EXPECT_EQ(e->notifier, "妻");
  EXPECT_FALSE(r.closed);  // the wife is still in it
  EXPECT_EQ(r.head_name, "山田　太郎");

  // Dying twice is a conflict; the last member's death closes the register (消除).
  EXPECT_EQ(run([&](store::Connection& c) {
              return Koseki::death(c, kChiyoda, DeathNotice{"x2", {id, 1}, days_ago(2), "東京都", days_ago(1), "妻"});
            }).status().code(),
            Code::conflict);
  ASSERT_TRUE(run([&](store::Connection& c) {
                return Koseki::death(c, kChiyoda, DeathNotice{"x3", {id, 2}, days_ago(2), "東京都", days_ago(1), "子"});
              }).ok());
  r = reg(id);
  EXPECT_TRUE(r.closed);
  EXPECT_TRUE(find_entry(r.entries, KosekiEntryKind::closed).has_value());
}

TEST_F(KosekiTest, ATransferToAnotherMunicipalityClosesTheOldRegisterAndTheNewOneHoldsIt) {
  const int64_t id = yamada();
  auto son = born(birth_notice("b1", id, "山田　一郎", "ヤマダ　イチロウ", years_ago(3), Sex::male));
  ASSERT_TRUE(son.ok());
  ASSERT_TRUE(run([&](store::Connection& c) {
                return Koseki::death(c, kChiyoda, DeathNotice{"x1", {id, 1}, days_ago(60), "東京都", days_ago(59), "妻"});
              }).ok());
  TransferNotice n{"t1", id, days_ago(30), kChuo, "東京都中央区日本橋一丁目1番"};
  auto moved = run([&](store::Connection& c) { return Koseki::transfer(c, kChiyoda, n); });
  ASSERT_TRUE(moved.ok()) << moved.status().to_string();
  const int64_t new_id = moved->ref.register_id;
  ASSERT_NE(new_id, id);

  const KosekiRegister old_reg = reg(id);
  EXPECT_TRUE(old_reg.closed);
  ASSERT_TRUE(old_reg.successor.has_value());
  EXPECT_EQ(*old_reg.successor, new_id);
  const auto out = find_entry(old_reg.entries, KosekiEntryKind::transfer);
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->other_register, "東京都中央区日本橋一丁目1番");
  EXPECT_EQ(old_reg.members.size(), 3u);  // the closed register (除籍簿) keeps everyone

  const KosekiRegister now = reg(new_id);
  EXPECT_EQ(now.municipality, kChuo);
  EXPECT_EQ(now.honseki, "東京都中央区日本橋一丁目1番");
  EXPECT_EQ(now.head_name, "山田　太郎");
  ASSERT_EQ(now.members.size(), 2u);  // the dead head is not carried
  EXPECT_EQ(now.members[0].name, "山田　花子");
  EXPECT_EQ(now.members[1].relationship, "長男");
  const auto in = find_entry(now.entries, KosekiEntryKind::transfer);
  ASSERT_TRUE(in.has_value());
  EXPECT_EQ(in->other_register, "東京都千代田区千代田1番");  // 従前本籍

  // The new municipality acts on it; the old one no longer can (closed) nor on the new (not its).
  auto conn = pool_->acquire().value();
  EXPECT_EQ(**Koseki::find(*conn, kChuo, "東京都中央区日本橋一丁目1番"), new_id);
  EXPECT_FALSE(Koseki::find(*conn, kChiyoda, "東京都千代田区千代田1番")->has_value());
  auto baby = birth_notice("b2", new_id, "山田　二郎", "ヤマダ　ジロウ", days_ago(1), Sex::male);
  EXPECT_EQ(born(baby, kChiyoda).status().code(), Code::not_found);
  baby.register_id = id;
  EXPECT_EQ(born(baby, kChiyoda).status().code(), Code::conflict);
  baby.register_id = new_id;
  auto second = born(baby, kChuo);
  ASSERT_TRUE(second.ok()) << second.status().to_string();
  EXPECT_EQ(member_of(reg(new_id), second->ref.member).relationship, "二男");
}

TEST_F(KosekiTest, ATransferWithinTheMunicipalityKeepsTheRegister) {
  const int64_t id = yamada();
  TransferNotice n{"t1", id, days_ago(3), kChiyoda, "東京都千代田区永田町一丁目7番"};
  auto moved = run([&](store::Connection& c) { return Koseki::transfer(c, kChiyoda, n); });
  ASSERT_TRUE(moved.ok()) << moved.status().to_string();
  EXPECT_EQ(moved->ref.register_id, id);
  const KosekiRegister r = reg(id);
  EXPECT_FALSE(r.closed);
  EXPECT_EQ(r.honseki, "東京都千代田区永田町一丁目7番");
  const auto e = find_entry(r.entries, KosekiEntryKind::transfer);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->other_register, "東京都千代田区千代田1番");
}

TEST_F(KosekiTest, BunsekiMakesARegisterOfOneAndAMinorIsRefused) {
  const int64_t id = yamada();
  auto adult = born(birth_notice("b1", id, "山田　一郎", "ヤマダ　イチロウ", years_ago(20), Sex::male));
  auto minor = born(birth_notice("b2", id, "山田　次郎", "ヤマダ　ジロウ", years_ago(17), Sex::male));
  ASSERT_TRUE(adult.ok() && minor.ok());
  BranchNotice kid{"br0", minor->ref, days_ago(1), kChiyoda, "東京都千代田区神田1番"};
  EXPECT_EQ(run([&](store::Connection& c) { return Koseki::branch(c, kChiyoda, kid); }).status().code(),
            Code::invalid_argument);
  BranchNotice n{"br1", adult->ref, days_ago(1), kChiyoda, "東京都千代田区神田1番"};
  auto out = run([&](store::Connection& c) { return Koseki::branch(c, kChiyoda, n); });
  ASSERT_TRUE(out.ok()) << out.status().to_string();
  const KosekiRegister r = reg(out->ref.register_id);
  EXPECT_EQ(r.head_name, "山田　一郎");
  ASSERT_EQ(r.members.size(), 1u);
  EXPECT_EQ(r.members[0].relationship, "長男");
  EXPECT_TRUE(find_entry(r.members[0].entries, KosekiEntryKind::branch).has_value());
  EXPECT_TRUE(member_of(reg(id), adult->ref.member).removed);
}

TEST_F(KosekiTest, ARetryAnswersAsTheFirstTimeAndAReusedKeyWithOtherContentIsConflict) {
  const int64_t id = yamada();
  BirthNotice n = birth_notice("b1", id, "山田　一郎", "ヤマダ　イチロウ", days_ago(10), Sex::male);
  auto first = born(n);
  ASSERT_TRUE(first.ok());
  const int64_t after_first = all_rows();
  auto again = born(n);
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_TRUE(again->replay);
  EXPECT_EQ(again->ref, first->ref);
  EXPECT_EQ(all_rows(), after_first);
  EXPECT_EQ(reg(id).members.size(), 3u);

  BirthNotice other = n;
  other.name = "山田　次郎";
  other.name_kana = "ヤマダ　ジロウ";
  EXPECT_EQ(born(other).status().code(), Code::conflict);
  EXPECT_EQ(all_rows(), after_first);
  // The key is the submitting municipality's: another may use the same one.
  const int64_t sato_id = sato();
  auto elsewhere = born(birth_notice("b1", sato_id, "佐藤　翔", "サトウ　ショウ", days_ago(3), Sex::male, "佐藤　健",
                                     "佐藤　明美"),
                        kChuo);
  EXPECT_TRUE(elsewhere.ok()) << elsewhere.status().to_string();
}

TEST_F(KosekiTest, ARetriedMarriageIsAppliedOnce) {
  const int64_t yamada_id = yamada();
  const int64_t sato_id = sato();
  auto son = born(birth_notice("b1", yamada_id, "山田　一郎", "ヤマダ　イチロウ", years_ago(28), Sex::male));
  auto daughter = born(birth_notice("b2", sato_id, "佐藤　恵", "サトウ　メグミ", years_ago(27), Sex::female,
                                    "佐藤　健", "佐藤　明美"),
                       kChuo);
  MarriageNotice m{"m1", days_ago(100), son->ref, daughter->ref, false, kChuo, "東京都中央区銀座二丁目1番"};
  auto first = run([&](store::Connection& c) { return Koseki::marriage(c, kChuo, m); });
  ASSERT_TRUE(first.ok()) << first.status().to_string();
  EXPECT_EQ(reg(first->ref.register_id).head_name, "佐藤　恵");  // 妻の氏
  EXPECT_EQ(member_of(reg(first->ref.register_id), 2).name, "佐藤　一郎");
  EXPECT_EQ(member_of(reg(first->ref.register_id), 2).relationship, "夫");
  const int64_t after = all_rows();
  auto again = run([&](store::Connection& c) { return Koseki::marriage(c, kChuo, m); });
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_TRUE(again->replay);
  EXPECT_EQ(again->ref, first->ref);
  EXPECT_EQ(all_rows(), after);
  // The same key from the other municipality is another notice: refused on its merits (both married).
  EXPECT_EQ(run([&](store::Connection& c) { return Koseki::marriage(c, kChiyoda, m); }).status().code(),
            Code::conflict);
}

TEST_F(KosekiTest, AnUnknownRegisterOrAnotherMunicipalitysIsNotFoundAndWritesNothing) {
  const int64_t id = yamada();
  const int64_t before = all_rows();
  EXPECT_EQ(born(birth_notice("b1", id + 100, "山田　一郎", "ヤマダ　イチロウ", days_ago(3), Sex::male)).status().code(),
            Code::not_found);
  EXPECT_EQ(born(birth_notice("b2", id, "山田　一郎", "ヤマダ　イチロウ", days_ago(3), Sex::male), kChuo).status().code(),
            Code::not_found);
  EXPECT_EQ(all_rows(), before);
}

TEST_F(KosekiTest, AMemberNotInTheRegisterIsNotFoundAndWritesNothing) {
  const int64_t id = yamada();
  const int64_t before = all_rows();
  EXPECT_EQ(run([&](store::Connection& c) {
              return Koseki::death(c, kChiyoda, DeathNotice{"x1", {id, 9}, days_ago(2), "東京都", days_ago(1), "妻"});
            }).status().code(),
            Code::not_found);
  // Parents who are not members of the register.
  EXPECT_EQ(born(birth_notice("b1", id, "山田　一郎", "ヤマダ　イチロウ", days_ago(3), Sex::male, "山田　某",
                              "山田　誰"))
                .status()
                .code(),
            Code::not_found);
  EXPECT_EQ(all_rows(), before);
}

TEST_F(KosekiTest, ADateInTheFutureIsRefusedAndWritesNothing) {
  const int64_t id = yamada();
  const int64_t before = all_rows();
  BirthNotice n = birth_notice("b1", id, "山田　一郎", "ヤマダ　イチロウ", koseki_today().add_days(1), Sex::male);
  n.notified_on = koseki_today();
  EXPECT_EQ(born(n).status().code(), Code::invalid_argument);
  EXPECT_EQ(run([&](store::Connection& c) {
              return Koseki::death(c, kChiyoda, DeathNotice{"x1", {id, 1}, koseki_today().add_days(2), "東京都",
                                                            koseki_today().add_days(2), "妻"});
            }).status().code(),
            Code::invalid_argument);
  TransferNotice t{"t1", id, koseki_today().add_days(1), kChuo, "東京都中央区日本橋一丁目1番"};
  EXPECT_EQ(run([&](store::Connection& c) { return Koseki::transfer(c, kChiyoda, t); }).status().code(),
            Code::invalid_argument);
  // A name without the space between surname and given name, and a surname not the register's.
  EXPECT_EQ(born(birth_notice("b2", id, "山田一郎", "ヤマダイチロウ", days_ago(1), Sex::male)).status().code(),
            Code::invalid_argument);
  EXPECT_EQ(born(birth_notice("b3", id, "田中　一郎", "タナカ　イチロウ", days_ago(1), Sex::male)).status().code(),
            Code::invalid_argument);
  EXPECT_EQ(all_rows(), before);
}

TEST_F(KosekiTest, AnOldSurnameIsRecordedOnlyWhenTheMemberBoreIt) {
  const int64_t yamada_id = yamada();
  const int64_t sato_id = sato();
  auto son = born(birth_notice("b1", yamada_id, "山田　一郎", "ヤマダ　イチロウ", years_ago(28), Sex::male));
  auto daughter = born(birth_notice("b2", sato_id, "佐藤　恵", "サトウ　メグミ", years_ago(27), Sex::female,
                                    "佐藤　健", "佐藤　明美"),
                       kChuo);
  MarriageNotice m{"m1", days_ago(100), son->ref, daughter->ref, true, kChiyoda, "東京都千代田区丸の内1番"};
  auto married = run([&](store::Connection& c) { return Koseki::marriage(c, kChiyoda, m); });
  ASSERT_TRUE(married.ok());
  const MemberRef wife{married->ref.register_id, 2};
  OldSurnameNotice never{"k0", wife, days_ago(1), "鈴木", "スズキ"};
  EXPECT_EQ(run([&](store::Connection& c) { return Koseki::record_old_surname(c, kChiyoda, never); }).status().code(),
            Code::invalid_argument);
  OldSurnameNotice n{"k1", wife, days_ago(1), "佐藤", "サトウ"};
  auto recorded = run([&](store::Connection& c) { return Koseki::record_old_surname(c, kChiyoda, n); });
  ASSERT_TRUE(recorded.ok()) << recorded.status().to_string();
  const KosekiMember& she = member_of(reg(wife.register_id), 2);
  EXPECT_EQ(she.old_surname, "佐藤");
  EXPECT_EQ(she.old_surname_kana, "サトウ");
  const auto e = find_entry(she.entries, KosekiEntryKind::old_surname);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->counterpart, "佐藤（サトウ）");
}

TEST_F(KosekiTest, OneMembersCertificateHoldsTheRegisterAndThatMemberOnly) {
  const int64_t id = yamada();
  auto conn = pool_->acquire().value();
  auto one = Koseki::member(*conn, {id, 2});
  ASSERT_TRUE(one.ok()) << one.status().to_string();
  EXPECT_EQ(one->honseki, "東京都千代田区千代田1番");
  EXPECT_EQ(one->head_name, "山田　太郎");
  ASSERT_EQ(one->members.size(), 1u);
  EXPECT_EQ(one->members[0].name, "山田　花子");
  EXPECT_EQ(Koseki::member(*conn, {id, 7}).status().code(), Code::not_found);
  EXPECT_EQ(Koseki::get(*conn, id + 9).status().code(), Code::not_found);
}

}  // namespace
}  // namespace jlis::municipal::koseki_testing
