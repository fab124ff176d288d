// Issue 18 (trust hardening) and issue 17 rules of the register, through the C++ API a
// municipality's submissions reach: a takeover needs the basic four, an unknown code and someone
// else's resident answer alike, idempotency is decided before validation, text fields have limits.
#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "fixture.h"

namespace jlis::registry::testing {
namespace {

class TrustTest : public RegistryTest {
 protected:
  // 山田　花子 (female, 1990-04-01) of 千代田区, moved abroad on 2023-01-01.
  Resident abroad() {
    Resident r = born_in_chiyoda();
    auto out = on("abroad-1", EventType::move_out, "2023-01-01", r.resident_code);
    out.to = "abroad";
    out.address_abroad = "10 Downing Street, London";
    auto gone = registry_->submit(kChiyoda, out);
    EXPECT_TRUE(gone.ok()) << gone.status().to_string();
    return gone->resident;
  }
  ChangeEvent return_to(const char* id, const ResidentCode& code, const char* address) {
    auto back = on(id, EventType::move_in, "2024-01-01", code);
    back.from = "abroad";
    back.address = address;
    return back;
  }
  std::string stored(const ResidentCode& code) { return to_json(registry_->get(code).value()).dump(); }
};

// Defect 5: a resident code alone does not let a municipality take over a resident abroad.
TEST_F(TrustTest, AReturnFromAbroadWithoutMatchingBasicFourIsRefusedAndChangesNothing) {
  Resident r = abroad();
  const std::string before = stored(r.resident_code);
  auto bare = return_to("t1", r.resident_code, "東京都中央区銀座一丁目1番1号");
  EXPECT_EQ(registry_->submit(kChuo, bare).status().code(), Code::conflict);
  auto wrong_dob = bare;
  wrong_dob.event_id = "t2";
  wrong_dob.name = "山田　花子";
  wrong_dob.date_of_birth = date("1990-04-02");
  wrong_dob.sex = Sex::female;
  EXPECT_EQ(registry_->submit(kChuo, wrong_dob).status().code(), Code::conflict);
  auto wrong_name = wrong_dob;
  wrong_name.event_id = "t3";
  wrong_name.name = "山田　太郎";
  wrong_name.date_of_birth = date("1990-04-01");
  EXPECT_EQ(registry_->submit(kChuo, wrong_name).status().code(), Code::conflict);
  auto wrong_sex = wrong_dob;
  wrong_sex.event_id = "t4";
  wrong_sex.date_of_birth = date("1990-04-01");
  wrong_sex.sex = Sex::male;
  EXPECT_EQ(registry_->submit(kChuo, wrong_sex).status().code(), Code::conflict);
  EXPECT_EQ(stored(r.resident_code), before);
  EXPECT_EQ(registry_->history(r.resident_code)->size(), 2u);

  // The right basic four, spelt as the search folds them (half-width space, hiragana reading), is accepted
  // and the history records which municipality took the resident in.
  auto right = bare;
  right.event_id = "t5";
  right.name = "山田 花子";
  right.name_kana = "やまだ はなこ";
  right.date_of_birth = date("1990-04-01");
  right.sex = Sex::female;
  auto back = registry_->submit(kChuo, right);
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(back->resident.municipality_code, kChuo);
  auto history = registry_->history(r.resident_code).value();
  ASSERT_EQ(history.size(), 3u);
  EXPECT_EQ(history.back().municipality, kChuo);
}

// Defect 5: a move-in from a municipality carries and matches the basic four too.
TEST_F(TrustTest, AMoveInFromAMunicipalityMustMatchTheBasicFour) {
  Resident r = born_in_chiyoda();
  auto out = on("o1", EventType::move_out, "2024-03-10", r.resident_code);
  out.to = kChuo.str();
  ASSERT_TRUE(registry_->submit(kChiyoda, out).ok());
  auto in = on("i1", EventType::move_in, "2024-03-15", r.resident_code);
  in.from = kChiyoda.str();
  in.address = "東京都中央区銀座一丁目2番3号";
  EXPECT_EQ(registry_->submit(kChuo, in).status().code(), Code::conflict);
  in.event_id = "i2";
  in.name = "山田　花子";
  in.date_of_birth = date("1980-04-01");
  in.sex = Sex::female;
  EXPECT_EQ(registry_->submit(kChuo, in).status().code(), Code::conflict);
  EXPECT_EQ(registry_->get(r.resident_code)->status, ResidentStatus::moved_out);
  in.event_id = "i3";
  in.date_of_birth = date("1990-04-01");
  auto done = registry_->submit(kChuo, in);
  ASSERT_TRUE(done.ok()) << done.status().to_string();
  EXPECT_EQ(done->resident.municipality_code, kChuo);
}

// Defect 7: "unknown code" and "not yours" are one answer (status, code and message).
TEST_F(TrustTest, AnUnknownCodeAndAnotherMunicipalitysResidentAnswerAlike) {
  Resident r = born_in_chiyoda();
  const ResidentCode unknown = ResidentCode::from_body((r.resident_code.body() + 1) % 10'000'000'000ULL);
  ASSERT_FALSE(registry_->get(unknown).ok());
  auto same = [&](EventType type, auto fill) {
    auto theirs = on("x-" + std::string(event_type_name(type)), type, "2025-01-01", r.resident_code);
    fill(theirs);
    auto nobody = theirs;
    nobody.event_id += "-u";
    nobody.resident_code = unknown;
    auto a = registry_->submit(kChuo, theirs);
    auto b = registry_->submit(kChuo, nobody);
    ASSERT_FALSE(a.ok());
    ASSERT_FALSE(b.ok());
    EXPECT_EQ(a.status().code(), b.status().code()) << event_type_name(type);
    EXPECT_EQ(a.status().message(), b.status().message()) << event_type_name(type);
  };
  same(EventType::relocation, [](ChangeEvent& e) { e.address = "東京都中央区銀座一丁目1番1号"; });
  same(EventType::death, [](ChangeEvent&) {});
  same(EventType::name_change, [](ChangeEvent& e) {
    e.name = "山田　花";
    e.name_kana = "ヤマダ　ハナ";
  });
  same(EventType::move_out, [](ChangeEvent& e) {
    e.to = "abroad";
    e.address_abroad = "Paris";
  });
  same(EventType::move_in, [](ChangeEvent& e) {
    e.from = "131016";
    e.address = "東京都中央区銀座一丁目1番1号";
    e.name = "山田　花子";
    e.date_of_birth = date("1990-04-01");
    e.sex = Sex::female;
  });
  same(EventType::move_in, [](ChangeEvent& e) {
    e.event_id += "-abroad";
    e.from = "abroad";
    e.address = "東京都中央区銀座一丁目1番1号";
    e.name = "山田　花子";
    e.date_of_birth = date("1990-04-01");
    e.sex = Sex::female;
  });
  // A dead resident of another municipality is no different.
  ASSERT_TRUE(registry_->submit(kChiyoda, on("d1", EventType::death, "2025-02-01", r.resident_code)).ok());
  same(EventType::correction, [](ChangeEvent& e) { e.sex = Sex::male; });
  EXPECT_EQ(registry_->history(r.resident_code)->size(), 2u);
}

// Issue 17: idempotency is decided before the event is validated again.
TEST_F(TrustTest, ARetryAnswersAsTheFirstTimeAndAReusedKeyWithInvalidContentIsAConflict) {
  Resident r = born_in_chiyoda();
  auto reloc = on("r1", EventType::relocation, "2024-02-01", r.resident_code);
  reloc.address = "東京都千代田区千代田1番1号";
  auto first = registry_->submit(kChiyoda, reloc);
  ASSERT_TRUE(first.ok()) << first.status().to_string();
  // The resident dies: a retry still answers as the first time.
  ASSERT_TRUE(registry_->submit(kChiyoda, on("r2", EventType::death, "2024-03-01", r.resident_code)).ok());
  auto retry = registry_->submit(kChiyoda, reloc);
  ASSERT_TRUE(retry.ok()) << retry.status().to_string();
  EXPECT_TRUE(retry->replay);
  EXPECT_EQ(to_json(retry->resident), to_json(first->resident));
  // The same key with content that is invalid on its own: conflict (409), not invalid_argument.
  auto reused = reloc;
  reused.address = "not an address at all";
  EXPECT_EQ(registry_->submit(kChiyoda, reused).status().code(), Code::conflict);
  auto reused_name = on("r1", EventType::name_change, "2024-02-01", r.resident_code);
  reused_name.name = std::string(300, 'x');
  reused_name.name_kana = "ヤマダ";
  EXPECT_EQ(registry_->submit(kChiyoda, reused_name).status().code(), Code::conflict);
  EXPECT_EQ(registry_->history(r.resident_code)->size(), 3u);
}

// Issue 17: a genuine retry is answered as the first time even when the reference data changed
// since (here 千代田区 has left the municipality table, as a merged municipality's code does), and
// the same key with other content is still a conflict, not the reference data's refusal.
TEST_F(TrustTest, ARetryAfterTheReferenceDataChangedIsAnsweredAsTheFirstTime) {
  Resident r = born_in_chiyoda();
  auto reloc = on("ref1", EventType::relocation, "2024-02-01", r.resident_code);
  reloc.address = "東京都千代田区千代田1番1号";
  auto first = registry_->submit(kChiyoda, reloc);
  ASSERT_TRUE(first.ok()) << first.status().to_string();

  const auto changed_dir = dir_ / "reference";
  std::filesystem::create_directories(changed_dir);
  {
    std::ifstream in(std::string(JLIS_REFERENCE_DIR) + "/municipalities.csv");
    std::ofstream out(changed_dir / "municipalities.csv");
    for (std::string line; std::getline(in, line);)
      if (line.rfind("131016,", 0) != 0) out << line << "\n";
  }
  std::filesystem::create_symlink(std::string(JLIS_REFERENCE_DIR) + "/towns.csv", changed_dir / "towns.csv");
  auto changed = ReferenceData::load(changed_dir.string());
  ASSERT_TRUE(changed.ok()) << changed.status().to_string();
  Registry today(*pool_, *writer_, *changed, numbering_.get());
  auto fresh = on("ref2", EventType::relocation, "2024-03-01", r.resident_code);
  fresh.address = "東京都千代田区千代田1番1号";
  const Status refused = today.submit(kChiyoda, fresh).status();
  ASSERT_FALSE(refused.is_ok()) << "the changed reference data must refuse a new event, or this proves nothing";
  ASSERT_NE(refused.code(), Code::conflict) << refused.to_string();

  auto retry = today.submit(kChiyoda, reloc);
  ASSERT_TRUE(retry.ok()) << retry.status().to_string();
  EXPECT_TRUE(retry->replay);
  EXPECT_EQ(to_json(retry->resident), to_json(first->resident));
  auto reused = reloc;
  reused.date = date("2024-02-02");
  EXPECT_EQ(today.submit(kChiyoda, reused).status().code(), Code::conflict);
  EXPECT_EQ(registry_->history(r.resident_code)->size(), 2u);
}

std::string repeat(const char* unit, size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s += unit;
  return s;
}

// Defect 7: the register's text fields have a real register's lengths; longer is refused, nothing stored.
TEST_F(TrustTest, OverLongFieldsAreRefusedAndNothingIsStored) {
  auto too_long_name = birth("l1", "", "ヤマダ　ハナコ", "1990-04-01", "東京都千代田区丸の内一丁目1番1号");
  too_long_name.person->name = "山田　" + repeat("花", 98);  // 101 characters
  EXPECT_EQ(registry_->submit(kChiyoda, too_long_name).status().code(), Code::invalid_argument);
  auto huge = too_long_name;
  huge.person->name = repeat("花", 100'000);
  EXPECT_EQ(registry_->submit(kChiyoda, huge).status().code(), Code::invalid_argument);
  auto long_kana = birth("l2", "山田　花子", "", "1990-04-01", "東京都千代田区丸の内一丁目1番1号");
  long_kana.person->name_kana = "ヤマダ　" + repeat("ハ", 197);  // 201 characters
  EXPECT_EQ(registry_->submit(kChiyoda, long_kana).status().code(), Code::invalid_argument);
  auto long_address = birth("l3", "山田　花子", "ヤマダ　ハナコ", "1990-04-01", "");
  long_address.person->address = "東京都千代田区丸の内一丁目1番1号" + repeat("ア", 200);
  EXPECT_EQ(registry_->submit(kChiyoda, long_address).status().code(), Code::invalid_argument);
  EXPECT_EQ(count("SELECT COUNT(*) FROM residents"), 0);

  // At the limit it is accepted.
  auto at_limit = birth("l4", "", "ヤマダ　ハナコ", "1990-04-01", "東京都千代田区丸の内一丁目1番1号");
  at_limit.person->name = "山田　" + repeat("花", 97);  // 100 characters
  auto ok = registry_->submit(kChiyoda, at_limit);
  ASSERT_TRUE(ok.ok()) << ok.status().to_string();

  auto out = on("l5", EventType::move_out, "2024-01-01", ok->resident.resident_code);
  out.to = "abroad";
  out.address_abroad = repeat("a", 201);
  EXPECT_EQ(registry_->submit(kChiyoda, out).status().code(), Code::invalid_argument);
  auto rename = on("l6", EventType::name_change, "2024-01-01", ok->resident.resident_code);
  rename.name = repeat("名", 101);
  rename.name_kana = "ナ";
  EXPECT_EQ(registry_->submit(kChiyoda, rename).status().code(), Code::invalid_argument);
  EXPECT_EQ(count("SELECT COUNT(*) FROM change_events"), 1);
  EXPECT_EQ(registry_->get(ok->resident.resident_code)->status, ResidentStatus::resident);
}

}  // namespace
}  // namespace jlis::registry::testing
