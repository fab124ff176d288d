// The family-register notices and registers in JSON (municipal/koseki_json.h): every type parses into
// its struct; unknown fields, wrong types, malformed dates and codes and over-long text are refused.
#include "municipal/koseki_json.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace jlis::municipal {
namespace {

using nlohmann::json;

const json kKosekiJsonBirth = {{"event_id", "b-1"},          {"type", "birth"},
                               {"register_id", 7},            {"name", "山田　太郎"},
                               {"name_kana", "ヤマダ　タロウ"}, {"date_of_birth", "2024-04-01"},
                               {"sex", "male"},               {"place", "東京都千代田区"},
                               {"father", "山田　一郎"},       {"notified_on", "2024-04-05"},
                               {"notifier", "父"}};

Code koseki_json_code(const json& j) { return koseki_notice_from_json(j).status().code(); }

TEST(KosekiJsonTest, EveryTypeParsesIntoItsNotice) {
  auto birth = koseki_notice_from_json(kKosekiJsonBirth);
  ASSERT_TRUE(birth.ok()) << birth.status().to_string();
  const auto& b = std::get<BirthNotice>(*birth);
  EXPECT_EQ(b.register_id, 7);
  EXPECT_EQ(b.name, "山田　太郎");
  EXPECT_EQ(b.father, "山田　一郎");
  EXPECT_EQ(b.mother, "");
  EXPECT_EQ(b.date_of_birth.to_iso(), "2024-04-01");
  EXPECT_FALSE(b.resident_code);

  const json ref = {{"register_id", 3}, {"member", 2}};
  const json open = {{"event_id", "o"}, {"type", "open_register"}, {"date", "2000-01-01"}, {"reason", "平成改製"},
                     {"honseki", "東京都千代田区千代田1番"},
                     {"members", {{{"name", "山田　一郎"}, {"name_kana", "ヤマダ　イチロウ"}, {"date_of_birth", "1970-01-01"},
                                   {"sex", "male"}, {"relationship", "長男"}, {"birth", {{"date", "1970-01-01"}, {"place", "東京都"}}}}}}};
  auto o = koseki_notice_from_json(open);
  ASSERT_TRUE(o.ok()) << o.status().to_string();
  ASSERT_EQ(std::get<OpenRegister>(*o).members.size(), 1u);
  EXPECT_EQ(std::get<OpenRegister>(*o).members[0].birth->place, "東京都");

  const std::vector<json> others = {
      {{"event_id", "m"}, {"type", "marriage"}, {"date", "2020-01-01"}, {"husband", ref}, {"wife", {{"register_id", 4}, {"member", 1}}},
       {"husbands_surname", true}, {"municipality", "131016"}, {"honseki", "東京都千代田区千代田1番"}},
      {{"event_id", "d"}, {"type", "divorce"}, {"date", "2020-01-01"}, {"spouse", ref}},
      {{"event_id", "a"}, {"type", "adoption"}, {"date", "2020-01-01"}, {"adoptee", ref}, {"register_id", 5},
       {"adopters", {"山田　一郎"}}},
      {{"event_id", "x"}, {"type", "death"}, {"member", ref}, {"date", "2020-01-01"}, {"place", "東京都"},
       {"notified_on", "2020-01-02"}, {"notifier", "同居者"}},
      {{"event_id", "t"}, {"type", "transfer"}, {"register_id", 3}, {"date", "2020-01-01"}, {"municipality", "131024"},
       {"honseki", "東京都中央区銀座一丁目1番"}},
      {{"event_id", "s"}, {"type", "branch"}, {"member", ref}, {"date", "2020-01-01"}, {"municipality", "131024"},
       {"honseki", "東京都中央区銀座一丁目1番"}},
      {{"event_id", "k"}, {"type", "old_surname"}, {"member", ref}, {"date", "2020-01-01"}, {"old_surname", "佐藤"},
       {"old_surname_kana", "サトウ"}},
      {{"event_id", "l"}, {"type", "link"}, {"member", ref}, {"resident_code", ResidentCode::from_body(1234567890).str()},
       {"since", "2020-01-01"}}};
  for (size_t i = 0; i < others.size(); ++i) {
    auto n = koseki_notice_from_json(others[i]);
    ASSERT_TRUE(n.ok()) << others[i].dump() << ": " << n.status().to_string();
    EXPECT_EQ(n->index(), i + 2) << others[i].dump();
  }
  EXPECT_EQ(std::get<DivorceNotice>(*koseki_notice_from_json(others[1])).municipality, std::nullopt);
  EXPECT_EQ(std::get<MarriageNotice>(*koseki_notice_from_json(others[0])).wife.register_id, 4);
  EXPECT_EQ(std::get<KosekiLinkRequest>(*koseki_notice_from_json(others[7])).member.member, 2);
}

TEST(KosekiJsonTest, OtherShapesAreRefused) {
  auto with = [](const char* key, json value) {
    json j = kKosekiJsonBirth;
    j[key] = std::move(value);
    return j;
  };
  auto without = [](const char* key) {
    json j = kKosekiJsonBirth;
    j.erase(key);
    return j;
  };
  EXPECT_EQ(koseki_json_code(json::array()), Code::invalid_argument);
  EXPECT_EQ(koseki_json_code(with("type", "recognition")), Code::invalid_argument);
  EXPECT_EQ(koseki_json_code(with("colour", "blue")), Code::invalid_argument);          // unknown field
  EXPECT_EQ(koseki_json_code(with("husband", {{"register_id", 1}, {"member", 1}})), Code::invalid_argument);
  EXPECT_EQ(koseki_json_code(with("register_id", "7")), Code::invalid_argument);        // wrong type
  EXPECT_EQ(koseki_json_code(with("register_id", 0)), Code::invalid_argument);
  EXPECT_EQ(koseki_json_code(with("sex", "other")), Code::invalid_argument);
  EXPECT_EQ(koseki_json_code(with("date_of_birth", "2024/04/01")), Code::invalid_argument);
  EXPECT_EQ(koseki_json_code(with("resident_code", "123")), Code::invalid_argument);
  EXPECT_EQ(koseki_json_code(with("name", std::string(401, 'a'))), Code::invalid_argument);  // over the limit
  EXPECT_EQ(koseki_json_code(with("event_id", "")), Code::invalid_argument);
  EXPECT_EQ(koseki_json_code(without("name")), Code::invalid_argument);
  EXPECT_EQ(koseki_json_code(without("event_id")), Code::invalid_argument);

  const json ref = {{"register_id", 3}, {"member", 2}};
  json death = {{"event_id", "x"}, {"type", "death"}, {"member", ref}, {"date", "2020-01-01"}, {"place", "東京都"},
                {"notified_on", "2020-01-02"}, {"notifier", "同居者"}};
  EXPECT_TRUE(koseki_notice_from_json(death).ok());
  death["member"] = {{"register_id", 3}, {"member", 2}, {"extra", 1}};  // unknown field of a member
  EXPECT_EQ(koseki_json_code(death), Code::invalid_argument);
  death["member"] = json::array({3, 2});
  EXPECT_EQ(koseki_json_code(death), Code::invalid_argument);
  json divorce = {{"event_id", "d"}, {"type", "divorce"}, {"date", "2020-01-01"}, {"spouse", ref}, {"honseki", "東京都"}};
  EXPECT_EQ(koseki_json_code(divorce), Code::invalid_argument);  // honseki without municipality
  json adoption = {{"event_id", "a"}, {"type", "adoption"}, {"date", "2020-01-01"}, {"adoptee", ref},
                   {"register_id", 5}, {"adopters", {"甲　一", "乙　二", "丙　三"}}};
  EXPECT_EQ(koseki_json_code(adoption), Code::invalid_argument);  // 1 or 2 adopters
  json transfer = {{"event_id", "t"}, {"type", "transfer"}, {"register_id", 3}, {"date", "2020-01-01"},
                   {"municipality", "131020"}, {"honseki", "東京都"}};
  EXPECT_EQ(koseki_json_code(transfer), Code::invalid_argument);  // a bad check digit
  json open = {{"event_id", "o"}, {"type", "open_register"}, {"date", "2000-01-01"}, {"reason", "改製"},
               {"honseki", "東京都"}, {"members", json::array()}};
  EXPECT_EQ(koseki_json_code(open), Code::invalid_argument);  // 1 to 100 members
}

TEST(KosekiJsonTest, TheRegisterListsEveryField) {
  KosekiRegister reg;
  reg.id = 9;
  reg.municipality = LocalGovernmentCode::parse("131016").value();
  reg.honseki = "東京都千代田区千代田1番";
  reg.head_name = "山田　一郎";
  reg.entries.push_back({KosekiEntryKind::made, Date::parse_iso("2000-01-01").value()});
  KosekiMember m;
  m.ref = {9, 1};
  m.name = "山田　一郎";
  m.relationship = "長男";
  m.came_from = MemberRef{2, 3};
  m.entries.push_back({KosekiEntryKind::birth, Date::parse_iso("1970-01-01").value()});
  reg.members.push_back(m);
  const json j = to_json(reg);
  EXPECT_EQ(j["register_id"], 9);
  EXPECT_EQ(j["municipality_code"], "131016");
  EXPECT_TRUE(j["successor"].is_null());
  EXPECT_EQ(j["entries"][0]["kind"], "made");
  EXPECT_TRUE(j["entries"][0]["notified_on"].is_null());
  const json& member = j["members"][0];
  EXPECT_EQ(member["member"], 1);
  EXPECT_EQ(member["relationship"], "長男");
  EXPECT_TRUE(member["resident_code"].is_null());
  EXPECT_EQ(member["came_from"], (json{{"register_id", 2}, {"member", 3}}));
  EXPECT_EQ(member["entries"][0]["kind"], "birth");
  EXPECT_EQ(member.size(), 16u);
  EXPECT_EQ(j.size(), 8u);
}

}  // namespace
}  // namespace jlis::municipal
