// Registry rules through the C++ API: events on a record that is not a current resident are refused
// as docs/openapi.yaml documents (409) and change nothing; the provision record follows a
// resident-code change. Event dates are fixed together with the events they follow (no clock).
#include <nlohmann/json.hpp>

#include "fixture.h"

namespace jlis::registry::testing {
namespace {

class RulesTest : public RegistryTest {
 protected:
  // Every event type that needs a current resident, submitted by the holding municipality.
  std::vector<ChangeEvent> events_needing_a_resident(const ResidentCode& code, const std::string& prefix) {
    std::vector<ChangeEvent> out;
    auto out_move = on(prefix + "-move-out", EventType::move_out, "2025-02-01", code);
    out_move.to = "131024";
    out.push_back(out_move);
    auto reloc = on(prefix + "-relocation", EventType::relocation, "2025-02-01", code);
    reloc.address = "東京都千代田区丸の内一丁目2番2号";
    out.push_back(reloc);
    out.push_back(on(prefix + "-death", EventType::death, "2025-02-01", code));
    auto name = on(prefix + "-name", EventType::name_change, "2025-02-01", code);
    name.name = "佐藤　花子";
    name.name_kana = "サトウ　ハナコ";
    out.push_back(name);
    auto corr = on(prefix + "-correction", EventType::correction, "2025-02-01", code);
    corr.sex = Sex::male;
    out.push_back(corr);
    return out;
  }
  std::string record(const ResidentCode& code) {
    auto conn = pool_->acquire().value();
    std::string out;
    EXPECT_TRUE(conn->query("SELECT * FROM residents WHERE resident_code = ?", {static_cast<int64_t>(code.body())},
                            [&](const store::Row& r) {
                              for (int c = 0; c < 16; ++c) out += r.text(c) + "|";
                              return true;
                            }).is_ok());
    return out;
  }
};

TEST_F(RulesTest, EventsOnAMovedOutRecordAreRefusedWithConflictAndChangeNothing) {
  Resident r = born_in_chiyoda();
  auto out = on("out", EventType::move_out, "2025-01-10", r.resident_code);
  out.to = "131024";
  ASSERT_TRUE(registry_->submit(kChiyoda, out).ok());
  const std::string before = record(r.resident_code);
  for (const auto& e : events_needing_a_resident(r.resident_code, "mo")) {
    auto refused = registry_->submit(kChiyoda, e);
    ASSERT_FALSE(refused.ok()) << e.event_id;
    EXPECT_EQ(refused.status().code(), Code::conflict) << e.event_id << ": " << refused.status().to_string();
  }
  // A return from abroad is refused too: the resident is not abroad, and is not 中央区's, which
  // therefore gets the answer of an unknown code (no existence oracle).
  auto back = on("mo-return", EventType::move_in, "2025-02-01", r.resident_code);
  back.from = "abroad";
  back.address = "東京都中央区銀座一丁目1番1号";
  EXPECT_EQ(registry_->submit(kChuo, back).status().code(), Code::not_found);
  EXPECT_EQ(record(r.resident_code), before);
  EXPECT_EQ(registry_->history(r.resident_code)->size(), 2u);
  EXPECT_EQ(registry_->get(r.resident_code)->status, ResidentStatus::moved_out);
}

TEST_F(RulesTest, EventsOnAnAbroadRecordAreRefusedWithConflictAndChangeNothing) {
  Resident r = born_in_chiyoda();
  auto out = on("abroad", EventType::move_out, "2025-01-10", r.resident_code);
  out.to = "abroad";
  out.address_abroad = "10 Downing Street, London";
  ASSERT_TRUE(registry_->submit(kChiyoda, out).ok());
  const std::string before = record(r.resident_code);
  for (const auto& e : events_needing_a_resident(r.resident_code, "ab")) {
    auto refused = registry_->submit(kChiyoda, e);
    ASSERT_FALSE(refused.ok()) << e.event_id;
    EXPECT_EQ(refused.status().code(), Code::conflict) << e.event_id << ": " << refused.status().to_string();
  }
  // A move-in that completes a move between municipalities: there is no pending move-out to
  // 中央区, which gets the answer of an unknown code (no existence oracle).
  auto in = on("ab-move-in", EventType::move_in, "2025-02-01", r.resident_code);
  in.from = "131016";
  in.address = "東京都中央区銀座一丁目1番1号";
  EXPECT_EQ(registry_->submit(kChuo, in).status().code(), Code::not_found);
  EXPECT_EQ(record(r.resident_code), before);
  EXPECT_EQ(registry_->history(r.resident_code)->size(), 2u);
  EXPECT_EQ(registry_->get(r.resident_code)->status, ResidentStatus::abroad);
}

TEST_F(RulesTest, ProvisionsFollowAResidentCodeChange) {
  Resident r = born_in_chiyoda();
  Resident other = born_in_chiyoda("b2");
  ASSERT_TRUE(registry_->record_provision("ag-1", "日本年金機構", "pension", {r.resident_code, other.resident_code},
                                          "req-1").is_ok());
  ASSERT_TRUE(registry_->record_provision("ag-1", "日本年金機構", "benefit", {r.resident_code}, "req-2").is_ok());
  auto change = registry_->submit(kChiyoda, on("cc", EventType::resident_code_change, "2025-03-01", r.resident_code));
  ASSERT_TRUE(change.ok()) << change.status().to_string();
  const ResidentCode fresh = change->resident.resident_code;
  auto list = registry_->provisions(fresh);
  ASSERT_TRUE(list.ok()) << list.status().to_string();
  ASSERT_EQ(list->size(), 2u);  // the resident still sees who received their data
  EXPECT_EQ((*list)[0].request_id, "req-1");
  EXPECT_EQ((*list)[1].request_id, "req-2");
  // The record is append-only: the rows stay as written, under the code they were made under,
  // and the other resident's record is untouched.
  EXPECT_EQ(count(("SELECT COUNT(*) FROM audit.provisions WHERE resident_code = " +
                   std::to_string(r.resident_code.body())).c_str()), 2);
  EXPECT_EQ(registry_->provisions(other.resident_code)->size(), 1u);
  // A provision after the change lands with the others.
  ASSERT_TRUE(registry_->record_provision("ag-2", "国税庁", "tax", {fresh}, "req-3").is_ok());
  EXPECT_EQ(registry_->provisions(fresh)->size(), 3u);
}

}  // namespace
}  // namespace jlis::registry::testing
