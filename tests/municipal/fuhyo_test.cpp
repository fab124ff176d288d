// The 附票 following a linked resident's moves through the registry, and the attachment identity
// information (附票本人確認情報) built from it.
#include "municipal/fuhyo.h"

#include <gtest/gtest.h>

#include "koseki_fixture.h"

namespace jlis::municipal::koseki_testing {
namespace {

class FuhyoTest : public KosekiTest {
 protected:
  // 山田一郎, 20, in the 山田 register of 千代田区 and registered there as a resident, linked.
  void SetUp() override {
    KosekiTest::SetUp();
    register_id_ = yamada();
    auto son = born(birth_notice("kb1", register_id_, "山田　一郎", "ヤマダ　イチロウ", years_ago(20), Sex::male));
    ASSERT_TRUE(son.ok()) << son.status().to_string();
    son_ = son->ref;
    resident_ = resident("rb1", "山田　一郎", "ヤマダ　イチロウ", years_ago(20), Sex::male);
    auto linked = link(son_, resident_, years_ago(20), "l1");
    ASSERT_TRUE(linked.ok()) << linked.status().to_string();
  }
  std::vector<FuhyoEntry> addresses(const MemberRef& ref) {
    const FuhyoCopy c = fuhyo(ref.register_id, {ref.member});
    return c.members.empty() ? std::vector<FuhyoEntry>{} : c.members[0].addresses;
  }
  void submit(const LocalGovernmentCode& by, const ChangeEvent& e) {
    auto r = registry_->submit(by, e);
    ASSERT_TRUE(r.ok()) << r.status().to_string();
  }
  ChangeEvent move_in(const std::string& id, Date when, const std::string& from, const std::string& address) {
    ChangeEvent e = change(id, EventType::move_in, when, resident_.resident_code);
    e.from = from;
    e.address = address;
    e.name = "山田　一郎";
    e.date_of_birth = years_ago(20);
    e.sex = Sex::male;
    return e;
  }

  int64_t register_id_ = 0;
  MemberRef son_;
  Resident resident_;
};

TEST_F(FuhyoTest, LinkingOpensTheFuhyoWithTheResidentsAddress) {
  const auto a = addresses(son_);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].address, "東京都千代田区丸の内一丁目1番1号");
  EXPECT_EQ(a[0].since, years_ago(20));
  EXPECT_FALSE(a[0].until.has_value());
  EXPECT_FALSE(a[0].abroad);
  // A retry is a replay; the same resident for a second member, or by another municipality, is refused.
  auto again = link(son_, resident_, years_ago(20), "l1");
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->replay);
  EXPECT_EQ(link({register_id_, 1}, resident_, years_ago(20), "l2").status().code(), Code::conflict);
  EXPECT_EQ(link(son_, resident_, years_ago(20), "l3", kChuo).status().code(), Code::not_found);
  EXPECT_EQ(link(son_, resident_, koseki_today().add_days(1), "l4").status().code(), Code::invalid_argument);
}

TEST_F(FuhyoTest, ARelocationClosesTheAddressAndAppendsTheNewOne) {
  ChangeEvent e = change("r1", EventType::relocation, days_ago(100), resident_.resident_code);
  e.address = "東京都千代田区神田一丁目1番1号";
  submit(kChiyoda, e);
  const auto a = addresses(son_);
  ASSERT_EQ(a.size(), 2u);
  ASSERT_TRUE(a[0].until.has_value());
  EXPECT_EQ(*a[0].until, days_ago(100));
  EXPECT_EQ(a[0].end_reason, "転居");
  EXPECT_EQ(a[1].address, "東京都千代田区神田一丁目1番1号");
  EXPECT_EQ(a[1].since, days_ago(100));
  EXPECT_EQ(a[1].reason, "転居");
  EXPECT_FALSE(a[1].until.has_value());
}

