// The change flow: every event type, idempotency, and every refusal leaving the record unchanged.
#include <nlohmann/json.hpp>

#include <set>
#include <thread>

#include "fixture.h"

namespace jlis::registry::testing {
namespace {

TEST_F(RegistryTest, BirthRegistersAResidentWithCanonicalIdentity) {
  auto r = registry_->submit(kChiyoda, birth("b1", "山田 花子", "やまだ はなこ", "2020-02-29",
                                             "千代田区丸の内１丁目１番１号"));
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  const Resident& res = r->resident;
  EXPECT_FALSE(r->replay);
  EXPECT_TRUE(ResidentCode::parse(res.resident_code.str()).ok());
  EXPECT_EQ(res.person.name, "山田　花子");  // one full-width space
  EXPECT_EQ(res.person.name_kana, "ヤマダ　ハナコ");
  EXPECT_EQ(res.person.date_of_birth, date("2020-02-29"));
  EXPECT_EQ(res.person.address.rfind("東京都千代田区丸の内一丁目", 0), 0u) << res.person.address;
  EXPECT_EQ(res.municipality_code, kChiyoda);
  EXPECT_EQ(res.status, ResidentStatus::resident);
  ASSERT_TRUE(res.my_number.has_value());  // numbered in the same transaction
  EXPECT_TRUE(MyNumber::parse(res.my_number->str()).ok());
  auto stored = registry_->get(res.resident_code);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(to_json(*stored), to_json(res));
  auto history = registry_->history(res.resident_code);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 1u);
  EXPECT_EQ((*history)[0].type, EventType::birth);
  EXPECT_EQ((*history)[0].event_id, "b1");
}

TEST_F(RegistryTest, ARetriedEventIsAppliedOnceAndAnsweredAsBefore) {
  auto e = birth("same-id", "山田　花子", "ヤマダ　ハナコ", "1990-04-01", "東京都千代田区丸の内一丁目1番1号");
  auto first = registry_->submit(kChiyoda, e);
  auto again = registry_->submit(kChiyoda, e);
  ASSERT_TRUE(first.ok() && again.ok());
  EXPECT_TRUE(again->replay);
  EXPECT_EQ(to_json(again->resident), to_json(first->resident));
  EXPECT_EQ(count("SELECT COUNT(*) FROM residents"), 1);
  // The same key for a different event is refused and changes nothing.
  auto other = e;
  other.person->name = "山田　太郎";
  auto reused = registry_->submit(kChiyoda, other);
  EXPECT_EQ(reused.status().code(), Code::conflict);
  EXPECT_EQ(count("SELECT COUNT(*) FROM residents"), 1);
  // Keys are per municipality: another municipality may use the same key.
  auto elsewhere = registry_->submit(kChuo, birth("same-id", "佐藤　一郎", "サトウ　イチロウ", "1990-01-01",
                                                  "東京都中央区銀座一丁目1番1号", Sex::male));
  EXPECT_TRUE(elsewhere.ok()) << elsewhere.status().to_string();
}

TEST_F(RegistryTest, RelocationStaysInsideTheMunicipality) {
  Resident r = born_in_chiyoda();
  auto e = on("r1", EventType::relocation, "2020-01-01", r.resident_code);
  e.address = "東京都千代田区千代田1番1号";
  auto moved = registry_->submit(kChiyoda, e);
  ASSERT_TRUE(moved.ok()) << moved.status().to_string();
  EXPECT_EQ(moved->resident.person.address, "東京都千代田区千代田1番1号");

  auto out = on("r2", EventType::relocation, "2021-01-01", r.resident_code);
  out.address = "東京都中央区銀座一丁目1番1号";
  auto refused = registry_->submit(kChiyoda, out);
  EXPECT_EQ(refused.status().code(), Code::conflict);
  EXPECT_NE(refused.status().message().find("move_out"), std::string::npos) << refused.status().message();
  EXPECT_EQ(registry_->get(r.resident_code)->person.address, "東京都千代田区千代田1番1号");
  EXPECT_EQ(registry_->history(r.resident_code)->size(), 2u);
}

TEST_F(RegistryTest, AMoveBetweenMunicipalitiesKeepsTheResidentCode) {
  Resident r = born_in_chiyoda();
  auto out = on("m1", EventType::move_out, "2024-03-10", r.resident_code);
  out.to = kChuo.str();
  auto pending = registry_->submit(kChiyoda, out);
  ASSERT_TRUE(pending.ok()) << pending.status().to_string();
  EXPECT_EQ(pending->resident.status, ResidentStatus::moved_out);
  ASSERT_TRUE(pending->resident.moving_to.has_value());
  EXPECT_EQ(*pending->resident.moving_to, kChuo);

  // Only the destination completes it, naming where the person comes from.
  auto in = on("m2", EventType::move_in, "2024-03-15", r.resident_code);
  in.from = kChiyoda.str();
  in.address = "東京都中央区銀座一丁目2番3号";
  in.name = "山田　花子";  // the basic four identify the person moving in
  in.date_of_birth = date("1990-04-01");
  in.sex = Sex::female;
  auto elsewhere = in;
  elsewhere.address = "東京都台東区上野一丁目1番1号";
  EXPECT_EQ(registry_->submit(lg("131067"), elsewhere).status().code(), Code::not_found);
  auto wrong_from = in;
  wrong_from.from = "131041";
  EXPECT_EQ(registry_->submit(kChuo, wrong_from).status().code(), Code::conflict);
  auto done = registry_->submit(kChuo, in);
  ASSERT_TRUE(done.ok()) << done.status().to_string();
  EXPECT_EQ(done->resident.resident_code, r.resident_code);
  EXPECT_EQ(done->resident.municipality_code, kChuo);
  EXPECT_EQ(done->resident.status, ResidentStatus::resident);
  EXPECT_FALSE(done->resident.moving_to.has_value());
  // The old municipality no longer holds the resident.
  auto relocate = on("m3", EventType::relocation, "2024-04-01", r.resident_code);
  relocate.address = "東京都千代田区千代田1番1号";
  EXPECT_EQ(registry_->submit(kChiyoda, relocate).status().code(), Code::not_found);
  EXPECT_EQ(registry_->history(r.resident_code)->size(), 3u);
}

TEST_F(RegistryTest, AMoveAbroadAndTheReturn) {
  Resident r = born_in_chiyoda();
  auto out = on("a1", EventType::move_out, "2023-01-01", r.resident_code);
  out.to = "abroad";
  out.address_abroad = "10 Downing Street, London";
  auto gone = registry_->submit(kChiyoda, out);
  ASSERT_TRUE(gone.ok()) << gone.status().to_string();
  EXPECT_EQ(gone->resident.status, ResidentStatus::abroad);
  EXPECT_EQ(gone->resident.address_abroad, "10 Downing Street, London");

  auto back = on("a2", EventType::move_in, "2024-01-01", r.resident_code);
  back.from = "abroad";
  back.address = "東京都中央区銀座一丁目1番1号";
  back.name = "山田　花子";
  back.date_of_birth = date("1990-04-01");
  back.sex = Sex::female;
  auto returned = registry_->submit(kChuo, back);
  ASSERT_TRUE(returned.ok()) << returned.status().to_string();
  EXPECT_EQ(returned->resident.status, ResidentStatus::resident);
  EXPECT_EQ(returned->resident.municipality_code, kChuo);
  EXPECT_TRUE(returned->resident.address_abroad.empty());
}

TEST_F(RegistryTest, AFirstRegistrationFromAbroadCreatesAResident) {
  ChangeEvent e = birth("f1", "スミス　ジョン", "スミス　ジョン", "1980-05-05", "東京都中央区銀座一丁目1番1号",
                        Sex::male);
  e.type = EventType::move_in;
  e.from = "abroad";
  e.date = date("2024-06-01");
  auto r = registry_->submit(kChuo, e);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->resident.status, ResidentStatus::resident);
  auto stats = registry_->migration_stats(2024, 6);
  ASSERT_TRUE(stats.ok());
  ASSERT_EQ(stats->size(), 1u);
  EXPECT_EQ((*stats)[0].municipality, kChuo);
  EXPECT_EQ((*stats)[0].from_abroad, 1);
  EXPECT_EQ((*stats)[0].from_municipalities, 0);
}

