// The data standard layout (linkage/layouts.h, issue 11 §3): the version in force on the day before,
// on and after each effective date (days given, never the wall clock), each validation rule with its
// exact answer, what each shipped revision changed, and malformed layouts refused.
#include <gtest/gtest.h>

#include "linkage/layouts.h"

namespace jlis::linkage {
namespace {

const DataLayouts& shipped() {
  auto l = DataLayouts::shipped();
  EXPECT_TRUE(l.ok()) << l.status().to_string();
  return **l;
}

Date day(const char* iso) { return Date::parse_iso(iso).value(); }

std::string in_force(const char* iso) {
  auto v = shipped().version_in_force(day(iso));
  return v.ok() ? (*v)->version : v.status().to_string();
}

const LayoutVersion& version(const char* id) { return *shipped().version(id).value(); }

// The shipped versions: the July 2025 revision, an interim one in November, the July 2026 revision.
TEST(LinkageLayoutsTest, TheShippedVersionsAndTheirEffectiveDates) {
  ASSERT_EQ(shipped().versions().size(), 3u);
  EXPECT_EQ(version("2025.07").revision, "yearly");
  EXPECT_EQ(version("2025.11").revision, "interim");
  EXPECT_EQ(version("2026.07").revision, "yearly");
  EXPECT_EQ(version("2025.07").effective_from, day("2025-07-01"));
  EXPECT_EQ(version("2025.07").effective_until, day("2025-10-31"));
  EXPECT_EQ(version("2025.11").effective_from, day("2025-11-01"));
  EXPECT_EQ(version("2025.11").effective_until, day("2026-06-30"));
  EXPECT_EQ(version("2026.07").effective_from, day("2026-07-01"));
  EXPECT_FALSE(version("2026.07").effective_until.has_value());
  EXPECT_EQ(shipped().version("2024.07").status().code(), Code::not_found);
}

// Rule: the version in force is the latest whose effective date is on or before the day; none
// before the first.
TEST(LinkageLayoutsTest, TheVersionInForceTheDayBeforeOnAndAfterEachEffectiveDate) {
  EXPECT_EQ(in_force("2025-06-30"), "not_found: no data standard layout is in force on 2025-06-30");
  EXPECT_EQ(in_force("2025-07-01"), "2025.07");
  EXPECT_EQ(in_force("2025-07-02"), "2025.07");
  EXPECT_EQ(in_force("2025-10-31"), "2025.07");
  EXPECT_EQ(in_force("2025-11-01"), "2025.11");
  EXPECT_EQ(in_force("2025-11-02"), "2025.11");
  EXPECT_EQ(in_force("2026-06-30"), "2025.11");
  EXPECT_EQ(in_force("2026-07-01"), "2026.07");
  EXPECT_EQ(in_force("2026-07-02"), "2026.07");
  EXPECT_EQ(in_force("2030-01-01"), "2026.07");
}

// A record of child allowance that is valid in every version.
std::map<std::string, std::string> child_allowance() {
  return {{"RS001", "4"}, {"RS002", "01"}, {"RS003", "2019-04-01"}, {"TX001", "3250000"}, {"TX002", "195000"},
          {"TX004", "1"}, {"TX005", "4100000"}};
}

Validation check(const char* v, const char* procedure, const std::map<std::string, std::string>& values) {
  return DataLayouts::validate(version(v), procedure, values);
}

TEST(LinkageLayoutsTest, AValidRecordIsValidInEveryVersion) {
  for (const auto& v : shipped().versions()) {
    Validation r = DataLayouts::validate(v, "J074-01", child_allowance());
    EXPECT_TRUE(r.ok()) << r.message;
    EXPECT_EQ(r.message, "layout " + v.version + ": valid for J074-01");
  }
}

TEST(LinkageLayoutsTest, UnknownProcedure) {
  Validation r = check("2025.07", "J999-01", child_allowance());
  EXPECT_EQ(r.rule, LayoutRule::unknown_procedure);
  EXPECT_EQ(r.item, "");
  EXPECT_EQ(r.message, "layout 2025.07: has no layout for procedure J999-01");
  EXPECT_EQ(layout_rule_name(r.rule), "unknown-procedure");
}

// Rule: an item not in the procedure's layout (not in the version at all, or another procedure's).
TEST(LinkageLayoutsTest, UnknownItem) {
  auto rec = child_allowance();
  rec["ZZ999"] = "1";
  Validation r = check("2025.07", "J074-01", rec);
  EXPECT_EQ(r.rule, LayoutRule::unknown_item);
  EXPECT_EQ(r.item, "ZZ999");
  EXPECT_EQ(r.message, "layout 2025.07: item ZZ999 is not in the layout of J074-01");
  rec = child_allowance();
  rec["PN001"] = "01";  // a pension item: public assistance's layout has it, child allowance's not
  EXPECT_EQ(check("2025.07", "J074-01", rec).item, "PN001");
  EXPECT_EQ(check("2025.07", "J074-01", rec).rule, LayoutRule::unknown_item);
  EXPECT_EQ(layout_rule_name(LayoutRule::unknown_item), "unknown-item");
}

// Rule: integers are digits only; dates are days that exist; codes are not empty.
TEST(LinkageLayoutsTest, WrongType) {
  struct Case {
    const char* item;
    const char* value;
    const char* message;
  };
  const Case cases[] = {
      {"TX001", "3,250,000", "layout 2025.07: item TX001 is not an integer (digits only)"},
      {"TX001", "-1", "layout 2025.07: item TX001 is not an integer (digits only)"},
      {"TX001", "", "layout 2025.07: item TX001 is not an integer (digits only)"},
      {"RS003", "2019-02-29", "layout 2025.07: item RS003 is not a date (YYYY-MM-DD)"},
      {"RS003", "令和1年4月1日", "layout 2025.07: item RS003 is not a date (YYYY-MM-DD)"},
      {"RS002", "", "layout 2025.07: item RS002 is not a code (empty)"},
  };
  for (const auto& c : cases) {
    auto rec = child_allowance();
    rec[c.item] = c.value;
    Validation r = check("2025.07", "J074-01", rec);
    EXPECT_EQ(r.rule, LayoutRule::wrong_type) << c.item << "=" << c.value;
    EXPECT_EQ(r.item, c.item);
    EXPECT_EQ(r.message, c.message);
  }
  EXPECT_EQ(layout_rule_name(LayoutRule::wrong_type), "wrong-type");
}

// Rule: integers count digits, strings and codes characters (not bytes).
TEST(LinkageLayoutsTest, TooLong) {
  auto rec = child_allowance();
  rec["TX001"] = "123456789012";  // 12 digits; 11 allowed
  Validation r = check("2025.07", "J074-01", rec);
  EXPECT_EQ(r.rule, LayoutRule::too_long);
  EXPECT_EQ(r.item, "TX001");
  EXPECT_EQ(r.message, "layout 2025.07: item TX001 has more than 11 digits");
  rec["TX001"] = "12345678901";
  EXPECT_TRUE(check("2025.07", "J074-01", rec).ok());
  rec["RS002"] = "011";
  EXPECT_EQ(check("2025.07", "J074-01", rec).message, "layout 2025.07: item RS002 is longer than 2 characters");
  // 世帯主氏名: 30 characters of kanji (90 bytes) fit; 31 do not.
  std::map<std::string, std::string> assistance = {{"RS004", ""}};
  for (int i = 0; i < 30; ++i) assistance["RS004"] += "鈴";
  EXPECT_TRUE(check("2025.07", "J026-01", assistance).ok()) << check("2025.07", "J026-01", assistance).message;
  assistance["RS004"] += "木";
  r = check("2025.07", "J026-01", assistance);
  EXPECT_EQ(r.rule, LayoutRule::too_long);
  EXPECT_EQ(r.message, "layout 2025.07: item RS004 is longer than 30 characters");
  EXPECT_EQ(layout_rule_name(LayoutRule::too_long), "too-long");
}

TEST(LinkageLayoutsTest, NotInCodeList) {
  auto rec = child_allowance();
  rec["TX004"] = "9";
  Validation r = check("2025.07", "J074-01", rec);
  EXPECT_EQ(r.rule, LayoutRule::not_in_code_list);
  EXPECT_EQ(r.item, "TX004");
  EXPECT_EQ(r.message, "layout 2025.07: item TX004 has no code '9'");
  EXPECT_EQ(layout_rule_name(LayoutRule::not_in_code_list), "not-in-code-list");
}

// Rule: a required item absent or empty; checked after every value sent.
TEST(LinkageLayoutsTest, MissingRequired) {
  auto rec = child_allowance();
  rec.erase("RS002");
  Validation r = check("2025.07", "J074-01", rec);
  EXPECT_EQ(r.rule, LayoutRule::missing_required);
  EXPECT_EQ(r.item, "RS002");
  EXPECT_EQ(r.message, "layout 2025.07: item RS002 is required by the layout of J074-01");
  rec.erase("RS001");
  EXPECT_EQ(check("2025.07", "J074-01", rec).item, "RS001");  // the layout's order
  // A value that breaks a rule is named before a missing required item.
  rec["TX004"] = "9";
  EXPECT_EQ(check("2025.07", "J074-01", rec).rule, LayoutRule::not_in_code_list);
  // Public assistance requires nothing of each provider alone: the pension service sends pensions only.
  EXPECT_TRUE(check("2025.07", "J026-01", {{"PN001", "11"}, {"PN002", "1560000"}, {"PN003", "2020-04-01"}}).ok());
  EXPECT_EQ(layout_rule_name(LayoutRule::missing_required), "missing-required");
}

// Rule: the first failing item in item-code order is named.
TEST(LinkageLayoutsTest, TheFirstFailingItemIsNamed) {
  auto rec = child_allowance();
  rec["TX005"] = "x";
  rec["RS001"] = "123";
  rec["TX001"] = "y";
  Validation r = check("2025.07", "J074-01", rec);
  EXPECT_EQ(r.item, "RS001");
  EXPECT_EQ(r.rule, LayoutRule::too_long);
}

// What the shipped revisions changed: the interim revision added 続柄 10 (同居人); the July 2026
// revision added 森林環境税額 (TX006) to the local-tax layouts and lengthened 世帯主氏名 to 40.
TEST(LinkageLayoutsTest, EachRevisionChangesWhatItSays) {
  auto rec = child_allowance();
  rec["RS002"] = "10";
  EXPECT_EQ(check("2025.07", "J074-01", rec).rule, LayoutRule::not_in_code_list);
  EXPECT_TRUE(check("2025.11", "J074-01", rec).ok());
  rec = child_allowance();
  rec["TX006"] = "1000";
  EXPECT_EQ(check("2025.11", "J074-01", rec).rule, LayoutRule::unknown_item);
  EXPECT_TRUE(check("2026.07", "J074-01", rec).ok());
  rec["TX006"] = "100000";
  EXPECT_EQ(check("2026.07", "J074-01", rec).message, "layout 2026.07: item TX006 has more than 5 digits");
  std::map<std::string, std::string> assistance = {{"RS004", std::string(35, 'a')}};
  EXPECT_EQ(check("2025.11", "J026-01", assistance).rule, LayoutRule::too_long);
  EXPECT_TRUE(check("2026.07", "J026-01", assistance).ok());
  // Chosen by the day: a record sent on 2026-06-30 is checked against 2025.11.
  const LayoutVersion* v = shipped().version_in_force(day("2026-06-30")).value();
  EXPECT_EQ(DataLayouts::validate(*v, "J074-01", rec).rule, LayoutRule::unknown_item);
}

// Malformed layouts do not load, and say where.
TEST(LinkageLayoutsTest, MalformedLayoutsAreRefused) {
  auto msg = [](const std::string& json) { return DataLayouts::load(json).status().message(); };
  auto version = [](const std::string& id, const std::string& from, const std::string& items,
                    const std::string& procedures) {
    return R"({"version": ")" + id + R"(", "effective_from": ")" + from + R"(", "revision": "yearly", "items": [)" +
           items + R"(], "procedures": [)" + procedures + "]}";
  };
  const std::string item = R"({"code": "TX001", "name": "課税所得", "type": "integer", "max_length": 11})";
  const std::string proc = R"({"procedure": "J074-01", "name": "児童手当", "items": ["TX001"], "required": ["TX001"]})";
  ASSERT_TRUE(DataLayouts::load(R"({"versions": [)" + version("2025.07", "2025-07-01", item, proc) + "]}").ok());
  EXPECT_EQ(msg("[]"), "the layouts are not a JSON object with a non-empty 'versions' list");
  EXPECT_EQ(msg(R"({"versions": [)" + version("2025.07", "2025-07-01", item, proc) + "," +
                version("2025.11", "2025-07-01", item, proc) + "]}"),
            "layout version 2025.11 takes effect no later than 2025.07");
  EXPECT_EQ(msg(R"({"versions": [)" + version("2025.07", "2025-07-01", item, proc) + "," +
                version("2025.07", "2025-11-01", item, proc) + "]}"),
            "layout version 2025.07 twice");
  EXPECT_EQ(msg(R"({"versions": [)" +
                version("2025.07", "2025-07-01",
                        R"({"code": "TX001", "name": "課税所得", "type": "money", "max_length": 11})", proc) +
                "]}"),
            "layout version 2025.07 item TX001: the type must be one of string, integer, date, code");
  EXPECT_EQ(msg(R"({"versions": [)" +
                version("2025.07", "2025-07-01",
                        R"({"code": "TX004", "name": "課税区分", "type": "code", "max_length": 1})",
                        R"({"procedure": "J074-01", "name": "児童手当", "items": ["TX004"]})") +
                "]}"),
            "layout version 2025.07 item TX004: a code item without codes");
  EXPECT_EQ(msg(R"({"versions": [)" +
                version("2025.07", "2025-07-01", item,
                        R"({"procedure": "J074-01", "name": "児童手当", "items": ["TX002"]})") +
                "]}"),
            "layout version 2025.07 procedure J074-01: an item that is not in the version");
  EXPECT_EQ(msg(R"({"versions": [)" +
                version("2025.07", "2025-07-01", item,
                        R"({"procedure": "J074-01", "name": "児童手当", "items": ["TX001"], "required": ["RS001"]})") +
                "]}"),
            "layout version 2025.07 procedure J074-01: a required item that is not in its layout");
  EXPECT_EQ(msg(R"({"versions": [)" + version("2025.07", "2025-02-30", item, proc) + "]}"),
            "layout version 2025.07: effective_from is not YYYY-MM-DD");
}

}  // namespace
}  // namespace jlis::linkage