TEST_F(FuhyoTest, AMoveToAnotherMunicipalityShowsWhenTheMoveInCompletes) {
  ChangeEvent out = change("o1", EventType::move_out, days_ago(50), resident_.resident_code);
  out.to = kChuo.str();
  submit(kChiyoda, out);
  EXPECT_EQ(addresses(son_).size(), 1u);  // a pending move-out changes nothing
  submit(kChuo, move_in("i1", days_ago(45), kChiyoda.str(), "東京都中央区銀座一丁目2番3号"));
  const auto a = addresses(son_);
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[0].end_reason, "転入");
  EXPECT_EQ(a[1].address, "東京都中央区銀座一丁目2番3号");
  EXPECT_EQ(a[1].since, days_ago(45));
  EXPECT_EQ(a[1].reason, "転入");
  // The 本籍 municipality (千代田区) still holds the 附票 of a resident of 中央区.
  auto id = identity(resident_.resident_code);
  ASSERT_TRUE(id.ok()) << id.status().to_string();
  EXPECT_EQ(id->municipality, kChiyoda);
  EXPECT_EQ(id->address, "東京都中央区銀座一丁目2番3号");
}

TEST_F(FuhyoTest, AMoveAbroadMakesTheOverseasAddressCurrentAndTheReturnClosesIt) {
  ChangeEvent out = change("o1", EventType::move_out, days_ago(300), resident_.resident_code);
  out.to = "abroad";
  out.address_abroad = "アメリカ合衆国ニューヨーク州ニューヨーク市";
  submit(kChiyoda, out);
  auto a = addresses(son_);
  ASSERT_EQ(a.size(), 2u);
  EXPECT_TRUE(a[1].abroad);
  EXPECT_EQ(a[1].address, "アメリカ合衆国ニューヨーク州ニューヨーク市");
  EXPECT_EQ(a[1].since, days_ago(300));
  EXPECT_EQ(a[1].reason, "国外転出");
  EXPECT_FALSE(a[1].until.has_value());
  EXPECT_EQ(a[0].end_reason, "国外転出");
  auto abroad = identity(resident_.resident_code);
  ASSERT_TRUE(abroad.ok()) << abroad.status().to_string();
  EXPECT_TRUE(abroad->abroad);
  EXPECT_EQ(abroad->address, "アメリカ合衆国ニューヨーク州ニューヨーク市");

  submit(kChuo, move_in("i1", days_ago(10), "abroad", "東京都中央区銀座一丁目1番1号"));
  a = addresses(son_);
  ASSERT_EQ(a.size(), 3u);
  ASSERT_TRUE(a[1].until.has_value());
  EXPECT_EQ(*a[1].until, days_ago(10));
  EXPECT_EQ(a[2].address, "東京都中央区銀座一丁目1番1号");
  EXPECT_EQ(a[2].reason, "国外転入");
  EXPECT_FALSE(a[2].abroad);
  auto back = identity(resident_.resident_code);
  ASSERT_TRUE(back.ok());
  EXPECT_FALSE(back->abroad);
  EXPECT_EQ(back->address, "東京都中央区銀座一丁目1番1号");
  EXPECT_EQ(*back->address_since, days_ago(10));
}

TEST_F(FuhyoTest, ADeathClosesTheCurrentEntry) {
  submit(kChiyoda, change("d1", EventType::death, days_ago(4), resident_.resident_code));
  const auto a = addresses(son_);
  ASSERT_EQ(a.size(), 1u);
  ASSERT_TRUE(a[0].until.has_value());
  EXPECT_EQ(*a[0].until, days_ago(4));
  EXPECT_EQ(a[0].end_reason, "死亡");
}

