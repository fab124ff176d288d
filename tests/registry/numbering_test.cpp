// The registry with the numbering component: pooled resident codes and My Numbers assigned in the
// event transaction, reissue for a leak, resident-code changes, and the backfill.
#include <set>
#include <thread>

#include "fixture.h"
#include "registry/population.h"

namespace jlis::registry::testing {
namespace {

bool valid(const std::optional<MyNumber>& n) { return n && MyNumber::parse(n->str()).ok(); }

TEST_F(RegistryTest, ConcurrentBirthsGetDistinctPooledCodesAndMyNumbers) {
  constexpr int kThreads = 8, kEach = 60;
  std::vector<std::vector<Resident>> got(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        auto r = registry_->submit(t % 2 ? kChiyoda : lg("131024"),
                                   birth("c" + std::to_string(t) + "-" + std::to_string(i), "山田　花子",
                                         "ヤマダ　ハナコ", "2001-01-01",
                                         t % 2 ? "東京都千代田区丸の内一丁目1番1号" : "東京都中央区銀座一丁目1番1号"));
        ASSERT_TRUE(r.ok()) << r.status().to_string();
        got[t].push_back(r->resident);
      }
    });
  }
  for (auto& t : threads) t.join();
  std::set<ResidentCode> codes;
  std::set<MyNumber> numbers;
  for (const auto& list : got) {
    for (const auto& r : list) {
      EXPECT_TRUE(codes.insert(r.resident_code).second);
      ASSERT_TRUE(valid(r.my_number));
      EXPECT_TRUE(numbers.insert(*r.my_number).second);
      EXPECT_EQ(numbering_->code_state(*pool_->acquire().value(), r.resident_code).value(),
                numbering::CodeState::issued);
    }
  }
  EXPECT_EQ(codes.size(), size_t{kThreads * kEach});
  EXPECT_EQ(count("SELECT COUNT(*) FROM numbering_my_numbers WHERE letter_state = 'pending'"), kThreads * kEach);
}

TEST_F(RegistryTest, ReplayedBirthTakesNoSecondCodeOrNumber) {
  Resident r = born_in_chiyoda("same");
  Resident again = born_in_chiyoda("same");
  EXPECT_EQ(again.resident_code, r.resident_code);
  EXPECT_EQ(again.my_number, r.my_number);
  EXPECT_EQ(count("SELECT COUNT(*) FROM numbering_my_numbers"), 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM numbering_resident_codes WHERE state = 'issued'"), 1);
}

TEST_F(RegistryTest, EveryResidentOfAGeneratedPopulationHasAValidUniqueMyNumber) {
  PopulationOptions options;
  options.count = 3000;
  options.seed = 11;
  auto report = generate_population(*registry_, JLIS_REFERENCE_DIR, options);
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  EXPECT_EQ(report->refused, 0) << report->first_refusal;
  EXPECT_EQ(count("SELECT COUNT(*) FROM residents"), 3000);
  EXPECT_EQ(count("SELECT COUNT(DISTINCT my_number) FROM residents WHERE my_number IS NOT NULL"), 3000);
  auto conn = pool_->acquire().value();
  int64_t checked = 0;
  ASSERT_TRUE(conn->query("SELECT my_number, resident_code FROM residents", {}, [&](const store::Row& row) {
    MyNumber n = MyNumber::from_body(static_cast<uint64_t>(row.int64(0)));
    EXPECT_TRUE(MyNumber::parse(n.str()).ok());
    EXPECT_EQ(n, numbering_->derive(ResidentCode::from_body(static_cast<uint64_t>(row.int64(1))), 0));
    ++checked;
    return true;
  }).is_ok());
  EXPECT_EQ(checked, 3000);
}

TEST_F(RegistryTest, ReissueForLeakIsInTheHistoryAndTheOldNumberAnswersChanged) {
  Resident r = born_in_chiyoda();
  const MyNumber old = *r.my_number;
  auto e = on("leak1", EventType::my_number_reissue, "2024-05-01", r.resident_code);
  e.reason = "leak";
  auto applied = registry_->submit(kChiyoda, e);
  ASSERT_TRUE(applied.ok()) << applied.status().to_string();
  ASSERT_TRUE(valid(applied->resident.my_number));
  const MyNumber fresh = *applied->resident.my_number;
  EXPECT_NE(fresh, old);
  EXPECT_EQ(registry_->get(r.resident_code)->my_number, fresh);
  EXPECT_EQ(registry_->find_by_my_number(fresh)->resident_code, r.resident_code);
  auto gone = registry_->find_by_my_number(old);
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.status().code(), Code::conflict);
  EXPECT_EQ(gone.status().message(), "this My Number was changed");
  EXPECT_EQ(registry_->find_by_my_number(MyNumber::from_body(12345678901)).status().code(), Code::not_found);
  auto history = registry_->history(r.resident_code).value();
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[1].type, EventType::my_number_reissue);
  EXPECT_EQ(count("SELECT COUNT(*) FROM numbering_my_numbers WHERE issue_reason = 'leak' AND letter_state = 'pending'"), 1);
  // A retry is a replay, not a second reissue.
  auto retry = registry_->submit(kChiyoda, e);
  ASSERT_TRUE(retry.ok());
  EXPECT_TRUE(retry->replay);
  EXPECT_EQ(retry->resident.my_number, fresh);
  EXPECT_EQ(count("SELECT COUNT(*) FROM numbering_my_numbers"), 2);
  // Another reason is refused before anything changes.
  auto lost = on("leak2", EventType::my_number_reissue, "2024-05-02", r.resident_code);
  lost.reason = "lost";
  EXPECT_EQ(registry_->submit(kChiyoda, lost).status().code(), Code::invalid_argument);
  // Only the holder may ask.
  auto other = on("leak3", EventType::my_number_reissue, "2024-05-02", r.resident_code);
  other.reason = "leak";
  EXPECT_EQ(registry_->submit(lg("131024"), other).status().code(), Code::not_found);
}