TEST_F(RegistryTest, DeathEndsTheRecordAndLaterEventsAreRefused) {
  Resident r = born_in_chiyoda();
  auto died = registry_->submit(kChiyoda, on("d1", EventType::death, "2024-01-01", r.resident_code));
  ASSERT_TRUE(died.ok());
  EXPECT_EQ(died->resident.status, ResidentStatus::deceased);
  auto out = on("d2", EventType::move_out, "2024-02-01", r.resident_code);
  out.to = kChuo.str();
  auto refused = registry_->submit(kChiyoda, out);
  EXPECT_EQ(refused.status().code(), Code::conflict);
  EXPECT_NE(refused.status().message().find("deceased"), std::string::npos);
  EXPECT_EQ(registry_->get(r.resident_code)->status, ResidentStatus::deceased);
}

TEST_F(RegistryTest, ContradictoryEventsAreRefusedAndChangeNothing) {
  Resident r = born_in_chiyoda();
  const int64_t events_before = count("SELECT COUNT(*) FROM change_events");

  auto before_birth = on("x1", EventType::relocation, "1989-12-31", r.resident_code);
  before_birth.address = "東京都千代田区千代田1番1号";
  EXPECT_EQ(registry_->submit(kChiyoda, before_birth).status().code(), Code::conflict);

  // Tomorrow by the register's own clock (Date::today()): the rule is "not after today".
  auto future = on("x2", EventType::relocation, Date::today().add_days(1).to_iso().c_str(), r.resident_code);
  future.address = "東京都千代田区千代田1番1号";
  EXPECT_EQ(registry_->submit(kChiyoda, future).status().code(), Code::invalid_argument);

  auto unknown = on("x3", EventType::death, "2020-01-01", ResidentCode::from_body(1234567890));
  EXPECT_EQ(registry_->submit(kChiyoda, unknown).status().code(), Code::not_found);

  auto foreign = on("x4", EventType::death, "2020-01-01", r.resident_code);
  EXPECT_EQ(registry_->submit(kChuo, foreign).status().code(), Code::not_found);  // as an unknown code

  auto bad_address = on("x5", EventType::relocation, "2020-01-01", r.resident_code);
  bad_address.address = "どこでもない町";
  EXPECT_EQ(registry_->submit(kChiyoda, bad_address).status().code(), Code::invalid_argument);

  auto bad_kana = on("x6", EventType::name_change, "2020-01-01", r.resident_code);
  bad_kana.name = "山田　花";
  bad_kana.name_kana = "Yamada Hana";
  EXPECT_EQ(registry_->submit(kChiyoda, bad_kana).status().code(), Code::invalid_argument);

  auto to_self = on("x7", EventType::move_out, "2020-01-01", r.resident_code);
  to_self.to = kChiyoda.str();
  EXPECT_EQ(registry_->submit(kChiyoda, to_self).status().code(), Code::conflict);

  auto to_prefecture = on("x8", EventType::move_out, "2020-01-01", r.resident_code);
  to_prefecture.to = "130001";  // 東京都 itself keeps no register
  EXPECT_EQ(registry_->submit(kChiyoda, to_prefecture).status().code(), Code::invalid_argument);

  auto no_pending = on("x9", EventType::move_in, "2020-01-01", r.resident_code);
  no_pending.from = kChuo.str();
  no_pending.address = "東京都千代田区千代田1番1号";
  no_pending.name = "山田　花子";
  no_pending.date_of_birth = date("1990-04-01");
  no_pending.sex = Sex::female;
  EXPECT_EQ(registry_->submit(kChiyoda, no_pending).status().code(), Code::conflict);

  auto stale = on("x10", EventType::relocation, "2021-01-01", r.resident_code);
  stale.address = "東京都千代田区千代田1番1号";
  ASSERT_TRUE(registry_->submit(kChiyoda, stale).ok());
  auto older = on("x11", EventType::relocation, "2020-06-01", r.resident_code);
  older.address = "東京都千代田区千代田2番2号";
  EXPECT_EQ(registry_->submit(kChiyoda, older).status().code(), Code::conflict);

  EXPECT_EQ(count("SELECT COUNT(*) FROM change_events"), events_before + 1);
  EXPECT_EQ(registry_->get(r.resident_code)->person.address, "東京都千代田区千代田1番1号");
}

