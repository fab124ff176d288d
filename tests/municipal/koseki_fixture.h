// Family registers and their 附票 on a fresh database (SQLite, or PostgreSQL under JLIS_TEST_STORE),
// with a registry whose changes feed the 附票, and helpers that build the families the tests need.
// Every date is relative to today, so the tests never age.
#pragma once

#include <gtest/gtest.h>

#include "../registry/fixture.h"
#include "municipal/fuhyo.h"
#include "municipal/koseki.h"

namespace jlis::municipal::koseki_testing {

using registry::ChangeEvent;
using registry::EventType;
using registry::Resident;
using registry::Sex;
using registry::testing::kChiyoda;
using registry::testing::kChuo;
using registry::testing::kTaito;

inline Date koseki_today() { return Date::today(); }
inline Date days_ago(int days) { return Date::today().add_days(-days); }
inline Date years_ago(int years, int extra_days = 0) { return Date::today().add_years(-years).add_days(-extra_days); }

class KosekiTest : public registry::testing::RegistryTest {
 protected:
  void SetUp() override {
    registry::testing::RegistryTest::SetUp();
    auto conn = db_->connect().value();
    Status migrated = Koseki::migrate(*conn);
    ASSERT_TRUE(migrated.is_ok()) << migrated.to_string();
    Fuhyo::attach(*registry_);
  }

  // Runs a notice as the component's callers do: a job on the writer's connection.
  template <class F>
  Result<KosekiOutcome> run(F&& notice) {
    Result<KosekiOutcome> out = internal_error("the job did not run");
    Status s = writer_->run([&](store::Connection& conn) {
      out = notice(conn);
      return out.status();
    });
    if (!s.is_ok()) return s;
    return out;
  }

  KosekiRegister reg(int64_t id) {
    auto conn = pool_->acquire().value();
    auto r = Koseki::get(*conn, id);
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() ? *r : KosekiRegister{};
  }
  static KosekiMember member_of(const KosekiRegister& r, int member) {
    for (const KosekiMember& m : r.members)
      if (m.ref.member == member) return m;
    const KosekiMember kNone;
    ADD_FAILURE() << "no member " << member << " in register " << r.id;
    return kNone;
  }
  int64_t rows(const char* table) { return count((std::string("SELECT COUNT(*) FROM ") + table).c_str()); }
  // Every row of every koseki table: a refused notice must leave it unchanged.
  int64_t all_rows() {
    return rows("municipal_koseki_registers") + rows("municipal_koseki_members") + rows("municipal_koseki_entries") +
           rows("municipal_koseki_notices") + rows("municipal_koseki_fuhyo");
  }

  static InitialMember person(const std::string& name, const std::string& kana, Date dob, Sex sex,
                              const std::string& relationship, const std::string& father = "",
                              const std::string& mother = "") {
    InitialMember m;
    m.name = name;
    m.name_kana = kana;
    m.date_of_birth = dob;
    m.sex = sex;
    m.relationship = relationship;
    m.father = father;
    m.mother = mother;
    return m;
  }

  // A married couple's register in 千代田区: 山田太郎 (head) and 山田花子 (妻), married 30 years ago.
  int64_t yamada(const LocalGovernmentCode& where = kChiyoda, const std::string& id = "open-yamada") {
    OpenRegister o;
    o.event_id = id;
    o.date = years_ago(30);
    o.reason = "婚姻";
    o.honseki = "東京都千代田区千代田1番";
    o.members = {person("山田　太郎", "ヤマダ　タロウ", years_ago(58), Sex::male, "長男", "山田　一郎", "山田　ハル"),
                 person("山田　花子", "ヤマダ　ハナコ", years_ago(56), Sex::female, "妻", "佐藤　次郎", "佐藤　キヨ")};
    auto r = run([&](store::Connection& c) { return Koseki::open_register(c, where, o); });
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() ? r->ref.register_id : 0;
  }
  // The same for 佐藤 in 中央区 (the wife's side of a marriage).
  int64_t sato(const std::string& id = "open-sato") {
    OpenRegister o;
    o.event_id = id;
    o.date = years_ago(32);
    o.reason = "婚姻";
    o.honseki = "東京都中央区銀座一丁目1番";
    o.members = {person("佐藤　健", "サトウ　ケン", years_ago(60), Sex::male, "二男", "佐藤　勇", "佐藤　ミツ"),
                 person("佐藤　明美", "サトウ　アケミ", years_ago(59), Sex::female, "妻", "鈴木　茂", "鈴木　トメ")};
    auto r = run([&](store::Connection& c) { return Koseki::open_register(c, kChuo, o); });
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() ? r->ref.register_id : 0;
  }

  static BirthNotice birth_notice(const std::string& id, int64_t register_id, const std::string& name,
                                  const std::string& kana, Date dob, Sex sex,
                                  const std::string& father = "山田　太郎", const std::string& mother = "山田　花子") {
    BirthNotice n;
    n.event_id = id;
    n.register_id = register_id;
    n.name = name;
    n.name_kana = kana;
    n.date_of_birth = dob;
    n.sex = sex;
    n.place = "東京都千代田区";
    n.father = father;
    n.mother = mother;
    n.notified_on = dob.add_days(7) > Date::today() ? Date::today() : dob.add_days(7);
    n.notifier = "父";
    return n;
  }
  Result<KosekiOutcome> born(const BirthNotice& n, const LocalGovernmentCode& by = kChiyoda) {
    return run([&](store::Connection& c) { return Koseki::birth(c, by, n); });
  }

  // A resident registered by birth in the registry (the registry's own record).
  Resident resident(const std::string& id, const std::string& name, const std::string& kana, Date dob, Sex sex,
                    const std::string& address = registry::testing::kChiyodaAddress,
                    const LocalGovernmentCode& where = kChiyoda) {
    ChangeEvent e;
    e.event_id = id;
    e.type = EventType::birth;
    e.date = dob;
    e.person = registry::Person{name, kana, dob, sex, address};
    auto r = registry_->submit(where, e);
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() ? r->resident : Resident{};
  }
  ChangeEvent change(const std::string& id, EventType type, Date when, const ResidentCode& code) {
    ChangeEvent e;
    e.event_id = id;
    e.type = type;
    e.date = when;
    e.resident_code = code;
    return e;
  }
  Result<KosekiOutcome> link(const MemberRef& ref, const Resident& r, Date since, const std::string& id,
                             const LocalGovernmentCode& by = kChiyoda) {
    LinkNotice n{id, ref, r, since};
    return run([&](store::Connection& c) { return Fuhyo::link(c, by, n); });
  }
  FuhyoCopy fuhyo(int64_t register_id, const std::vector<int>& members = {}) {
    auto conn = pool_->acquire().value();
    auto c = Fuhyo::copy(*conn, register_id, members);
    EXPECT_TRUE(c.ok()) << c.status().to_string();
    return c.ok() ? *c : FuhyoCopy{};
  }
  Result<FuhyoIdentity> identity(const ResidentCode& code) {
    auto conn = pool_->acquire().value();
    return Fuhyo::identity(*conn, code);
  }
};

}  // namespace jlis::municipal::koseki_testing