TEST_F(RegistryTest, ResidentCodeChangeRetiresTheOldCodeAndKeepsTheHistory) {
  Resident r = born_in_chiyoda();
  auto change = registry_->submit(kChiyoda, on("cc1", EventType::resident_code_change, "2024-06-01", r.resident_code));
  ASSERT_TRUE(change.ok()) << change.status().to_string();
  const ResidentCode fresh = change->resident.resident_code;
  EXPECT_NE(fresh, r.resident_code);
  EXPECT_EQ(change->resident.my_number, r.my_number);  // the My Number does not change
  auto old = registry_->get(r.resident_code);
  ASSERT_FALSE(old.ok());
  EXPECT_EQ(old.status().code(), Code::conflict);
  auto history = registry_->history(fresh).value();
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0].type, EventType::birth);
  EXPECT_EQ(history[1].type, EventType::resident_code_change);
  EXPECT_EQ(registry_->find_by_my_number(*r.my_number)->resident_code, fresh);
  // Events naming the old code are refused as changed; the new code works.
  EXPECT_EQ(registry_->submit(kChiyoda, on("d1", EventType::death, "2024-07-01", r.resident_code)).status().code(),
            Code::conflict);
  EXPECT_TRUE(registry_->submit(kChiyoda, on("d2", EventType::death, "2024-07-01", fresh)).ok());
  // The register's row of the number follows the new code.
  auto conn = pool_->acquire().value();
  EXPECT_EQ(numbering_->find_my_number(*conn, *r.my_number).value()->resident_code, fresh);
  EXPECT_EQ(numbering_->code_state(*conn, r.resident_code).value(), numbering::CodeState::retired);
}

TEST_F(RegistryTest, BackfillNumbersResidentsRegisteredWithoutNumbering) {
  // Residents registered before the numbering component existed.
  {
    Registry legacy(*pool_, *writer_, reference());
    for (int i = 0; i < 30; ++i) {
      auto r = legacy.submit(kChiyoda, birth("old" + std::to_string(i), "山田　花子", "ヤマダ　ハナコ", "1990-04-01",
                                            "東京都千代田区丸の内一丁目1番1号"));
      ASSERT_TRUE(r.ok());
      EXPECT_FALSE(r->resident.my_number.has_value());
    }
  }
  EXPECT_EQ(count("SELECT COUNT(*) FROM residents WHERE my_number IS NULL"), 30);
  int64_t last_done = 0;
  auto n = registry_->assign_missing_my_numbers([&](int64_t done, int64_t total) {
    EXPECT_EQ(total, 30);
    last_done = done;
  });
  ASSERT_TRUE(n.ok()) << n.status().to_string();
  EXPECT_EQ(*n, 30);
  EXPECT_EQ(last_done, 30);
  EXPECT_EQ(count("SELECT COUNT(DISTINCT my_number) FROM residents"), 30);
  EXPECT_EQ(count("SELECT COUNT(*) FROM numbering_my_numbers WHERE issue_reason = 'backfill' AND letter_state = 'pending'"), 30);
  EXPECT_EQ(count("SELECT COUNT(*) FROM numbering_resident_codes WHERE state = 'issued'"), 30);  // adopted
  EXPECT_EQ(*registry_->assign_missing_my_numbers(), 0);  // idempotent
}

}  // namespace
}  // namespace jlis::registry::testing