TEST_F(FuhyoTest, ANewResidentCodeIsFollowed) {
  auto changed = registry_->submit(kChiyoda, change("c1", EventType::resident_code_change, days_ago(20),
                                                    resident_.resident_code));
  ASSERT_TRUE(changed.ok()) << changed.status().to_string();
  const ResidentCode code = changed->resident.resident_code;
  ASSERT_NE(code, resident_.resident_code);
  EXPECT_EQ(identity(resident_.resident_code).status().code(), Code::not_found);
  auto id = identity(code);
  ASSERT_TRUE(id.ok()) << id.status().to_string();
  EXPECT_EQ(id->resident_code, code);
  ChangeEvent e = change("r1", EventType::relocation, days_ago(2), code);
  e.address = "東京都千代田区神田一丁目1番1号";
  submit(kChiyoda, e);
  EXPECT_EQ(addresses(son_).size(), 2u);
}

TEST_F(FuhyoTest, AnUnlinkedResidentsMovesTouchNoFuhyo) {
  const Resident other = resident("rb2", "田中　花", "タナカ　ハナ", years_ago(30), Sex::female);
  const int64_t before = rows("municipal_koseki_fuhyo");
  ChangeEvent e = change("r1", EventType::relocation, days_ago(2), other.resident_code);
  e.address = "東京都千代田区神田一丁目1番1号";
  submit(kChiyoda, e);
  EXPECT_EQ(rows("municipal_koseki_fuhyo"), before);
  EXPECT_EQ(identity(other.resident_code).status().code(), Code::not_found);
}

TEST_F(FuhyoTest, AMarriageCarriesTheAddressToTheNewRegistersFuhyo) {
  const int64_t sato_id = sato();
  auto daughter = born(birth_notice("kb2", sato_id, "佐藤　恵", "サトウ　メグミ", years_ago(21), Sex::female,
                                    "佐藤　健", "佐藤　明美"),
                       kChuo);
  ASSERT_TRUE(daughter.ok());
  MarriageNotice m{"m1", days_ago(30), son_, daughter->ref, true, kTaito, "東京都台東区上野一丁目1番"};
  auto married = run([&](store::Connection& c) { return Koseki::marriage(c, kChiyoda, m); });
  ASSERT_TRUE(married.ok()) << married.status().to_string();
  const MemberRef now = married->ref;
  auto a = addresses(now);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].address, "東京都千代田区丸の内一丁目1番1号");
  EXPECT_EQ(a[0].since, years_ago(20));  // 住所を定めた年月日 is unchanged by the marriage
  const auto old = addresses(son_);
  ASSERT_EQ(old.size(), 1u);
  EXPECT_EQ(old[0].end_reason, "除籍");
  // Later moves go to the new register's 附票 only.
  ChangeEvent e = change("r1", EventType::relocation, days_ago(2), resident_.resident_code);
  e.address = "東京都千代田区神田一丁目1番1号";
  submit(kChiyoda, e);
  EXPECT_EQ(addresses(now).size(), 2u);
  EXPECT_EQ(addresses(son_).size(), 1u);
  auto id = identity(resident_.resident_code);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->municipality, kTaito);
  EXPECT_EQ(id->ref, now);
}

TEST_F(FuhyoTest, ATransferOfHonsekiHandsTheFuhyoToTheNewMunicipality) {
  TransferNotice t{"t1", register_id_, days_ago(40), kChuo, "東京都中央区日本橋一丁目1番"};
  auto moved = run([&](store::Connection& c) { return Koseki::transfer(c, kChiyoda, t); });
  ASSERT_TRUE(moved.ok()) << moved.status().to_string();
  auto id = identity(resident_.resident_code);
  ASSERT_TRUE(id.ok()) << id.status().to_string();
  EXPECT_EQ(id->municipality, kChuo);
  EXPECT_EQ(id->honseki, "東京都中央区日本橋一丁目1番");
  EXPECT_EQ(id->address, "東京都千代田区丸の内一丁目1番1号");
  EXPECT_EQ(*id->address_since, years_ago(20));
  ChangeEvent e = change("r1", EventType::relocation, days_ago(2), resident_.resident_code);
  e.address = "東京都千代田区神田一丁目1番1号";
  submit(kChiyoda, e);
  EXPECT_EQ(addresses(id->ref).size(), 2u);
  const auto old = addresses(son_);
  ASSERT_EQ(old.size(), 1u);  // the closed register's 附票 keeps what it had
  EXPECT_EQ(old[0].end_reason, "除籍");
}