TEST_F(RegistryTest, NameChangeAndCorrection) {
  Resident r = born_in_chiyoda();
  auto change = on("n1", EventType::name_change, "2015-06-01", r.resident_code);
  change.name = "鈴木 花子";
  change.name_kana = "すずき　はなこ";
  auto changed = registry_->submit(kChiyoda, change);
  ASSERT_TRUE(changed.ok()) << changed.status().to_string();
  EXPECT_EQ(changed->resident.person.name, "鈴木　花子");
  EXPECT_EQ(changed->resident.person.name_kana, "スズキ　ハナコ");

  auto fix = on("n2", EventType::correction, "2016-01-01", r.resident_code);
  fix.date_of_birth = date("1990-04-02");
  fix.sex = Sex::male;
  auto fixed = registry_->submit(kChiyoda, fix);
  ASSERT_TRUE(fixed.ok()) << fixed.status().to_string();
  EXPECT_EQ(fixed->resident.person.date_of_birth, date("1990-04-02"));
  EXPECT_EQ(fixed->resident.person.sex, Sex::male);
  EXPECT_EQ(fixed->resident.person.name, "鈴木　花子");

  auto impossible = on("n3", EventType::correction, "2016-01-02", r.resident_code);
  impossible.date_of_birth = date("2017-01-01");  // born after the correction itself
  EXPECT_EQ(registry_->submit(kChiyoda, impossible).status().code(), Code::conflict);
}