TEST_F(FuhyoTest, AResidentCodeBelongsToOneCurrentMemberOnly) {
  const int64_t before = all_rows();
  BirthNotice n = birth_notice("kb9", register_id_, "山田　次郎", "ヤマダ　ジロウ", days_ago(3), Sex::male);
  n.resident_code = resident_.resident_code;
  EXPECT_EQ(born(n).status().code(), Code::conflict);
  EXPECT_EQ(all_rows(), before);
}

TEST_F(FuhyoTest, TheIdentityCarriesTheOldSurnameWithItsFurigana) {
  const int64_t sato_id = sato();
  auto daughter = born(birth_notice("kb2", sato_id, "佐藤　恵", "サトウ　メグミ", years_ago(21), Sex::female,
                                    "佐藤　健", "佐藤　明美"),
                       kChuo);
  ASSERT_TRUE(daughter.ok());
  const Resident her = resident("rb2", "佐藤　恵", "サトウ　メグミ", years_ago(21), Sex::female,
                                "東京都中央区銀座一丁目1番1号", kChuo);
  ASSERT_TRUE(link(daughter->ref, her, years_ago(21), "l2", kChuo).ok());
  MarriageNotice m{"m1", days_ago(30), son_, daughter->ref, true, kChiyoda, "東京都千代田区丸の内1番"};
  auto married = run([&](store::Connection& c) { return Koseki::marriage(c, kChiyoda, m); });
  ASSERT_TRUE(married.ok()) << married.status().to_string();
  const MemberRef wife{married->ref.register_id, 2};
  OldSurnameNotice n{"k1", wife, days_ago(1), "佐藤", "サトウ"};
  ASSERT_TRUE(run([&](store::Connection& c) { return Koseki::record_old_surname(c, kChiyoda, n); }).ok());
  auto id = identity(her.resident_code);
  ASSERT_TRUE(id.ok()) << id.status().to_string();
  EXPECT_EQ(id->name, "山田　恵");
  EXPECT_EQ(id->name_kana, "ヤマダ　メグミ");
  EXPECT_EQ(id->old_surname, "佐藤");
  EXPECT_EQ(id->old_surname_kana, "サトウ");
  EXPECT_EQ(id->date_of_birth, years_ago(21));
  EXPECT_EQ(id->sex, Sex::female);
  EXPECT_EQ(id->address, "東京都中央区銀座一丁目1番1号");
  EXPECT_EQ(id->honseki, "東京都千代田区丸の内1番");
  const FuhyoCopy c = fuhyo(wife.register_id, {2});
  ASSERT_EQ(c.members.size(), 1u);
  EXPECT_EQ(c.members[0].old_surname, "佐藤");
}

TEST_F(FuhyoTest, ACopyHoldsTheChosenMembersOnly) {
  const FuhyoCopy all = fuhyo(register_id_);
  EXPECT_EQ(all.members.size(), 3u);
  EXPECT_EQ(all.honseki, "東京都千代田区千代田1番");
  EXPECT_EQ(all.head_name, "山田　太郎");
  EXPECT_TRUE(all.members[0].addresses.empty());  // the parents are not linked
  const FuhyoCopy one = fuhyo(register_id_, {son_.member});
  ASSERT_EQ(one.members.size(), 1u);
  EXPECT_EQ(one.members[0].name, "山田　一郎");
  auto conn = pool_->acquire().value();
  EXPECT_EQ(Fuhyo::copy(*conn, register_id_, {9}).status().code(), Code::not_found);
  EXPECT_EQ(Fuhyo::copy(*conn, register_id_ + 50).status().code(), Code::not_found);
}

}  // namespace
}  // namespace jlis::municipal::koseki_testing