TEST_F(RegistryTest, ConcurrentSubmissionsAreAllAppliedWithDistinctCodes) {
  constexpr int kThreads = 8, kEach = 50;
  std::vector<std::vector<ResidentCode>> codes(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        auto r = registry_->submit(kChiyoda, birth("c" + std::to_string(t) + "-" + std::to_string(i),
                                                   "田中　一郎", "タナカ　イチロウ", "2001-01-01",
                                                   "東京都千代田区千代田1番1号", Sex::male));
        ASSERT_TRUE(r.ok()) << r.status().to_string();
        codes[t].push_back(r->resident.resident_code);
      }
    });
  }
  for (auto& t : threads) t.join();
  std::set<ResidentCode> all;
  for (auto& v : codes) all.insert(v.begin(), v.end());
  EXPECT_EQ(all.size(), static_cast<size_t>(kThreads * kEach));
  EXPECT_EQ(count("SELECT COUNT(*) FROM residents"), kThreads * kEach);
}

TEST(EventJson, EachTypeValidatesItsFields) {
  using nlohmann::json;
  auto parse = [](const char* text) { return event_from_json(json::parse(text)); };
  EXPECT_TRUE(parse(R"({"event_id":"1","type":"death","date":"2020-01-01","resident_code":"00002708710"})").ok());
  EXPECT_EQ(parse(R"({"event_id":"1","type":"death","date":"2020-01-01"})").status().code(), Code::invalid_argument);
  EXPECT_EQ(parse(R"({"event_id":"1","type":"death","date":"2020-13-01","resident_code":"00002708710"})")
                .status().code(), Code::invalid_argument);
  EXPECT_EQ(parse(R"({"event_id":"1","type":"death","date":"2020-01-01","resident_code":"00002708711"})")
                .status().code(), Code::invalid_argument);  // check digit
  EXPECT_EQ(parse(R"({"event_id":"1","type":"death","date":"2020-01-01","resident_code":"00002708710","name":"x"})")
                .status().code(), Code::invalid_argument);  // foreign field
  EXPECT_EQ(parse(R"({"event_id":"1","type":"wedding","date":"2020-01-01"})").status().code(), Code::invalid_argument);
  EXPECT_EQ(parse(R"({"type":"death","date":"2020-01-01","resident_code":"00002708710"})").status().code(),
            Code::invalid_argument);
  EXPECT_EQ(parse(R"({"event_id":"1","type":"move_out","date":"2020-01-01","resident_code":"00002708710","to":"abroad"})")
                .status().code(), Code::invalid_argument);  // address_abroad required
  EXPECT_EQ(parse(R"({"event_id":"1","type":"move_in","date":"2020-01-01","from":"abroad"})").status().code(),
            Code::invalid_argument);  // neither person nor resident_code
  EXPECT_EQ(parse(R"({"event_id":"1","type":"birth","date":"2020-01-01","person":{"name":"a","name_kana":"ア","date_of_birth":"2020-01-01","sex":"other","address":"x"}})")
                .status().code(), Code::invalid_argument);
  EXPECT_EQ(parse(R"([1,2,3])").status().code(), Code::invalid_argument);
  auto ok = parse(R"({"event_id":"e","type":"correction","date":"2020-01-01","resident_code":"00002708710","sex":"female"})");
  ASSERT_TRUE(ok.ok()) << ok.status().to_string();
  EXPECT_EQ(to_json(*ok), json::parse(R"({"event_id":"e","type":"correction","date":"2020-01-01","resident_code":"00002708710","sex":"female"})"));
}

}  // namespace
}  // namespace jlis::registry::testing

namespace jlis::registry::testing {
namespace {

// Found by fuzz/fuzz_json_body: a resident JSON without a field threw json::out_of_range out of a
// function that answers Result (and would end the process where nobody catches it).
TEST(ResidentJson, AMissingOrMistypedFieldIsInvalidNotAnException) {
  Resident r;
  r.person.name = "佐藤　陽翔";
  r.person.name_kana = "サトウ　ハルト";
  r.person.address = "東京都千代田区千代田1番1号";
  r.resident_code = ResidentCode::parse("00000000019").value();
  r.municipality_code = LocalGovernmentCode::parse("131016").value();
  nlohmann::json good = to_json(r);
  ASSERT_TRUE(resident_from_json(good).ok());
  for (const char* field : {"sex", "resident_code", "status", "municipality_code", "my_number"}) {
    nlohmann::json j = good;
    j.erase(field);
    auto parsed = resident_from_json(j);
    ASSERT_FALSE(parsed.ok()) << field;
    EXPECT_EQ(parsed.status().code(), Code::invalid_argument) << field;
  }
  nlohmann::json wrong = good;
  wrong["status"] = 7;
  EXPECT_EQ(resident_from_json(wrong).status().code(), Code::invalid_argument);
  EXPECT_EQ(resident_from_json(nlohmann::json::array()).status().code(), Code::invalid_argument);
}

}  // namespace
}  // namespace jlis::registry::testing
